"""The dashboard's static files, checked without a browser: everything the page loads is in the
package (no CDN, no external URL), every vendored file carries its version and sits next to its
license, and no script writes markup (innerHTML and friends) anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "src" / "storj_monitor" / "web" / "static"
VENDOR = STATIC / "vendor"
OWN_JS = sorted((STATIC / "js").rglob("*.js"))


def test_index_references_only_shipped_files() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    local = [r for r in refs if not r.startswith(("data:", "#", "api/"))]
    assert local, "index.html references nothing?"
    for ref in local:
        assert not re.match(r"^[a-z]+:", ref) and not ref.startswith("//"), f"external: {ref}"
        assert (STATIC / ref).is_file(), f"index.html references a missing file: {ref}"


def test_imports_and_fetches_stay_inside_the_package() -> None:
    for path in OWN_JS:
        text = path.read_text(encoding="utf-8")
        for spec in re.findall(r'from\s+"([^"]+)"', text):
            assert spec.startswith("."), f"{path.name}: bare or remote import {spec}"
            assert (path.parent / spec).resolve().is_file(), f"{path.name}: missing {spec}"
        for url in re.findall(r'"(vendor/[^"]+)"', text):
            assert (STATIC / url).is_file(), f"{path.name}: missing {url}"
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)[\w-]+\.[\w.-]+", text), (
            f"{path.name} mentions an external URL"
        )


@pytest.mark.parametrize("path", OWN_JS, ids=lambda p: p.name)
def test_no_script_writes_markup(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in text, f"{path.name} uses {sink}"


def test_vendored_files_carry_versions_and_licenses() -> None:
    files = [p for p in VENDOR.iterdir() if p.suffix != ".LICENSE" and p.name != "README.md"]
    assert len(files) >= 6
    for f in files:
        m = re.match(r"^(.+?)-(\d+\.\d+\.\d+)\.", f.name)
        assert m, f"{f.name}: no version in the file name"
        license_file = VENDOR / f"{m.group(1)}-{m.group(2)}.LICENSE"
        assert license_file.is_file(), f"{f.name}: no {license_file.name}"
        assert license_file.stat().st_size > 100


def test_vendored_scripts_are_the_ones_the_page_loads() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    for name in ("uPlot-", "d3-array-", "d3-geo-", "topojson-client-"):
        shipped = sorted(p.name for p in VENDOR.glob(f"{name}*.js"))
        assert len(shipped) == 1, shipped
        assert f"vendor/{shipped[0]}" in html
