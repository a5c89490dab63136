"""Every tunable of the monitor in one table, and how a value is chosen for each.

A setting has a default (the seed's constants), a TOML key (its name in lower case), an
environment variable ``STORJ_MONITOR_<NAME>`` and sometimes a CLI flag. Precedence:
flag > environment > TOML file > default. The same table drives ``--help``,
docs/configuration.md and a test that fails when a setting is undocumented.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storj_monitor.config_tables import ConfigTableError, ConfigTables, parse_tables

ENV_PREFIX = "STORJ_MONITOR_"


#: Arrays of tables in the config file that are not settings (see config_tables).
TABLE_KEYS = ("node", "notify")


class SettingsError(ValueError):
    """A setting has an invalid value; the message is one line naming the key."""


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # upper case, as in the seed (STORAGE_WARNING_PERCENT)
    default: Any
    type: type  # int, float, bool, str or list (of str)
    help: str
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False

    @property
    def key(self) -> str:
        """TOML key and attribute name."""
        return self.name.lower()

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name


def _s(*args: Any, **kwargs: Any) -> Setting:
    return Setting(*args, **kwargs)


# fmt: off
SETTINGS: tuple[Setting, ...] = (
    # --- storage capacity (seed 2.2) ---
    _s("STORAGE_WARNING_PERCENT", 80.0, float, "Disk used above this percent is a warning.", 0, 100),
    _s("STORAGE_CRITICAL_PERCENT", 95.0, float, "Disk used above this percent is critical.", 0, 100),
    _s("STORAGE_FORECAST_WARNING_DAYS", 30.0, float, "Warn when the disk is forecast full within this many days.", 0),
    _s("STORAGE_FORECAST_CRITICAL_DAYS", 7.0, float, "Critical when the disk is forecast full within this many days.", 0),
    _s("STORAGE_FORECAST_WINDOW_DAYS", 7.0, float, "Days of snapshots the growth-rate estimate uses.", 0.01, 365),
    _s("STORAGE_HYSTERESIS_PERCENT", 1.0, float, "An open disk-usage alert resolves only once the disk is this many percentage points below its threshold.", 0, 50),
    _s("STORAGE_FORECAST_HYSTERESIS_DAYS", 2.0, float, "An open days-until-full alert resolves only once the forecast is this many days beyond its threshold.", 0),
    _s("STORAGE_ALERT_MIN_SECONDS", 0.0, float, "Seconds a storage condition must hold before its alert opens (0: at the first poll that shows it).", 0),
    _s("STORAGE_LOG_SAMPLE_INTERVAL", 300.0, float, "Seconds between storage snapshots taken from `upload started` lines when a node has no API.", 1),
    # --- latency (seed 2.1) ---
    _s("LATENCY_WARNING_MS", 5000.0, float, "Operations slower than this (ms) are slow; p99 of the last hour above it is a warning.", 1),
    _s("LATENCY_CRITICAL_MS", 10000.0, float, "p99 of the last hour above this (ms) is critical.", 1),
    _s("LATENCY_HYSTERESIS_MS", 500.0, float, "An open p99 latency alert resolves only once p99 is this many ms below its threshold.", 0),
    _s("LATENCY_ALERT_MIN_SECONDS", 300.0, float, "Seconds the p99 of the last hour must stay above its threshold before the alert opens.", 0),
    _s("LATENCY_HISTOGRAM_BUCKET_MS", 100.0, float, "Default histogram bucket width (ms).", 1),
    _s("SLOW_OPERATIONS_LIMIT", 10, int, "How many slow operations the latency statistics list.", 1, 1000),
    _s("LATENCY_SPIKE_Z_SCORE", 3.5, float, "Robust z-score of the 15-minute p95 against the 7-day hourly baseline that raises a latency-spike alert.", 0.5),
    # --- node API polling (seed / Phase 1) ---
    _s("NODE_API_POLL_INTERVAL", 300.0, float, "Seconds between node API polls.", 0.05),
    _s("NODE_API_TIMEOUT", 10.0, float, "Seconds before one node API request times out.", 0.05),
    _s("NODE_API_RETRIES", 2, int, "Retries (with backoff and jitter) of a failed node API request.", 0, 10),
    _s("NODE_API_MAX_REPLY_BYTES", 8388608, int, "A node API reply larger than this (bytes) is refused as too large, never read whole.", 65536),
    _s("NODE_API_OFFLINE_ALERT_SECONDS", 300.0, float, "A node API unreachable this long raises a 'node possibly offline' alert.", 0),
    # --- node health: silence, restarts, ping failures (docs/node-api-and-alerts.md) ---
    _s("SILENCE_ALERT_FLOOR_SECONDS", 300.0, float, "A node's log is called silent only after at least this many seconds without a line.", 1),
    _s("SILENCE_EXPECTED_LINES", 10.0, float, "A gap in the log is silent once the node's own recent rate says this many lines were due in it (a quiet node is not flagged).", 1),
    _s("PING_FAILED_ALERT_COUNT", 3, int, "`ping satellite failed` lines for one satellite within 15 minutes that raise a warning.", 1),
    # --- reputation (percent) ---
    _s("AUDIT_SCORE_WARNING", 98.0, float, "Audit score (%) below this is a warning (satellites disqualify below 96).", 0, 100),
    _s("AUDIT_SCORE_CRITICAL", 96.5, float, "Audit score (%) below this is critical.", 0, 100),
    _s("SUSPENSION_SCORE_WARNING", 80.0, float, "Suspension score (%) below this is a warning (suspension below 60).", 0, 100),
    _s("SUSPENSION_SCORE_CRITICAL", 65.0, float, "Suspension score (%) below this is critical.", 0, 100),
    _s("ONLINE_SCORE_WARNING", 80.0, float, "Online score (%) below this is a warning (suspension below 60).", 0, 100),
    _s("ONLINE_SCORE_CRITICAL", 65.0, float, "Online score (%) below this is critical.", 0, 100),
    _s("SCORE_HYSTERESIS_PERCENT", 0.2, float, "An open audit/suspension/online score alert resolves only once the score is this many points above its threshold.", 0, 10),
    _s("SCORE_ALERT_MIN_SECONDS", 0.0, float, "Seconds a low score must persist before its alert opens. Disqualification, suspension and failed audits are always immediate.", 0),
    # --- database ---
    _s("DATA_DIR", "", str, "Directory of the default database: empty = `$XDG_DATA_HOME/storj_monitor` (`~/.local/share/storj_monitor`), or `/var/lib/storj_monitor` when run as root."),
    _s("DB_PATH", "storj_stats.db", str, "SQLite database file (flag --db). Left at its default, it lives in DATA_DIR; a path given by flag, environment or file is used as given."),
    _s("EVENTS_RETENTION_DAYS", 7.0, float, "Days raw events are kept; rollups outlive them.", 0.01),
    _s("EVENTS_DETAIL_HOURS", 24.0, float, "Hours every raw event is kept (traffic details, the map, exact latency of small windows); after that only operations slower than LATENCY_WARNING_MS (what the slow-operations list shows) are kept until EVENTS_RETENTION_DAYS.", 1),
    _s("ROLLUP_MINUTE_RETENTION_DAYS", 14.0, float, "Days per-minute rollups are kept.", 0.01),
    _s("ROLLUP_HOUR_RETENTION_DAYS", 400.0, float, "Days per-hour rollups are kept.", 0.01),
    _s("HISTORY_RETENTION_DAYS", 400.0, float, "Days storage snapshots, reputation and payout history and resolved alerts are kept.", 0.01),
    _s("DB_BATCH_SIZE", 5000, int, "Events per write transaction, at most.", 1, 1000000),
    _s("DB_COMMIT_INTERVAL", 0.5, float, "Seconds a live batch may wait before it is committed.", 0.01, 60),
    # --- log following and duration pairing ---
    _s("FOLLOW_FROM_END", False, bool, "Start new log files at their end instead of reading their history (flag --from-end)."),
    _s("LOG_READ_BLOCK_BYTES", 1048576, int, "Bytes read from a log file at a time.", 4096),
    _s("LOG_POLL_INTERVAL", 0.25, float, "Seconds between stat checks of a followed file where inotify is unavailable (with inotify, files are read when they change).", 0.01),
    _s("PAIRING_MAX_PENDING", 200000, int, "Started transfers kept waiting for their finish line, at most (oldest dropped).", 100),
    _s("PAIRING_TTL_SECONDS", 3600.0, float, "A started transfer with no finish line after this many seconds is forgotten.", 1),
    _s("FORWARDER_TOKEN", "", str, "Shared secret of the log forwarders (proved by HMAC challenge-response, never sent).", secret=True),
    _s("FORWARDER_TLS_CA", "", str, "CA file (PEM) that signs the log forwarders' TLS certificates; setting it (or a fingerprint) connects with TLS."),
    _s("FORWARDER_TLS_FINGERPRINT", [], list, "Pinned SHA-256 fingerprints of forwarder TLS certificates (hex, colons allowed; `NODE_NAME=FP` pins one node's forwarder, a bare `FP` any; comma separated in env); a pin for a node connects it with TLS."),
    # --- server ---
    _s("HOST", "127.0.0.1", str, "Address the web server binds to (flag --host)."),
    _s("ALLOWED_HOSTS", [], list, "Extra host names the web server answers to, e.g. a reverse proxy's public name (`.example.org`: that domain and its subdomains; `*`: no Host check). Loopback names and the bound address are always allowed; see docs/security.md."),
    _s("PORT", 8765, int, "Port of the web server (flag --port).", 0, 65535),
    _s("AUTH_TOKEN", "", str, "If set, every HTTP and WebSocket request must carry it (flag --auth-token).", secret=True),
    _s("STATS_PUSH_INTERVAL", 2.0, float, "Seconds between live `stats_update` pushes.", 0.05, 60),
    _s("WS_CLIENT_QUEUE_SIZE", 256, int, "Messages queued for one WebSocket client before it is dropped as too slow.", 1),
    _s("GEOIP_CITY_DB", "", str, "Optional MaxMind GeoLite2 City .mmdb for city-level map points."),
    # --- notifications ---
    _s("NOTIFY_URLS", [], list, "Apprise URLs that receive alert notifications (comma separated in env).", secret=True),
    _s("NOTIFY_MIN_SEVERITY", "warning", str, "Lowest alert severity sent as a notification (info, warning, critical)."),
    _s("ALERT_RENOTIFY_SECONDS", 21600.0, float, "Seconds before an alert that is still open is notified again.", 0),
)
# fmt: on

SETTINGS_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


def _convert(setting: Setting, raw: Any, origin: str) -> Any:
    """Validate and convert one raw value; raise SettingsError with one clear line."""

    def fail(why: str) -> SettingsError:
        return SettingsError(f"invalid value for {setting.key} ({origin}): {raw!r}: {why}")

    t = setting.type
    value: Any
    if t is bool:
        if isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and raw.strip().lower() in {"1", "true", "yes", "on"}:
            value = True
        elif isinstance(raw, str) and raw.strip().lower() in {"0", "false", "no", "off", ""}:
            value = False
        else:
            raise fail("expected true or false")
    elif t is int:
        if isinstance(raw, bool):
            raise fail("expected an integer")
        try:
            value = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
        except (TypeError, ValueError):
            value = None
        if value is None:
            raise fail("expected an integer")
    elif t is float:
        if isinstance(raw, bool):
            raise fail("expected a number")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise fail("expected a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise fail("expected a finite number")
    elif t is list:
        if isinstance(raw, str):
            value = [p.strip() for p in raw.split(",") if p.strip()]
        elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
            value = list(raw)
        else:
            raise fail("expected a list of strings")
    else:
        if not isinstance(raw, str):
            raise fail("expected a string")
        value = raw
    if setting.minimum is not None and value < setting.minimum:
        raise fail(f"must be at least {setting.minimum:g}")
    if setting.maximum is not None and value > setting.maximum:
        raise fail(f"must be at most {setting.maximum:g}")
    return value


class Settings:
    """Resolved settings; attribute access by lower-case key (``settings.node_api_poll_interval``)."""

    def __init__(
        self,
        values: Mapping[str, Any],
        origins: Mapping[str, str] | None = None,
        tables: ConfigTables | None = None,
    ):
        self._values = dict(values)
        self._origins = dict(origins or {})
        #: The config file's ``[[node]]`` and ``[[notify]]`` tables (config_tables).
        self.tables = tables or ConfigTables()

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def get(self, key: str) -> Any:
        return self._values[key]

    def origin(self, key: str) -> str:
        """Where the value came from: default, file, env or flag."""
        return self._origins.get(key, "default")

    def replace(self, **overrides: Any) -> Settings:
        """A copy with some values replaced (validated), e.g. for tests."""
        values = dict(self._values)
        origins = dict(self._origins)
        for key, raw in overrides.items():
            setting = SETTINGS_BY_KEY.get(key)
            if setting is None:
                raise SettingsError(f"unknown setting {key!r}")
            values[key] = _convert(setting, raw, "override")
            origins[key] = "override"
        _check_consistency(values)
        return Settings(values, origins, self.tables)

    def as_dict(self, redact: bool = True) -> dict[str, Any]:
        """All values; secrets shown as ``***`` when set and ``redact`` is true."""
        out = {}
        for s in SETTINGS:
            v = self._values[s.key]
            out[s.key] = "***" if (redact and s.secret and v) else v
        return out


def defaults() -> Settings:
    return Settings({s.key: (list(s.default) if s.type is list else s.default) for s in SETTINGS})


def _check_consistency(values: Mapping[str, Any]) -> None:
    pairs = (
        ("storage_warning_percent", "storage_critical_percent", "below"),
        ("latency_warning_ms", "latency_critical_ms", "below"),
        ("storage_forecast_critical_days", "storage_forecast_warning_days", "below"),
        ("audit_score_critical", "audit_score_warning", "below"),
        ("suspension_score_critical", "suspension_score_warning", "below"),
        ("online_score_critical", "online_score_warning", "below"),
    )
    for low, high, _ in pairs:
        if values[low] > values[high]:
            raise SettingsError(
                f"invalid settings: {low} ({values[low]}) must not exceed {high} ({values[high]})"
            )
    for pin in values["forwarder_tls_fingerprint"]:  # FINGERPRINT or NODE_NAME=FINGERPRINT
        digits = pin.rpartition("=")[2].replace(":", "")
        if len(digits) != 64 or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise SettingsError(
                f"invalid value for forwarder_tls_fingerprint: {pin!r}: expected a SHA-256 "
                "fingerprint (64 hex digits, colons allowed), optionally after NODE_NAME="
            )
    for entry in values["allowed_hosts"]:
        if "/" in entry or (entry.count(":") == 1 and not entry.startswith("[")):
            raise SettingsError(
                f"invalid value for allowed_hosts: {entry!r}: expected a host name without "
                "scheme, port or path (e.g. monitor.example)"
            )
    if values["notify_min_severity"] not in ("info", "warning", "critical"):
        raise SettingsError(
            f"invalid value for notify_min_severity: {values['notify_min_severity']!r}: "
            "expected info, warning or critical"
        )


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve every setting: flag > environment > TOML file > default.

    ``flags`` maps lower-case keys to values given on the command line (None = not given).
    Raises SettingsError (one line naming the key) on any invalid value or unknown TOML key.
    """
    values = defaults()._values
    origins: dict[str, str] = {}
    tables = ConfigTables()
    if config_file is not None:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"config file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"cannot read config file {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
        try:
            tables = parse_tables(data, f"config file {path}")
        except ConfigTableError as exc:
            raise SettingsError(str(exc)) from None
        for key, raw in data.items():
            if key in TABLE_KEYS:
                continue
            setting = SETTINGS_BY_KEY.get(key.lower())
            if setting is None:
                raise SettingsError(f"unknown setting {key!r} in config file {path}")
            values[setting.key] = _convert(setting, raw, f"config file {path}")
            origins[setting.key] = "file"
    env = os.environ if environ is None else environ
    for setting in SETTINGS:
        if setting.env in env:
            values[setting.key] = _convert(setting, env[setting.env], f"environment {setting.env}")
            origins[setting.key] = "env"
    for key, raw in (flags or {}).items():
        if raw is None:
            continue
        setting = SETTINGS_BY_KEY.get(key)
        if setting is None:
            raise SettingsError(f"unknown setting {key!r}")
        values[setting.key] = _convert(setting, raw, f"flag --{key.replace('_', '-')}")
        origins[setting.key] = "flag"
    if "db_path" not in origins:
        values["db_path"] = str(data_dir(values["data_dir"], env) / values["db_path"])
    _check_consistency(values)
    return Settings(values, origins, tables)


def data_dir(configured: str, environ: Mapping[str, str]) -> Path:
    """Where the default database lives (not created here: the caller makes it on use)."""
    if configured:
        return Path(configured).expanduser()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/storj_monitor")
    base = environ.get("XDG_DATA_HOME") or str(Path("~/.local/share").expanduser())
    return Path(base) / "storj_monitor"


def settings_markdown() -> str:
    """The settings reference of docs/configuration.md, generated from SETTINGS."""
    lines = [
        "| TOML key | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = ", ".join(s.default) if s.type is list else s.default
        if s.type is list and not s.default:
            default = "(empty)"
        elif s.type is str and not s.default:
            default = '""'
        elif s.type is bool:
            default = str(s.default).lower()
        limits = []
        if s.minimum is not None:
            limits.append(f"min {s.minimum:g}")
        if s.maximum is not None:
            limits.append(f"max {s.maximum:g}")
        extra = f" ({', '.join(limits)})" if limits else ""
        secret = " Secret: shown as `***`." if s.secret else ""
        lines.append(f"| `{s.key}` | `{s.env}` | `{default}` | {s.help}{extra}{secret} |")
    return "\n".join(lines) + "\n"
