"""Where a remote address is: country from the bundled offline iptocc database, optionally
city coordinates from a MaxMind GeoLite2 City file (``GEOIP_CITY_DB``, needs ``maxminddb``).

Lookups are cached (bounded) because the same uplink addresses come back all day. No network
access ever: both databases are local files.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)

_CACHE_SIZE = 65536


class GeoIP:
    """``country(ip)`` -> ISO 3166 alpha-2 code or None (private, reserved, unknown, garbage).

    ``city(ip)`` -> ``{"city", "country", "latitude", "longitude"}`` or None, only when a
    City database was given and could be opened.
    """

    def __init__(self, city_db: str = "") -> None:
        self._countries: OrderedDict[str, str | None] = OrderedDict()
        self._reader: Any = None
        try:
            import iptocc

            self._iptocc: Any = iptocc
        except ImportError:  # pragma: no cover - a declared dependency
            log.warning("iptocc is not installed: traffic by country is unavailable")
            self._iptocc = None
        if city_db:
            try:
                import maxminddb

                self._reader = maxminddb.open_database(city_db)
            except ImportError:
                log.warning("GEOIP_CITY_DB is set but maxminddb is not installed; countries only")
            except (OSError, ValueError) as exc:
                log.warning("cannot open GEOIP_CITY_DB %s: %s; countries only", city_db, exc)

    @property
    def has_cities(self) -> bool:
        return self._reader is not None

    def country(self, ip: str) -> str | None:
        if ip in self._countries:  # None is a cached answer too (no country known)
            return self._countries[ip]
        cc = self._lookup(ip)
        self._countries[ip] = cc
        if len(self._countries) > _CACHE_SIZE:
            self._countries.popitem(last=False)
        return cc

    def _lookup(self, ip: str) -> str | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if not addr.is_global or self._iptocc is None:
            return None
        try:
            cc = self._iptocc.country_code(str(addr))
        except Exception:  # a lookup failure is "unknown", never an error page
            return None
        return cc or None

    def city(self, ip: str) -> dict[str, Any] | None:
        if self._reader is None:
            return None
        try:
            rec = self._reader.get(ip)
        except (ValueError, TypeError):
            return None
        if not rec or "location" not in rec:
            return None
        loc = rec["location"]
        return {
            "city": (rec.get("city", {}).get("names", {}) or {}).get("en"),
            "country": rec.get("country", {}).get("iso_code"),
            "latitude": loc.get("latitude"),
            "longitude": loc.get("longitude"),
        }

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

