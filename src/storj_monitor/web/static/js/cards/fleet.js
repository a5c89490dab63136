// Fleet card ("All nodes" view only): one row per node from `fleet_status` — status, version,
// uptime, disk, the lowest reputation score and its satellite, success rates, open alerts and
// this month's net earnings. Click a column header (or focus it and press Enter/Space) to sort;
// again to reverse. Unknown values sort last either way. A node's name switches to its view.

import { h, replace } from "../dom.js";
import { DASH, days, isNum, pct, satelliteName } from "../format.js";
import { uptime, versionText } from "../identity.js";
import { rateTone, waiting } from "../ui.js";
import { AGGREGATE, every, sameView } from "../app.js";

const STATUS_RANK = { critical: 3, warning: 2, ok: 1 };
const STATUS_TONE = { critical: "bad", warning: "warn", ok: "good" };

/** "1.160.3" -> a number that sorts versions (each part up to 9999). */
function versionKey(v) {
  if (typeof v !== "string") return null;
  const parts = v.split(/[.-]/).slice(0, 3).map((x) => parseInt(x, 10));
  if (parts.some((x) => Number.isNaN(x))) return null;
  while (parts.length < 3) parts.push(0);
  return parts.reduce((acc, x) => acc * 10000 + Math.min(x, 9999), 0);
}

function rateCell(rate, threshold) {
  return { text: isNum(rate) ? pct(rate, 1) : DASH, class: rateTone(rate, threshold), value: rate };
}

export class FleetCard {
  constructor(app, section) {
    this.app = app;
    this.section = section;
    this.body = section.querySelector("[data-body]");
    this.note = section.querySelector("#fleet-note");
    this.rows = null;
    this.sort = { key: "status", dir: -1 }; // worst first
    this.columns = this.makeColumns();
    app.ws.on("fleet_status", (m) => {
      if (!sameView(app, m)) return;
      this.rows = Array.isArray(m.data) ? m.data.filter((r) => r && typeof r.node_name === "string") : [];
      this.render();
    });
    app.onView(() => {
      this.viewChanged();
      if (this.rows) this.refresh(); // back on "All nodes": fresh rows (viewChanged asks when none)
    });
    app.onNodes(() => this.viewChanged());
    every(app, 30000, () => this.refresh());
    this.viewChanged();
  }

  shown() {
    return this.app.view.includes(AGGREGATE) && this.app.nodes.length > 1;
  }

  viewChanged() {
    const shown = this.shown();
    this.section.hidden = !shown;
    if (shown && !this.rows) this.refresh();
    this.render();
  }

  refresh() {
    if (this.shown()) this.app.request("get_fleet_status");
  }

