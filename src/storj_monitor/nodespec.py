"""Parsing of ``--node "NAME:LOG_SOURCE[:API_URL]"`` (pure, no I/O).

The rule, chosen so that Windows paths and ``host:port`` sources are never mistaken for the
API part:

1. NAME is everything before the first ``:``; it must be non-empty and contain no ``:``.
2. The API part, if any, starts at the last ``:http://`` or ``:https://``; an API URL must
   always be written with its scheme.
3. What remains is LOG_SOURCE. It is a remote forwarder (``host:port``) when it has no
   path separator and ends in ``:PORT`` (e.g. ``nas.local:9000``, ``[2001:db8::1]:9000``);
   anything else (``/var/log/node.log``, ``C:\\logs\\node.log``, ``C:/logs/node.log``,
   ``node.log``) is a local file.
4. Mistakes are refused rather than read as odd file names: an API URL with another scheme
   (``ftp://...``), an API written without its scheme (``/var/log/node.log:nas.local:14002``:
   a local file whose name ends in ``:HOST:PORT``), an API URL without a host or with a bad port.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from storj_monitor.model import NodeSpec

_API = re.compile(r":(https?://\S+)$", re.IGNORECASE)
_REMOTE = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-]*):(\d{1,5})$")
_NAME = re.compile(r"^[^:\x00-\x1f]{1,64}$")
_OTHER_SCHEME = re.compile(r":([A-Za-z][A-Za-z0-9+.\-]*://\S*)$")
_BARE_API = re.compile(r":((?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-]*):\d{1,5})$")


class NodeSpecError(ValueError):
    """The --node value cannot be understood; the message says why and shows the syntax."""


def parse_node_spec(text: str) -> NodeSpec:
    """Split one ``--node`` argument into name, log source and optional API URL."""
    syntax = 'expected "NAME:LOG_SOURCE[:API_URL]", e.g. "My-Node:/var/log/storagenode.log"'
    name, sep, rest = text.partition(":")
    name = name.strip()
    if not sep or not rest.strip():
        raise NodeSpecError(f"--node {text!r}: {syntax}")
    if not _NAME.match(name):
        raise NodeSpecError(f"--node {text!r}: node name must be 1-64 printable characters")
    api_url: str | None = None
    match = _API.search(rest)
    if match:
        api_url = match.group(1).rstrip("/")
        rest = rest[: match.start()]
        _check_api_url(text, api_url)
    elif other := _OTHER_SCHEME.search(rest):
        url = other.group(1)
        if url.split("://")[0].lower() in ("http", "https"):
            raise NodeSpecError(f"--node {text!r}: API URL {url!r} has no host")
        raise NodeSpecError(f"--node {text!r}: API URL {url!r} must start with http:// or https://")
    source = rest.strip()
    if not source:
        raise NodeSpecError(f"--node {text!r}: missing log source; {syntax}")
    remote = _REMOTE.match(source)
    is_stream = source == "-" or source.startswith("docker:")  # logs.stream_sources
    is_remote = bool(remote) and "/" not in source and "\\" not in source and not is_stream
    if is_remote and remote is not None and not 0 < int(remote.group(1)) < 65536:
        raise NodeSpecError(f"--node {text!r}: port {remote.group(1)} is out of range")
    if not is_remote and api_url is None:
        bare = _BARE_API.search(_file_name(source))
        if bare:
            raise NodeSpecError(
                f"--node {text!r}: {bare.group(1)!r} looks like the node API without its "
                f"scheme; write it as http://{bare.group(1)}"
            )
    return NodeSpec(name=name, log_source=source, api_url=api_url, is_remote=is_remote)


def _file_name(path: str) -> str:
    """The last component of a local path (a Windows drive prefix ``C:`` removed)."""
    if re.match(r"^[A-Za-z]:", path):
        path = path[2:]
    return re.split(r"[/\\]", path)[-1]


def _check_api_url(text: str, url: str) -> None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise NodeSpecError(f"--node {text!r}: API URL {url!r} has an invalid port") from None
    if not parts.hostname:
        raise NodeSpecError(f"--node {text!r}: API URL {url!r} has no host")
    if port == 0:
        raise NodeSpecError(f"--node {text!r}: API URL {url!r} has an invalid port")


def parse_ingest_spec(text: str) -> tuple[str, str]:
    """Split ``--ingest-log "NAME:LOG_PATH"`` into (name, path); Windows paths are fine."""
    name, sep, path = text.partition(":")
    name = name.strip()
    if not sep or not name or not path.strip():
        raise NodeSpecError(f'--ingest-log {text!r}: expected "NAME:LOG_PATH"')
    if not _NAME.match(name):
        raise NodeSpecError(f"--ingest-log {text!r}: node name must be 1-64 printable characters")
    return name, path.strip()


def apply_data_dirs(nodes: Sequence[NodeSpec], items: Sequence[str]) -> list[NodeSpec]:
    """``--node-data-dir NAME=PATH`` values set the ``data_dir`` of the named nodes."""
    out = list(nodes)
    for item in items:
        name, eq, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if not eq or not name or not path:
            raise NodeSpecError(f"--node-data-dir {item!r}: expected NAME=PATH")
        index = next((i for i, n in enumerate(out) if n.name == name), None)
        if index is None:
            known = ", ".join(n.name for n in out) or "none"
            raise NodeSpecError(f"--node-data-dir {item!r}: no node named {name!r} (nodes: {known})")
        out[index] = replace(out[index], data_dir=path)
    return out
