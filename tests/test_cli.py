"""The command line: version, help, settings errors, --node / --ingest-log syntax."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from storj_monitor import __version__
from storj_monitor.cli import main
from storj_monitor.model import NodeSpec
from storj_monitor.nodespec import NodeSpecError, parse_ingest_spec, parse_node_spec


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"storj_monitor {__version__}"


def test_help_explains_node_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "NAME:LOG_SOURCE[:API_URL]" in out
    assert "C:\\Storj\\storagenode.log" in out  # a Windows example
    assert "host:port" in out and "--ingest-log" in out and "--no-serve" not in out


def test_console_script_entry_point_runs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "storj_monitor", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_invalid_env_setting_exits_2_with_one_line_naming_the_key(tmp_path: Path) -> None:
    env = {"STORJ_MONITOR_NODE_API_POLL_INTERVAL": "soon", "PATH": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "storj_monitor", "--node", f"n:{tmp_path / 'x.log'}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert (
        "node_api_poll_interval" in lines[0] and "STORJ_MONITOR_NODE_API_POLL_INTERVAL" in lines[0]
    )


def test_invalid_set_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--set", "no_such_key=1", "--node", "n:/x.log"]) == 2
    assert main(["--set", "db_batch_size=many", "--node", "n:/x.log"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no_such_key" in err[0] and "db_batch_size" in err[1]


def test_bad_node_spec_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--node", "just-a-name"]) == 2
    assert "NAME:LOG_SOURCE" in capsys.readouterr().err


def test_duplicate_node_names_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--node", "a:/x.log", "--node", "a:/y.log"]) == 2
    assert "unique" in capsys.readouterr().err


def test_no_node_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "--node" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My-Node:/var/log/storagenode.log", NodeSpec("My-Node", "/var/log/storagenode.log")),
        (
            "My-Node:/var/log/node.log:http://192.168.1.20:14002",
            NodeSpec("My-Node", "/var/log/node.log", "http://192.168.1.20:14002"),
        ),
        ("NAS:C:\\Storj\\storagenode.log", NodeSpec("NAS", "C:\\Storj\\storagenode.log")),
        (
            "NAS:C:\\Storj\\storagenode.log:http://192.168.1.20:14002/",
            NodeSpec("NAS", "C:\\Storj\\storagenode.log", "http://192.168.1.20:14002"),
        ),
        ("NAS:C:/logs/node.log", NodeSpec("NAS", "C:/logs/node.log")),
        ("Remote:nas.local:9000", NodeSpec("Remote", "nas.local:9000", None, True)),
        (
            "Remote:nas.local:9000:https://nas.local:14002",
            NodeSpec("Remote", "nas.local:9000", "https://nas.local:14002", True),
        ),
        ("V6:[2001:db8::1]:9000", NodeSpec("V6", "[2001:db8::1]:9000", None, True)),
        ("Rel:node.log", NodeSpec("Rel", "node.log")),
        ("Odd:./logs:9000", NodeSpec("Odd", "./logs:9000")),  # has a path separator: a file
    ],
)
def test_node_spec(text: str, expected: NodeSpec) -> None:
    assert parse_node_spec(text) == expected


@pytest.mark.parametrize(
    "text", ["", "name", "name:", ":/var/log/x.log", "n:host:99999", "n::http://x:1"]
)
def test_node_spec_errors(text: str) -> None:
    with pytest.raises(NodeSpecError):
        parse_node_spec(text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("n:/var/log/x.log:localhost:14002", "write it as http://localhost:14002"),
        ("n:C:\\logs\\x.log:10.0.0.2:14002", "write it as http://10.0.0.2:14002"),
        ("n:/x.log:[::1]:14002", "write it as http://[::1]:14002"),
        ("R:nas.local:9000:nas.local:14002", "write it as http://nas.local:14002"),
        ("n:/x.log:ftp://nas:14002", "must start with http:// or https://"),
        ("n:/x.log:HTTPX://nas:14002", "must start with http:// or https://"),
        ("n:/x.log:https://", "has no host"),
        ("n:/x.log:http://nas:0", "invalid port"),
        ("n:/x.log:http://nas:port", "invalid port"),
    ],
)
def test_node_spec_api_url_mistakes(text: str, says: str) -> None:
    with pytest.raises(NodeSpecError, match=re.escape(says)):
        parse_node_spec(text)


def test_ingest_spec() -> None:
    assert parse_ingest_spec("N:C:\\logs\\node.log.1") == ("N", "C:\\logs\\node.log.1")
    assert parse_ingest_spec("N:/var/log/x.log") == ("N", "/var/log/x.log")
    with pytest.raises(NodeSpecError):
        parse_ingest_spec("no-path")


def test_forward_subcommand_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["forward", "--help"])
    assert exc.value.code == 0
    assert "--token" in capsys.readouterr().out


def test_forward_without_token_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("STORJ_MONITOR_FORWARDER_TOKEN", raising=False)
    assert main(["forward", str(tmp_path / "x.log"), "--listen", "127.0.0.1:0"]) == 2
    assert "token" in capsys.readouterr().err
