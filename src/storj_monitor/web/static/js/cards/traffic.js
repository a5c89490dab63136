// Live traffic card: operations/s and bandwidth over a window (5 min .. 24 h), success rates of
// downloads, uploads, audits and repairs, and the same per satellite.
//
// Data: `traffic_stats` (requested for the window, refreshed every few seconds) gives the totals,
// the per-satellite split and the time series; `stats_update` (pushed about every 2 s) gives the
// live rates, which refresh the KPI tiles between two requests. Its `size_buckets` and
// `top_pieces` feed the piece details (./piece_details.js); the 5-minute view takes them from
// a 1-hour request (the shortest the server answers).

import { h, replace } from "../dom.js";
import { Chart, line } from "../charts.js";
import { bitrate, bitrateShort, bytes, compact, isNum, num, pct, satelliteName, tick, toUnix } from "../format.js";
import { empty, kpi, rateTone, sectionTitle, segmented, table, waiting } from "../ui.js";
import { every, sameView } from "../app.js";
import { PieceDetails } from "./piece_details.js";

const WINDOWS = [
  { value: 5 / 60, label: "5 min" },
  { value: 1, label: "1 h" },
  { value: 6, label: "6 h" },
  { value: 24, label: "24 h" },
];
const LIVE_STEP = 5;
const MIN_REQUEST_HOURS = 1;
const SERIES_KEYS = ["get", "put", "audit", "repair", "other", "failed", "ingress_bytes", "egress_bytes"];
const RATES = [
  ["get", "Downloads"],
  ["put", "Uploads"],
  ["audit", "Audits"],
  ["repair", "Repairs"],
];

export class TrafficCard {
  constructor(app, section) {
    this.app = app;
    this.section = section;
    this.body = section.querySelector("[data-body]");
    this.hours = 1;
    this.stats = null;
    this.details = null; // the last traffic_stats payload (piece details), also in the 5-min view
    this.pieceDetails = new PieceDetails(app);
    this.live = null;
    this.liveBuf = new Map(); // unix second -> 1-second point of the live push
    this.opsChart = null;
    this.bwChart = null;
    segmented(section.querySelector("#traffic-window"), WINDOWS, this.hours, (v) => {
      if (this.requestHours(v) !== this.requestHours()) this.details = null;
      this.hours = v;
      this.stats = v < 1 ? this.live : null;
      this.render();
      this.refresh();
    });
    app.ws.on("traffic_stats", (m) => {
      if (!sameView(app, m) || (m.hours !== undefined && m.hours !== this.requestHours())) return;
      this.details = m.data || null;
      if (this.hours < 1) {
        this.renderDetails();
        return;
      }
      this.stats = m.data || null;
      this.render();
    });
    app.ws.on("stats_update", (m) => this.onLive(m));
    app.onView(() => {
      this.stats = null;
      this.details = null;
      this.live = null;
      this.liveBuf.clear();
      this.render();
      this.refresh();
    });
    every(app, 10000, () => this.refresh());
    this.render();
  }

  /** A `stats_update`: the last 5 minutes (totals) plus new 1-second points (or all, if full). */
  onLive(m) {
    if (!sameView(this.app, m)) return;
    this.live = m;
    if (m.full) this.liveBuf.clear();
    for (const p of (m.series && m.series.points) || []) this.liveBuf.set(toUnix(p.timestamp), p);
    const oldest = (toUnix(m.timestamp) || Date.now() / 1000) - (m.window_seconds || 300);
    for (const t of this.liveBuf.keys()) if (t < oldest) this.liveBuf.delete(t);
    if (this.hours < 1) {
      this.stats = m;
      this.render();
    } else {
      this.renderKpis();
    }
  }

  /** The window asked of the server: the card's, at least MIN_REQUEST_HOURS. */
  requestHours(hours = this.hours) {
    return Math.max(hours, MIN_REQUEST_HOURS);
  }

  refresh() {
    this.app.request("get_traffic_stats", { hours: this.requestHours() });
  }