  makeColumns() {
    const app = this.app;
    return [
      { key: "node", label: "Node", sort: (r) => r.node_name.toLowerCase(), class: "fleet-node",
        cell: (r) => h("button", { type: "button", class: "link-btn", title: `Show ${r.node_name} only`,
          on: { click: () => app.setView([r.node_name]) } }, r.node_name) },
      { key: "status", label: "Status", sort: (r) => STATUS_RANK[r.status] ?? 0,
        cell: (r) => h("span", {},
          h("span", { class: ["pill", STATUS_TONE[r.status] || ""], dataset: { testid: "fleet-status" } }, r.status || "unknown"),
          r.api_state === "down" ? h("span", { class: "muted" }, " API down") : null) },
      { key: "version", label: "Version", sort: (r) => versionKey(r.version),
        cell: (r) => r.version
          ? h("span", { title: versionText(r.identity) }, `v${r.version}`,
            r.up_to_date === false ? h("span", { class: "pill warn", style: { "margin-left": "4px" } }, "outdated")
              : r.up_to_date === true ? h("span", { class: "pill good", style: { "margin-left": "4px" } }, "✓") : null)
          : DASH },
      { key: "uptime", label: "Uptime", sort: (r) => r.uptime_seconds,
        cell: (r) => ({ text: uptime(r.uptime_seconds), title: r.started_at ? `started ${r.started_at}` : "", value: r.uptime_seconds }) },
      { key: "disk", label: "Disk used", sort: (r) => r.used_percent,
        cell: (r) => ({ text: isNum(r.used_percent) ? pct(r.used_percent, 1) : DASH, class: app.tone("disk_usage", r.used_percent), value: r.used_percent }) },
      { key: "full", label: "Full in", sort: (r) => r.days_until_full,
        cell: (r) => ({ text: isNum(r.days_until_full) ? days(r.days_until_full) : DASH, class: app.tone("disk_forecast", r.days_until_full), value: r.days_until_full }) },
      { key: "score", label: "Lowest score", sort: (r) => r.lowest_score?.value,
        cell: (r) => {
          const s = r.lowest_score;
          if (!s) return DASH;
          return { text: `${s.value.toFixed(s.value >= 99.995 ? 0 : 2)} % ${s.kind} · ${satelliteName(s.satellite_id, s.satellite_name)}`,
            class: app.tone(`${s.kind}_score`, s.value), title: s.satellite_id || "", value: s.value };
        } },
      { key: "dl", label: "Download", sort: (r) => r.success_rates?.download, cell: (r) => rateCell(r.success_rates?.download, app.thresholds.success_rate) },
      { key: "ul", label: "Upload", sort: (r) => r.success_rates?.upload, cell: (r) => rateCell(r.success_rates?.upload, app.thresholds.success_rate) },
      { key: "audit", label: "Audit", sort: (r) => r.success_rates?.audit, cell: (r) => rateCell(r.success_rates?.audit, app.thresholds.audit_success_rate) },
      { key: "alerts", label: "Alerts", sort: (r) => r.open_alerts,
        cell: (r) => r.open_alerts
          ? h("span", { class: ["pill", r.worst_alert_severity === "critical" ? "bad" : r.worst_alert_severity === "warning" ? "warn" : "info"] }, String(r.open_alerts))
          : "0" },
      { key: "earned", label: "Earned (month)", sort: (r) => r.earnings_net_usd,
        cell: (r) => ({ text: isNum(r.earnings_net_usd) ? `$${r.earnings_net_usd.toFixed(2)}` : DASH, value: r.earnings_net_usd,
          title: isNum(r.earnings_net_usd) ? "net this month so far (USD)" : "no earnings data" }) },
    ];
  }

  setSort(key) {
    this.sort = this.sort.key === key ? { key, dir: -this.sort.dir } : { key, dir: key === "node" ? 1 : -1 };
    this.render();
    const again = this.body.querySelector(`th[data-key="${key}"] button`);
    if (again) again.focus();
  }

  sorted() {
    const col = this.columns.find((c) => c.key === this.sort.key) || this.columns[0];
    const byName = (a, b) => a.node_name.localeCompare(b.node_name);
    return [...this.rows].sort((a, b) => {
      const x = col.sort(a), y = col.sort(b);
      const xn = x === null || x === undefined, yn = y === null || y === undefined;
      if (xn || yn) return xn && yn ? byName(a, b) : xn ? 1 : -1; // unknown last
      if (x < y) return -this.sort.dir;
      if (x > y) return this.sort.dir;
      return byName(a, b);
    });
  }

  render() {
    if (!this.shown()) return;
    if (!this.rows) {
      replace(this.body, waiting("nodes"));
      return;
    }
    const bad = this.rows.filter((r) => r.status === "critical").length;
    const warn = this.rows.filter((r) => r.status === "warning").length;
    this.note.textContent = `${this.rows.length} nodes · ${bad} critical · ${warn} warning`;
    const head = h("tr", {}, this.columns.map((c) => {
      const active = this.sort.key === c.key;
      const dir = active ? (this.sort.dir > 0 ? "ascending" : "descending") : "none";
      return h("th", { scope: "col", "aria-sort": dir, dataset: { key: c.key }, class: c.class },
        h("button", { type: "button", class: "sort-btn", on: { click: () => this.setSort(c.key) } },
          c.label, h("span", { class: "sort-mark", "aria-hidden": "true" }, active ? (this.sort.dir > 0 ? " ▲" : " ▼") : "")));
    }));
    const body = this.sorted().map((r) => h("tr", { dataset: { node: r.node_name } }, this.columns.map((c) => {
      const cell = c.cell(r);
      if (cell instanceof Node) return h("td", { class: c.class }, cell);
      if (cell && typeof cell === "object") {
        const dataset = isNum(cell.value) ? { value: String(cell.value) } : undefined;
        return h("td", { class: [c.class, cell.class], title: cell.title || null, dataset }, cell.text);
      }
      return h("td", { class: c.class }, cell);
    })));
    replace(this.body, h("div", { class: "table-wrap fleet-wrap" },
      h("table", { class: "data fleet", dataset: { testid: "fleet-table" } },
        h("caption", { class: "sr-only" }, "Nodes; the column headers sort the table"),
        h("thead", {}, head), h("tbody", {}, body))));
  }
}
