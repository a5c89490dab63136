"""Command line: parse flags, resolve settings, hand over to a service. Thin on purpose."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from storj_monitor import __version__
from storj_monitor.nodespec import (
    NodeSpecError,
    apply_data_dirs,
    parse_ingest_spec,
    parse_node_spec,
)
from storj_monitor.settings import SETTINGS, Settings, SettingsError, load_settings

log = logging.getLogger("storj_monitor")

EPILOG = """\
node syntax:
  --node "NAME:LOG_SOURCE[:API_URL]"      (repeat for several nodes)

  NAME is everything before the first ':'. The API part starts at the last
  ':http://' or ':https://' and must include its scheme. LOG_SOURCE is a local
  file, or host:port of a log forwarder when it has no path separator and ends
  in ':PORT'. Windows paths (C:\\logs\\node.log) are files. LOG_SOURCE
  "docker:CONTAINER" follows `docker logs -f -t CONTAINER`; "-" reads stdin.
  A local node with no API_URL is tried at http://localhost:14002.

examples:
  storj_monitor --node "My-Node:/var/log/storagenode.log"
  storj_monitor --node "NAS:C:\\Storj\\storagenode.log:http://192.168.1.20:14002"
  storj_monitor --node "Remote:nas.local:9000:http://nas.local:14002"
  storj_monitor --ingest-log "My-Node:/var/log/storagenode.log*"
      (the log and its rotated files, .gz/.bz2/.xz too, oldest first; quote the
      pattern, or let the shell expand it: --ingest-log My-Node: /var/log/node.log*)
  storj_monitor --demo
  storj_monitor forward /var/log/storagenode.log --listen 0.0.0.0:9000 --token SECRET \
      --tls-cert forwarder.crt --tls-key forwarder.key
      (on the node's host: streams its log to a monitor using "NAME:host:9000";
      see storj_monitor forward --help)
  storj_monitor notify-test --config config.toml
      (sends one test message to every notification URL, says which were delivered)

Every setting (see docs/configuration.md) can also be given in a TOML file
(--config, key in lower case) or as STORJ_MONITOR_<NAME> in the environment.
Precedence: flag > environment > file > default.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="storj_monitor",
        description="Monitor Storj storage nodes: logs, latency, capacity, reputation, alerts.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"storj_monitor {__version__}")
    p.add_argument("--node", action="append", default=[], metavar="NAME:LOG_SOURCE[:API_URL]",
                   help="a node to monitor (repeatable)")
    p.add_argument("--node-data-dir", action="append", default=[], metavar="NAME=PATH",
                   help="the storage directory of node NAME on this host, for the filesystem's "
                        "view of its disk (repeatable; config: data_dir in [[node]])")
    p.add_argument("--ingest-log", action="append", nargs="+", default=[],
                   metavar=("NAME:LOG_PATH", "LOG_PATH"),
                   help="import whole log files once into the database, then exit: paths or "
                        "quoted glob patterns, .gz/.bz2/.xz too (repeatable)")
    p.add_argument("--demo", action="store_true",
                   help="run on a simulated node (log and node API) in a temporary directory")
    p.add_argument("--db", dest="db_path", metavar="PATH", help="SQLite file (default: storj_stats.db in the data directory, see DATA_DIR)")
    p.add_argument("--config", metavar="FILE", help="TOML file with settings")
    p.add_argument("--host", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to serve on (default 8765)")
    p.add_argument("--auth-token", help="require this token on every HTTP/WebSocket request")
    p.add_argument("--from-end", dest="follow_from_end", action="store_true", default=None,
                   help="start new log files at their end instead of reading their history")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any setting, e.g. --set node_api_poll_interval=60")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="console log level of the monitor itself")
    # Hidden: run the pipeline without the web server (tests, headless collectors).
    p.add_argument("--no-serve", action="store_true", help=argparse.SUPPRESS)
    return p


def _flags(args: argparse.Namespace) -> dict[str, object]:
    flags: dict[str, object] = {
        "db_path": args.db_path,
        "host": args.host,
        "port": args.port,
        "auth_token": args.auth_token,
        "follow_from_end": args.follow_from_end,
    }
    known = {s.key for s in SETTINGS}
    for item in args.set:
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or key not in known:
            raise SettingsError(f"--set {item!r}: expected KEY=VALUE with a known setting key")
        flags[key] = value
    return flags


def _ingest_spec(items: list[str]) -> tuple[str, list[str]]:
    """``NAME:PATH [PATH ...]``, or ``NAME: PATH ...`` (a pattern the shell expanded)."""
    first, *more = items
    if more and first.endswith(":"):
        name, path = parse_ingest_spec(first + more[0])
        return name, [path, *more[1:]]
    name, path = parse_ingest_spec(first)
    return name, [path, *more]


def notify_test(argv: Sequence[str]) -> int:
    """``storj_monitor notify-test [--config FILE]``: one test message to every configured
    URL (NOTIFY_URLS and each [[notify]] route); exit 0 only if every one was delivered."""
    p = argparse.ArgumentParser(prog="storj_monitor notify-test",
                                description="Send one test notification to every configured URL.")
    p.add_argument("--config", metavar="FILE", help="TOML file with settings and [[notify]] routes")
    args = p.parse_args(list(argv))
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"storj_monitor: error: {exc}", file=sys.stderr)
        return 2
    urls = list(dict.fromkeys([*settings.notify_urls, *(u for r in settings.tables.routes for u in r.urls)]))
    if not urls:
        print("storj_monitor: no notification URL configured (NOTIFY_URLS or [[notify]] urls)",
              file=sys.stderr)
        return 2
    from storj_monitor.notify import send_test

    results = asyncio.run(send_test(urls))
    for shown, ok, why in results:
        print(f"{'delivered' if ok else 'FAILED   '}  {shown}" + (f"  ({why})" if why else ""))
    return 0 if all(ok for _, ok, _ in results) else 1


