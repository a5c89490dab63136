#!/usr/bin/env bash
# Refreshes the dashboard's third-party files in src/storj_monitor/web/static/vendor/ from npm.
#
# The files it writes are committed and are what the dashboard runs: no CDN, no build step.
# Each file carries its package version in its name, and each package's LICENSE sits next to it.
# To upgrade, change a version below, run this script, update the <script>/<link> tags in
# web/static/index.html (and the import in js/geo.js for the atlas), commit.
#
# Needs: npm (only to download the tarballs; nothing is installed globally).
set -euo pipefail
cd "$(dirname "$0")/.."

UPLOT=1.6.32
D3_ARRAY=3.2.5   # d3-geo's dependency; its UMD bundle already contains internmap
D3_GEO=3.1.2
TOPOJSON_CLIENT=3.1.0
WORLD_ATLAS=2.0.2
ISO_COUNTRIES=7.14.0  # only its codes.json: ISO 3166 alpha-2 -> numeric (the atlas uses numeric ids)

DEST=src/storj_monitor/web/static/vendor
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fetch() {  # fetch NAME VERSION -> unpacks into $TMP/NAME
  local name=$1 version=$2
  (cd "$TMP" && npm pack --silent "${name}@${version}" >/dev/null)
  mkdir -p "$TMP/$name"
  tar xzf "$TMP/${name}-${version}.tgz" -C "$TMP/$name" --strip-components=1
}

fetch uplot "$UPLOT"
fetch d3-array "$D3_ARRAY"
fetch d3-geo "$D3_GEO"
fetch topojson-client "$TOPOJSON_CLIENT"
fetch world-atlas "$WORLD_ATLAS"
fetch i18n-iso-countries "$ISO_COUNTRIES"

rm -rf "$DEST"
mkdir -p "$DEST"
cp "$TMP/uplot/dist/uPlot.iife.min.js" "$DEST/uPlot-$UPLOT.iife.min.js"
cp "$TMP/uplot/dist/uPlot.min.css" "$DEST/uPlot-$UPLOT.min.css"
cp "$TMP/uplot/LICENSE" "$DEST/uPlot-$UPLOT.LICENSE"
cp "$TMP/d3-array/dist/d3-array.min.js" "$DEST/d3-array-$D3_ARRAY.min.js"
cp "$TMP/d3-array/LICENSE" "$DEST/d3-array-$D3_ARRAY.LICENSE"
cp "$TMP/d3-geo/dist/d3-geo.min.js" "$DEST/d3-geo-$D3_GEO.min.js"
cp "$TMP/d3-geo/LICENSE" "$DEST/d3-geo-$D3_GEO.LICENSE"
cp "$TMP/topojson-client/dist/topojson-client.min.js" "$DEST/topojson-client-$TOPOJSON_CLIENT.min.js"
cp "$TMP/topojson-client/LICENSE" "$DEST/topojson-client-$TOPOJSON_CLIENT.LICENSE"
cp "$TMP/world-atlas/countries-110m.json" "$DEST/world-atlas-$WORLD_ATLAS.countries-110m.json"
cp "$TMP/world-atlas/LICENSE" "$DEST/world-atlas-$WORLD_ATLAS.LICENSE"
cp "$TMP/i18n-iso-countries/codes.json" "$DEST/i18n-iso-countries-$ISO_COUNTRIES.codes.json"
cp "$TMP/i18n-iso-countries/LICENSE" "$DEST/i18n-iso-countries-$ISO_COUNTRIES.LICENSE"

cat > "$DEST/README.md" <<EOF
# Vendored front-end packages

Written by \`scripts/vendor_assets.sh\` from the npm registry; do not edit by hand.
Each file is the package's own distribution file, renamed to carry its version; the package's
license is the \`.LICENSE\` file with the same prefix.

| package | version | license | used for |
|---|---|---|---|
| uplot | $UPLOT | MIT | time-series charts, histogram |
| d3-array | $D3_ARRAY | ISC | dependency of d3-geo |
| d3-geo | $D3_GEO | ISC | world map projection |
| topojson-client | $TOPOJSON_CLIENT | ISC | decoding the world atlas |
| world-atlas | $WORLD_ATLAS | ISC (data: Natural Earth, public domain) | country shapes (1:110m) |
| i18n-iso-countries | $ISO_COUNTRIES | MIT | codes.json only: ISO alpha-2 to numeric ids |
EOF
echo "vendored into $DEST:"
ls -1 "$DEST"