  /** The chart's points: the live buffer in 5-second steps, or the requested series. */
  points() {
    if (this.hours < 1) {
      const step = LIVE_STEP;
      const merged = new Map();
      for (const [t, p] of this.liveBuf) {
        const b = Math.floor(t / step) * step;
        const acc = merged.get(b) || { timestamp: b };
        for (const k of SERIES_KEYS) acc[k] = (acc[k] || 0) + (p[k] || 0);
        merged.set(b, acc);
      }
      const points = [...merged.values()].sort((a, b) => a.timestamp - b.timestamp);
      return { step, points: points.slice(0, -1).length > 2 ? points.slice(0, -1) : points };
    }
    const series = this.stats && this.stats.series;
    if (!series || !Array.isArray(series.points)) return { step: 60, points: [] };
    const step = series.step_seconds || 60;
    let points = series.points;
    // The newest bucket is still filling: drawing it would show a false drop at the end.
    const end = toUnix(this.stats.end);
    const last = points[points.length - 1];
    if (last && isNum(end) && toUnix(last.timestamp) + step > end + 1) points = points.slice(0, -1);
    return { step, points };
  }

  render() {
    if (!this.app.ready) {
      replace(this.body, waiting("traffic"));
      return;
    }
    const s = this.stats;
    if (!s) {
      if (!this.body.querySelector(".kpis")) replace(this.body, waiting("traffic"));
      return;
    }
    if (!s.total_operations) {
      this.destroyCharts();
      replace(this.body, empty("No traffic in this window",
        "No finished uploads or downloads were logged for this view. Is the log path right, and is the node running?",
        "no-traffic"));
      return;
    }
    if (!this.opsChart) this.layout();
    this.renderKpis();
    this.renderRates();
    this.renderCharts();
    this.renderSatellites();
    this.renderDetails();
  }

  renderDetails() {
    if (this.detailsEl) this.pieceDetails.render(this.details, this.requestHours());
  }

  layout() {
    this.kpiEl = h("div", { class: "kpis three", dataset: { testid: "traffic-kpis" } });
    this.ratesEl = h("div", { class: "rates", dataset: { testid: "success-rates" } });
    const opsBox = h("div", { class: "chart", dataset: { testid: "ops-chart" } });
    const bwBox = h("div", { class: "chart", dataset: { testid: "bw-chart" } });
    this.satEl = h("div", { dataset: { testid: "satellites" } });
    this.detailsEl = this.pieceDetails.el;
    this.pieceDetails.shown = undefined;
    replace(this.body,
      this.kpiEl,
      sectionTitle("Success rate"),
      this.ratesEl,
      h("div", { class: "two-col" },
        h("div", {}, sectionTitle("Operations / s"), opsBox),
        h("div", {}, sectionTitle("Bandwidth"), bwBox)),
      sectionTitle("Per satellite"),
      this.satEl,
      this.detailsEl);
    this.opsChart = new Chart(opsBox, (p) => ({
      series: [
        {},
        line("Downloads", p.get, (v) => `${v.toFixed(2)}/s`),
        line("Uploads", p.put, (v) => `${v.toFixed(2)}/s`),
        line("Audits", p.audit, (v) => `${v.toFixed(3)}/s`),
        line("Repairs", p.repair, (v) => `${v.toFixed(2)}/s`),
        line("Failed", p.failed, (v) => `${v.toFixed(2)}/s`, { dash: [4, 3] }),
      ],
      axes: [{}, { size: 44, values: (u, vals) => vals.map((v) => tick(v)) }],
    }), { height: 170 });
    this.bwChart = new Chart(bwBox, (p) => ({
      series: [
        {},
        line("Ingress", p.ingress, bitrate, { fill: `${p.ingress}22` }),
        line("Egress", p.egress, bitrate, { fill: `${p.egress}22` }),
      ],
      axes: [{}, { size: 50, label: "bit/s", labelSize: 14, labelFont: "11px system-ui", values: (u, vals) => vals.map((v) => bitrateShort(v)) }],
    }), { height: 170 });
  }

  destroyCharts() {
    if (this.opsChart) this.opsChart.destroy();
    if (this.bwChart) this.bwChart.destroy();
    this.opsChart = this.bwChart = null;
  }

