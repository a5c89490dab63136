"""Settings precedence (flag > env > file > default) and validation messages."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.settings import SETTINGS, SettingsError, defaults, load_settings


def test_defaults_are_the_seed_constants() -> None:
    s = defaults()
    assert s.storage_warning_percent == 80
    assert s.storage_critical_percent == 95
    assert s.storage_forecast_warning_days == 30
    assert s.storage_forecast_critical_days == 7
    assert s.latency_warning_ms == 5000
    assert s.latency_critical_ms == 10000
    assert s.node_api_poll_interval == 300
    assert s.db_path == "storj_stats.db"
    assert s.port == 8765
    assert s.host == "127.0.0.1"


def test_precedence_flag_over_env_over_file_over_default(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("node_api_poll_interval = 60\nstorage_warning_percent = 70\nport = 9000\n")
    env = {"STORJ_MONITOR_NODE_API_POLL_INTERVAL": "2", "STORJ_MONITOR_PORT": "9100"}
    s = load_settings(cfg, environ=env, flags={"port": 9200, "host": None})
    assert s.storage_warning_percent == 70 and s.origin("storage_warning_percent") == "file"
    assert s.node_api_poll_interval == 2 and s.origin("node_api_poll_interval") == "env"
    assert s.port == 9200 and s.origin("port") == "flag"
    assert s.host == "127.0.0.1" and s.origin("host") == "default"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"STORJ_MONITOR_NODE_API_POLL_INTERVAL": "fast"}, "node_api_poll_interval"),
        ({"STORJ_MONITOR_PORT": "70000"}, "port"),
        ({"STORJ_MONITOR_STORAGE_WARNING_PERCENT": "101"}, "storage_warning_percent"),
        ({"STORJ_MONITOR_FOLLOW_FROM_END": "maybe"}, "follow_from_end"),
        ({"STORJ_MONITOR_STORAGE_WARNING_PERCENT": "99"}, "storage_warning_percent"),
        ({"STORJ_MONITOR_NOTIFY_MIN_SEVERITY": "loud"}, "notify_min_severity"),
    ],
)
def test_invalid_values_name_the_key_in_one_line(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(None, environ=env)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_unknown_key_and_bad_toml_are_reported(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("no_such_setting = 1\n")
    with pytest.raises(SettingsError, match="no_such_setting"):
        load_settings(cfg, environ={})
    cfg.write_text("port = = 3\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(cfg, environ={})
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_lists_from_env_are_comma_separated_and_secrets_redacted() -> None:
    s = load_settings(
        None,
        environ={
            "STORJ_MONITOR_NOTIFY_URLS": "json://a, json://b",
            "STORJ_MONITOR_AUTH_TOKEN": "x",
        },
    )
    assert s.notify_urls == ["json://a", "json://b"]
    assert s.as_dict()["auth_token"] == "***"
    assert s.as_dict(redact=False)["auth_token"] == "x"


@given(
    st.sampled_from([s for s in SETTINGS if s.type is float]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
)
def test_float_settings_accept_in_range_and_reject_out_of_range(setting, value: float) -> None:
    env = {setting.env: repr(value)}
    lo = setting.minimum if setting.minimum is not None else float("-inf")
    hi = setting.maximum if setting.maximum is not None else float("inf")
    try:
        s = load_settings(None, environ=env)
    except SettingsError as exc:
        assert setting.key in str(exc)
        return
    assert lo <= s.get(setting.key) <= hi
    assert s.get(setting.key) == value
