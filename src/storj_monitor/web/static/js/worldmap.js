// A choropleth world map drawn as SVG with d3-geo and the vendored world-atlas (Natural Earth
// 1:110m): no tile server, nothing fetched from outside the monitor. Countries are coloured by
// operations on a square-root scale; a <title> on each country gives its name and numbers.

import { svg } from "./dom.js";
import { compact } from "./format.js";

const ATLAS_URL = "vendor/world-atlas-2.0.2.countries-110m.json";
const CODES_URL = "vendor/i18n-iso-countries-7.14.0.codes.json";
const WIDTH = 960;
const HEIGHT = 430;

let assets = null;

/** Load the atlas and the ISO code table once per page. */
function loadAssets() {
  if (!assets) {
    assets = Promise.all([fetch(ATLAS_URL), fetch(CODES_URL)])
      .then(([a, c]) => {
        if (!a.ok || !c.ok) throw new Error("map assets missing");
        return Promise.all([a.json(), c.json()]);
      })
      .then(([atlas, codes]) => {
        const features = window.topojson.feature(atlas, atlas.objects.countries).features
          .filter((f) => f.properties && f.properties.name !== "Antarctica");
        const numericOf = new Map(codes.map(([a2, , n]) => [a2, n]));
        return { features, numericOf };
      });
  }
  return assets;
}

export class WorldMap {
  constructor(container) {
    this.container = container;
    this.names = new Map(); // alpha-2 -> country name
    this.paths = null; // numeric id -> <path>
    this.pending = null;
    this.ready = loadAssets()
      .then((a) => this.draw(a))
      .catch((err) => {
        console.warn("storj_monitor: world map unavailable", err);
      });
  }

  draw({ features, numericOf }) {
    const land = { type: "FeatureCollection", features };
    const projection = window.d3.geoNaturalEarth1().fitExtent([[4, 4], [WIDTH - 4, HEIGHT - 4]], land);
    const path = window.d3.geoPath(projection);
    this.paths = new Map();
    const byNumeric = new Map();
    for (const [a2, n] of numericOf) byNumeric.set(n, a2);
    const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": "Traffic by country" });
    for (const f of features) {
      const p = svg("path", { class: "country", d: path(f) || "" });
      const title = svg("title", {}, f.properties.name);
      p.append(title);
      if (f.id) {
        this.paths.set(String(f.id), { path: p, title, name: f.properties.name });
        const a2 = byNumeric.get(String(f.id));
        if (a2) this.names.set(a2, f.properties.name);
      }
      root.append(p);
    }
    this.numericOf = numericOf;
    this.container.replaceChildren(root);
    const legend = document.createElement("div");
    legend.className = "map-legend";
    legend.append("fewer", Object.assign(document.createElement("span"), { className: "ramp" }), "more operations");
    this.container.append(legend);
    if (this.pending) this.render(this.pending);
  }

  countryName(alpha2) {
    return this.names.get(alpha2) || alpha2;
  }

  /** countries: [{country (ISO alpha-2), operations, bytes}] */
  render(countries) {
    this.pending = countries;
    if (!this.paths) return;
    for (const { path, title, name } of this.paths.values()) {
      path.style.removeProperty("fill");
      path.style.removeProperty("fill-opacity");
      title.textContent = name;
    }
    const max = Math.max(1, ...countries.map((c) => c.operations || 0));
    for (const c of countries) {
      const numeric = this.numericOf.get(c.country);
      const entry = numeric && this.paths.get(numeric);
      if (!entry || !c.operations) continue;
      const share = Math.sqrt(c.operations / max);
      entry.path.style.setProperty("fill", "var(--accent)");
      entry.path.style.setProperty("fill-opacity", String(0.18 + 0.82 * share));
      entry.title.textContent = `${entry.name}: ${compact(c.operations)} operations`;
    }
  }
}
