"""GeoIP lookups for the map: offline country database, cache, optional city file."""

from __future__ import annotations

from pathlib import Path

import pytest

from storj_monitor.geoip import GeoIP


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("1.1.1.1", "AU"),
        ("81.2.69.142", "GB"),
        ("2001:4860:4860::8888", "US"),
        ("10.1.2.3", None),  # private
        ("127.0.0.1", None),
        ("192.168.0.7", None),
        ("fe80::1", None),
        ("not an ip", None),
        ("", None),
    ],
)
def test_country(ip: str, country: str | None) -> None:
    geo = GeoIP()
    assert geo.country(ip) == country
    assert geo.country(ip) == country  # cached
    assert geo.city(ip) is None and not geo.has_cities


def test_missing_city_database_falls_back_to_countries(tmp_path: Path) -> None:
    geo = GeoIP(str(tmp_path / "missing.mmdb"))
    assert not geo.has_cities
    assert geo.country("8.8.8.8") == "US"
    geo.close()
