"""The service recipes: the systemd unit verifies, the Dockerfile builds where docker runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "docs" / "deploy" / "storj_monitor.service"
INSTALLED_AT = "/opt/storj_monitor/bin/storj_monitor"


def _entry_point() -> str:
    exe = Path(sys.executable).parent / "storj_monitor"
    found = str(exe) if exe.exists() else shutil.which("storj_monitor")
    if not found:
        pytest.skip("the storj_monitor entry point is not installed")
    return found


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_unit_verifies(tmp_path: Path) -> None:
    text = UNIT.read_text()
    assert INSTALLED_AT in text and "--config /etc/storj_monitor/config.toml" in text
    assert "StateDirectory=storj_monitor" in text
    # The unit names the documented install path; verify it against this machine's install.
    unit = tmp_path / "storj_monitor.service"
    unit.write_text(text.replace(INSTALLED_AT, _entry_point()))
    result = _verify(unit)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    broken = tmp_path / "broken.service"
    broken.write_text(text.replace(INSTALLED_AT, "storj_monitor-relative").replace("Type=exec", "Type=nonsense"))
    assert _verify(broken).returncode != 0 or _verify(broken).stderr.strip()


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=30)
    return probe.returncode == 0


def test_dockerfile_builds() -> None:
    if not _docker_engine():
        pytest.skip("no Docker engine on this machine (the docker client alone cannot build)")
    result = subprocess.run(
        ["docker", "build", "-q", "-t", "storj_monitor:test", str(ROOT)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    run = subprocess.run(
        ["docker", "run", "--rm", "storj_monitor:test", "--version"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.stdout.startswith("storj_monitor ")
