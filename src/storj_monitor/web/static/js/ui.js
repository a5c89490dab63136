// Small building blocks shared by the cards: empty states, KPI tiles, segmented controls,
// tables. All built with dom.h, so every value lands as text.

import { h } from "./dom.js";
import { levelOf, TONES } from "./format.js";

/** An empty state: a title that says what is missing and a hint that says what to do. */
export function empty(title, hint = "", kind = "") {
  return h("div", { class: ["empty", kind], dataset: { empty: kind || "none" } },
    h("div", { class: "empty-title" }, title),
    hint ? h("div", { class: "empty-hint" }, hint) : null);
}

export const waiting = (what = "data") =>
  empty("Waiting for data", `The monitor has not seen any ${what} for this view yet.`, "waiting");

export const noApi = () =>
  empty("No API for this node",
    "Give the node's dashboard API (…:http://host:14002) to see storage and reputation.", "no-api");

export const needsDebug = () =>
  empty("N/A — enable DEBUG log level",
    "Transfer durations need the DEBUG \"upload started\"/\"download started\" lines (log.level: debug).",
    "needs-debug");

/** A KPI tile. tone: "", "good", "warn", "bad". */
export function kpi(label, value, sub = "", tone = "", testid = "") {
  return h("div", { class: ["kpi", tone], dataset: testid ? { testid } : undefined },
    h("div", { class: "kpi-label" }, label),
    h("div", { class: "kpi-value", dataset: { value: "" } }, value),
    sub ? h("div", { class: "kpi-sub" }, sub) : null);
}

/**
 * A segmented control inside `container`: options [{value, label}], calls onChange(value).
 * Returns {set(value)}.
 */
export function segmented(container, options, selected, onChange) {
  const buttons = options.map((o) =>
    h("button", {
      type: "button",
      "aria-pressed": String(o.value === selected),
      dataset: { value: String(o.value) },
      on: { click: () => { set(o.value); onChange(o.value); } },
    }, o.label));
  function set(value) {
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.value === String(value)));
  }
  container.replaceChildren(...buttons);
  return { set };
}

/** A table: columns [{label, class?}], rows of cells (string | Node | {text, class}). */
export function table(columns, rows, { testid = "" } = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.class, scope: "col" }, c.label)));
  const body = rows.map((cells) =>
    h("tr", {}, cells.map((cell, i) => {
      const cls = columns[i] && columns[i].class;
      if (cell instanceof Node) return h("td", { class: cls }, cell);
      if (cell && typeof cell === "object") {
        const dataset = cell.value !== undefined && cell.value !== null ? { value: String(cell.value) } : undefined;
        return h("td", { class: [cls, cell.class], title: cell.title, dataset }, cell.text);
      }
      return h("td", { class: cls }, cell);
    })));
  return h("div", { class: "table-wrap" },
    h("table", { class: "data", dataset: testid ? { testid } : undefined }, h("thead", {}, head), h("tbody", {}, body)));
}

export function sectionTitle(text, right = null) {
  if (!right) return h("div", { class: "section-title" }, text);
  return h("div", { class: "chart-title" }, h("div", { class: "section-title" }, text), right);
}

/** Tone for a success rate in percent against its row of the threshold table
 * (init.thresholds.success_rate / audit_success_rate): "good", "warn", "bad", or "". */
export function rateTone(rate, threshold) {
  const level = levelOf(threshold, rate);
  if (level === "unknown") return "";
  return level === "ok" ? "good" : TONES[level];
}
