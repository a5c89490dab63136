// Latency card: p50/p95/p99 per category for a chosen window, the histogram, and the slowest
// operations, refreshed in place. Durations exist only when the node logs at DEBUG level (the
// "... started" lines); without them the card says so instead of showing zeros.

import { h, replace } from "../dom.js";
import { Chart, bars } from "../charts.js";
import { clock, compact, isNum, ms, num, satelliteName, shortId, tick } from "../format.js";
import { empty, needsDebug, sectionTitle, segmented, table, waiting } from "../ui.js";
import { every, sameView } from "../app.js";

const WINDOWS = [
  { value: 1, label: "1 h" },
  { value: 6, label: "6 h" },
  { value: 24, label: "24 h" },
  { value: 168, label: "7 d" },
];
const CATEGORIES = [
  ["get", "Download"],
  ["put", "Upload"],
  ["audit", "Audit"],
  ["repair", "Repair"],
];

const SOURCE_NAMES = {
  precise: "docker timestamps",
  arrival: "arrival clock",
  log_millis: "millisecond log timestamps",
  log_seconds: "log timestamps",
  field: "duration fields",
};

function count(stats) {
  return (stats && (stats.count ?? stats.operations)) || 0;
}

/** Operations in the window that had no duration (INFO-level logs), whatever the field is called. */
function missingDurations(data) {
  for (const key of ["without_duration", "operations_without_duration", "missing_duration", "no_duration"]) {
    if (isNum(data[key])) return data[key];
  }
  const cov = data.coverage || data.duration_coverage;
  if (cov && isNum(cov.without_duration)) return cov.without_duration;
  return 0;
}

/** Normalise the histogram payload to [{lo, hi, count}] (ms). */
export function histogramBuckets(data, bucketMs) {
  const raw = Array.isArray(data) ? data : data && (data.buckets || data.histogram || data.bins);
  if (!Array.isArray(raw)) return [];
  return raw
    .map((b) => {
      if (Array.isArray(b)) return { lo: b[0], hi: b[0] + bucketMs, count: b[1] };
      const lo = b.start_ms ?? b.bucket_start_ms ?? b.lower_ms ?? b.min_ms ?? b.bucket_ms ?? b.bucket ?? b.le_ms;
      const hi = b.end_ms ?? b.bucket_end_ms ?? b.upper_ms ?? b.max_ms ?? (isNum(lo) ? lo + bucketMs : null);
      return { lo, hi, count: b.count ?? b.n ?? 0 };
    })
    .filter((b) => isNum(b.lo) && isNum(b.count));
}

export class LatencyCard {
  constructor(app, section) {
    this.app = app;
    this.section = section;
    this.body = section.querySelector("[data-body]");
    this.hours = 1;
    this.stats = null;
    this.histogram = null;
    this.chart = null;
    segmented(section.querySelector("#latency-window"), WINDOWS, this.hours, (v) => {
      this.hours = v;
      this.refresh();
    });
    app.ws.on("latency_stats", (m) => {
      if (!sameView(app, m) || (m.hours !== undefined && m.hours !== this.hours)) return;
      this.stats = m.data || null;
      this.render();
    });
    app.ws.on("latency_histogram", (m) => {
      if (!sameView(app, m) || (m.hours !== undefined && m.hours !== this.hours)) return;
      this.histogram = m;
      this.renderHistogram();
    });
    app.ws.on("error:get_latency_stats", (m) => {
      this.destroyChart();
      this.stats = null;
      replace(this.body, empty("Latency statistics unavailable", m.message, "error"));
    });
    app.onView(() => {
      this.stats = null;
      this.histogram = null;
      this.render();
      this.refresh();
    });
    every(app, 15000, () => this.refresh());
    this.render();
  }

  refresh() {
    this.app.request("get_latency_stats", { hours: this.hours });
    this.app.request("get_latency_histogram", { hours: this.hours });
  }

  render() {
    const d = this.stats;
    if (!d) {
      this.destroyChart();
      replace(this.body, waiting("finished transfers"));
      return;
    }
    const stats = d.statistics || {};
    const measured = CATEGORIES.reduce((a, [k]) => a + count(stats[k]), 0);
    if (!measured) {
      this.destroyChart();
      const missing = missingDurations(d);
      replace(this.body, missing > 0 || d.debug_required || d.status === "no durations"
        ? needsDebug()
        : empty("Waiting for data", "No finished transfers with a duration in this window yet.", "waiting"));
      return;
    }
    if (!this.chart) this.layout();
    this.renderTable(stats, d);
    this.renderSlow(d.slow_operations || []);
    this.renderHistogram();
  }

