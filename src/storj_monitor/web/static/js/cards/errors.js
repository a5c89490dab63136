// Errors card: the most frequent error categories of the last 24 hours, and a world map of
// where the traffic came from (GeoIP of the remote addresses, resolved by the monitor).
// The map reads raw events, so it covers the `geo_stats` details window (`window_hours`, at
// most EVENTS_DETAIL_HOURS back), which its caption names.

import { h, replace } from "../dom.js";
import { compact, dateTime, detailsReason, hoursLabel, isNum, num, pct } from "../format.js";
import { empty, sectionTitle, waiting } from "../ui.js";
import { every, sameView } from "../app.js";
import { WorldMap } from "../worldmap.js";

const HOURS = 24;
const TOP = 8;

export class ErrorsCard {
  constructor(app, section) {
    this.app = app;
    this.section = section;
    this.body = section.querySelector("[data-body]");
    this.note = section.querySelector("#errors-note");
    this.traffic = null;
    this.geo = null;
    this.errorsEl = h("div", { dataset: { testid: "error-categories" } });
    this.countriesEl = h("div", { dataset: { testid: "country-list" } });
    const mapBox = h("div", { class: "map", dataset: { testid: "world-map" } });
    this.map = new WorldMap(mapBox);
    this.mapCaption = h("div", { class: "map-caption", dataset: { testid: "map-window" } });
    replace(this.body,
      sectionTitle("Traffic by country"),
      mapBox,
      this.mapCaption,
      h("div", { class: "two-col" },
        h("div", {}, sectionTitle("Top countries"), this.countriesEl),
        h("div", {}, sectionTitle("Top error categories"), this.errorsEl)));
    app.ws.on("traffic_stats", (m) => {
      if (!sameView(app, m) || m.hours !== HOURS) return;
      this.traffic = m.data || null;
      this.renderErrors();
    });
    app.ws.on("geo_stats", (m) => {
      if (!sameView(app, m)) return;
      this.geo = m.data || null;
      this.renderGeo();
    });
    app.onView(() => {
      this.traffic = null;
      this.geo = null;
      this.renderErrors();
      this.renderGeo();
      this.refresh();
    });
    every(app, 30000, () => this.refresh());
    this.renderErrors();
    this.renderGeo();
  }

  refresh() {
    this.app.request("get_traffic_stats", { hours: HOURS });
    this.app.request("get_geo_stats", { hours: HOURS });
  }

  renderErrors() {
    this.note.textContent = `last ${HOURS} h`;
    const t = this.traffic;
    if (!t) {
      replace(this.errorsEl, waiting("errors"));
      return;
    }
    const errors = t.errors || [];
    const failed = Object.values(t.operations || {}).reduce((a, o) => a + (o.failed || 0) + (o.canceled || 0), 0);
    if (!errors.length) {
      replace(this.errorsEl, empty(t.total_operations ? "No errors" : "Waiting for data",
        t.total_operations ? `All ${num(t.total_operations)} operations of the last ${HOURS} h succeeded.` : "", "no-errors"));
      return;
    }
    const max = Math.max(...errors.map((e) => e.count));
    replace(this.errorsEl,
      h("div", { class: "kpi-sub", style: { "margin-bottom": "6px" } },
        `${num(failed)} failed or canceled of ${num(t.total_operations)} operations (${pct(t.total_operations ? (failed / t.total_operations) * 100 : 0)})`),
      h("ul", { class: "bar-list" }, errors.slice(0, TOP).map((e) =>
        h("li", { dataset: { category: e.category, count: String(e.count) } },
          h("span", { class: "bl-label", title: e.category }, e.category),
          h("span", { class: "bl-value" }, num(e.count)),
          h("span", { class: "bl-bar" }, h("span", { style: { width: `${(e.count / max) * 100}%` } }))))));
  }

  /** The caption under the map: which window the map and the country list cover. */
  renderCaption(g) {
    const w = g && g.window_hours;
    this.mapCaption.title = g && g.start ? `${dateTime(g.start)} – ${dateTime(g.end)}` : "";
    if (!isNum(w)) {
      this.mapCaption.textContent = "";
    } else if (w <= 0) {
      const n = this.app.settings.events_detail_hours;
      this.mapCaption.textContent = "No remote addresses for this window: they are kept for the last "
        + `${isNum(n) ? hoursLabel(n) : "day"} only (EVENTS_DETAIL_HOURS).`;
    } else if (isNum(g.hours) && w < g.hours * 0.98) {
      this.mapCaption.textContent = `Map and countries: last ${hoursLabel(w)} of ${hoursLabel(g.hours)} `
        + `(${detailsReason(w, this.app.settings.events_detail_hours)})`;
    } else {
      this.mapCaption.textContent = `Map and countries: last ${hoursLabel(w)}`;
    }
  }

  renderGeo() {
    const g = this.geo;
    this.renderCaption(g);
    if (!g) {
      this.map.render([]);
      replace(this.countriesEl, waiting("remote addresses"));
      return;
    }
    const countries = (g.countries || []).filter((c) => c.country);
    this.map.render(countries);
    if (!countries.length) {
      replace(this.countriesEl, empty("No located traffic", "Remote addresses are private or unknown to the GeoIP database.", "no-geo"));
      return;
    }
    const total = countries.reduce((a, c) => a + c.operations, 0);
    const max = countries[0].operations;
    const unknown = (g.countries || []).find((c) => !c.country);
    replace(this.countriesEl,
      h("ul", { class: "bar-list countries" }, countries.slice(0, 8).map((c) =>
        h("li", { dataset: { country: c.country, count: String(c.operations) } },
          h("span", { class: "bl-label" }, `${this.map.countryName(c.country)} (${c.country})`),
          h("span", { class: "bl-value" }, `${compact(c.operations)} ops · ${pct((c.operations / total) * 100)}`),
          h("span", { class: "bl-bar" }, h("span", { style: { width: `${(c.operations / max) * 100}%` } }))))),
      unknown ? h("div", { class: "kpi-sub", style: { "margin-top": "6px" } }, `${compact(unknown.operations)} operations from private or unknown addresses`) : null);
  }
}
