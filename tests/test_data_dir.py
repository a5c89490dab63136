"""The default database lives in a data directory, not the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storj_monitor.settings import data_dir, load_settings


def test_default_db_in_the_data_dir(tmp_path: Path) -> None:
    s = load_settings(environ={"STORJ_MONITOR_DATA_DIR": str(tmp_path / "d")})
    assert s.db_path == str(tmp_path / "d" / "storj_stats.db")
    assert s.origin("db_path") == "default"
    # A path given anywhere is used as given.
    assert load_settings(environ={"STORJ_MONITOR_DB_PATH": "x.db"}).db_path == "x.db"
    assert load_settings(environ={}, flags={"db_path": "y.db"}).db_path == "y.db"


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX only")
def test_data_dir_follows_xdg_or_var_lib() -> None:
    if os.geteuid() == 0:
        assert data_dir("", {"XDG_DATA_HOME": "/x"}) == Path("/var/lib/storj_monitor")
    else:
        assert data_dir("", {"XDG_DATA_HOME": "/x"}) == Path("/x/storj_monitor")
        assert data_dir("", {}) == Path("~/.local/share/storj_monitor").expanduser()
    assert data_dir("~/somewhere", {}) == Path("~/somewhere").expanduser()