  layout() {
    this.tableEl = h("div", { dataset: { testid: "latency-table" } });
    this.noteEl = h("div", { class: "kpi-sub" });
    this.histTitle = h("span", { class: "card-note" });
    const histBox = h("div", { class: "chart", dataset: { testid: "latency-histogram" } });
    this.slowEl = h("div", { dataset: { testid: "slow-operations" } });
    replace(this.body,
      this.tableEl,
      this.noteEl,
      sectionTitle("Distribution", this.histTitle),
      histBox,
      sectionTitle("Slowest operations"),
      this.slowEl);
    this.chart = new Chart(histBox, (p) => ({
      series: [
        { value: (u, v) => (isNum(v) ? `≥ ${ms(v)}` : "—") },
        { label: "Operations", stroke: p.accent, fill: `${p.accent}99`, paths: bars(), points: { show: false },
          value: (u, v) => (isNum(v) ? num(v) : "—") },
      ],
      scales: { x: { time: false } },
      axes: [
        { values: (u, vals) => vals.map((v) => ms(v)), size: 32 },
        { size: 44, values: (u, vals) => vals.map((v) => tick(v)) },
      ],
    }), { height: 150 });
  }

  destroyChart() {
    if (this.chart) this.chart.destroy();
    this.chart = null;
  }

  renderTable(stats, d) {
    const rows = CATEGORIES.filter(([k]) => stats[k]).map(([k, label]) => {
      const s = stats[k];
      const n = count(s);
      if (!n) return [label, "0", "—", "—", "—", "—"];
      return [
        label,
        { text: compact(n), value: n },
        { text: ms(s.p50), class: "", value: s.p50 },
        { text: ms(s.p95), class: this.app.tone("latency", s.p95) && "warn", value: s.p95 },
        { text: ms(s.p99), class: this.app.tone("latency", s.p99), value: s.p99 },
        { text: ms(s.max), value: s.max },
      ];
    });
    replace(this.tableEl, table(
      [{ label: "Category" }, { label: "Ops" }, { label: "p50" }, { label: "p95" }, { label: "p99" }, { label: "max", class: "hide-narrow" }],
      rows,
      { testid: "latency-percentiles" }));
    const missing = missingDurations(d);
    const source = d.duration_source || d.duration_sources;
    const parts = [];
    if (typeof source === "string") parts.push(`durations from ${source}`);
    else if (source && typeof source === "object") {
      const used = Object.entries(source).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
      if (used.length) {
        parts.push(`durations from ${used.map(([k, v]) => `${SOURCE_NAMES[k] || k} (${compact(v)})`).join(", ")}`);
      }
    }
    if (d.resolution_ms >= 1000) parts.push("±1 s resolution");
    if (missing > 0) parts.push(`${num(missing)} operations without a start line`);
    replace(this.noteEl, parts.join(" · "));
  }

  renderSlow(slow) {
    if (!slow.length) {
      replace(this.slowEl, empty("No slow operations", "Nothing above the slow-operation threshold in this window.", "no-slow"));
      return;
    }
    replace(this.slowEl, table(
      [{ label: "Time" }, { label: "Action" }, { label: "Duration" }, { label: "Status" }, { label: "Satellite", class: "hide-narrow" }, { label: "Piece", class: "hide-narrow" }],
      slow.slice(0, 10).map((op) => [
        clock(op.timestamp),
        op.action,
        { text: ms(op.duration_ms), class: this.app.tone("latency", op.duration_ms) || "warn" },
        { text: op.status, class: op.status === "success" ? "" : "bad" },
        satelliteName(op.satellite_id),
        { text: shortId(op.piece_id, 12), class: "mono", title: op.piece_id || "" },
      ]),
      { testid: "slow-table" }));
  }

  renderHistogram() {
    if (!this.chart || !this.histogram) return;
    const m = this.histogram;
    const bucketMs = m.bucket_size_ms || (m.data && m.data.bucket_size_ms) || 100;
    let buckets = histogramBuckets(m.data, bucketMs).sort((a, b) => a.lo - b.lo);
    // Keep the body of the distribution readable: cut the long tail at the 99.5th percentile.
    const total = buckets.reduce((a, b) => a + b.count, 0);
    let acc = 0;
    const cut = buckets.findIndex((b) => (acc += b.count) >= total * 0.995);
    const tail = cut >= 0 ? buckets.slice(cut + 1).reduce((a, b) => a + b.count, 0) : 0;
    if (cut >= 0) buckets = buckets.slice(0, cut + 1);
    this.histTitle.textContent = `${num(total)} ops · ${ms(bucketMs)} buckets${tail ? ` · ${num(tail)} slower not shown` : ""}`;
    this.chart.setData([buckets.map((b) => b.lo), buckets.map((b) => b.count)]);
  }
}