  liveRates() {
    const r = (this.live && this.live.rates) || {};
    return r;
  }

  renderKpis() {
    if (!this.kpiEl || !this.stats) return;
    const s = this.stats;
    const r = this.liveRates();
    const bw = s.bandwidth || {};
    const windowLabel = WINDOWS.find((w) => w.value === this.hours)?.label || `${this.hours} h`;
    replace(this.kpiEl,
      kpi("Operations / s", isNum(r.ops_per_second) ? r.ops_per_second.toFixed(1) : "—", "last minute", "", "ops-rate"),
      kpi("Ingress", bitrate(r.ingress_bytes_per_second), "last minute", "", "ingress-rate"),
      kpi("Egress", bitrate(r.egress_bytes_per_second), "last minute", "", "egress-rate"),
      kpi("Operations", num(s.total_operations), `finished, last ${windowLabel}`, "", "total-ops"),
      kpi("Ingress total", bytes(bw.ingress_bytes), "uploads + repair", "", "ingress-total"),
      kpi("Egress total", bytes(bw.egress_bytes), "downloads + audit + repair", "", "egress-total"));
  }

  renderRates() {
    const ops = this.stats.operations || {};
    replace(this.ratesEl, RATES.map(([key, label]) => {
      const o = ops[key] || {};
      const rate = o.success_rate;
      const tone = rateTone(rate, this.app.thresholds[key === "audit" ? "audit_success_rate" : "success_rate"]);
      return h("div", { class: "rate", dataset: { testid: `rate-${key}`, rate: isNum(rate) ? String(rate) : "" } },
        h("div", { class: "rate-head" }, h("span", {}, label), h("span", {}, `${compact(o.total ?? 0)} ops`)),
        h("div", { class: ["rate-value", tone] }, isNum(rate) ? pct(rate, rate >= 99.95 ? 1 : 2) : "—"),
        h("div", { class: ["meter", tone] }, h("span", { style: { width: `${isNum(rate) ? rate : 0}%` } })),
        h("div", { class: "kpi-sub" }, o.total ? `${num(o.failed || 0)} failed · ${num(o.canceled || 0)} canceled` : "no operations"));
    }));
  }

  renderCharts() {
    const { step, points } = this.points();
    const xs = [];
    const cols = [[], [], [], [], []];
    const ins = [];
    const outs = [];
    for (const p of points) {
      xs.push(toUnix(p.timestamp));
      cols[0].push((p.get || 0) / step);
      cols[1].push((p.put || 0) / step);
      cols[2].push((p.audit || 0) / step);
      cols[3].push((p.repair || 0) / step);
      cols[4].push((p.failed || 0) / step);
      ins.push((p.ingress_bytes || 0) / step);
      outs.push((p.egress_bytes || 0) / step);
    }
    this.opsChart.setData([xs, ...cols]);
    this.bwChart.setData([xs, ins, outs]);
  }

  renderSatellites() {
    const sats = this.stats.satellites || [];
    if (!sats.length) {
      replace(this.satEl, empty("No satellite traffic", "", "no-satellites"));
      return;
    }
    const cell = (o) => {
      const rate = o && o.success_rate;
      return { text: isNum(rate) ? pct(rate) : "—", class: rateTone(rate, this.app.thresholds.success_rate) };
    };
    replace(this.satEl, table(
      [
        { label: "Satellite" },
        { label: "Ops" },
        { label: "Down" },
        { label: "Up" },
        { label: "Audit" },
        { label: "Repair", class: "hide-narrow" },
        { label: "In", class: "hide-narrow" },
        { label: "Out", class: "hide-narrow" },
      ],
      sats.map((s) => [
        { text: satelliteName(s.satellite_id, s.satellite_name), title: s.satellite_id || "" },
        compact(s.total),
        cell(s.operations?.get),
        cell(s.operations?.put),
        cell(s.operations?.audit),
        cell(s.operations?.repair),
        bytes(s.ingress_bytes),
        bytes(s.egress_bytes),
      ]),
      { testid: "satellite-table" }));
  }
}