def _start_input_ok(settings: Settings, *, serving: bool) -> bool:
    """Create the default data directory, then check --db (and --host when serving): on input
    that cannot work, print one line and return False (see preflight.py)."""
    from storj_monitor.preflight import PreflightError, check_database, check_host, ensure_dir

    try:
        if settings.origin("db_path") == "default":  # the data directory is ours to create
            ensure_dir(Path(settings.db_path).parent, "the data directory", "set --db or DATA_DIR")
        check_database(settings.db_path)
        if serving:
            check_host(settings.host)
    except PreflightError as exc:
        print(f"storj_monitor: error: {exc}", file=sys.stderr)
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["forward"]:  # storj_monitor forward LOG --listen HOST:PORT --token T
        from storj_monitor.logs.forwarder import main as forward

        return forward(argv[1:])
    if argv[:1] == ["notify-test"]:
        return notify_test(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s [%(levelname)s] %(message)s")
    try:
        settings = load_settings(args.config, flags=_flags(args))
        nodes = [*settings.tables.nodes, *(parse_node_spec(n) for n in args.node)]
        nodes = apply_data_dirs(nodes, args.node_data_dir)
        ingests = [_ingest_spec(i) for i in args.ingest_log]
    except (SettingsError, NodeSpecError) as exc:
        print(f"storj_monitor: error: {exc}", file=sys.stderr)
        return 2
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        print(f"storj_monitor: error: node names must be unique ({', '.join(twice)} given twice, "
              "by --node or [[node]])", file=sys.stderr)
        return 2

    if ingests:
        if not _start_input_ok(settings, serving=False):
            return 2
        from storj_monitor.services.ingest_log_command import run_history_ingest

        status = 0
        for name, paths in ingests:
            status = max(status, run_history_ingest(settings, name, paths))
        return status
    if args.demo:
        from storj_monitor.demo.runner import run_demo

        return run_demo(settings)
    if not nodes:
        parser.print_usage(sys.stderr)
        print("storj_monitor: error: give at least one --node or a [[node]] table in the "
              "--config file (or --ingest-log, or --demo)", file=sys.stderr)
        return 2

    from storj_monitor.services.monitor import Monitor

    if not _start_input_ok(settings, serving=not args.no_serve):
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(Monitor(settings, nodes, serve=not args.no_serve).run_forever())
    except OSError as exc:  # e.g. the web port is taken
        print(f"storj_monitor: error: {exc}", file=sys.stderr)
        return 1
    return 0
