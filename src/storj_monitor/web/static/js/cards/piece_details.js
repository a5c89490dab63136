// Piece details of the Traffic card: how big the transferred pieces are (successful operations
// per size bucket, downloads against uploads) and the most requested pieces.
//
// Data: `size_buckets` and `top_pieces` of `traffic_stats`. They come from raw events, so they
// cover the *details window* (`details_start` .. `end`, `details_window_hours`): at most the
// last 24 h, the newest operations only on a very busy node, and nothing older than
// EVENTS_DETAIL_HOURS (init's `settings.events_detail_hours`), past which raw rows are thinned.
// The section always says which window it shows.

import { h, replace, svg } from "../dom.js";
import { ago, bytes, compact, dateTime, detailsReason, hoursLabel, isNum, num, satelliteName, shortId } from "../format.js";
import { empty, sectionTitle, table } from "../ui.js";

const TOP_PIECES = 8;

/** "last 1 h", plus a note when the details cover less than the window asked for. */
export function detailsLabel(data, askedHours, detailHours) {
  const w = data && data.details_window_hours;
  if (!isNum(w)) return { text: "", title: "" };
  const since = data.details_start ? `since ${dateTime(data.details_start)}` : "";
  if (w > 0 && isNum(askedHours) && w < askedHours * 0.98) {
    return {
      text: `last ${hoursLabel(w)} of ${hoursLabel(askedHours)}`,
      title: `Per-piece details: ${detailsReason(w, detailHours)} (${since}); the totals above cover ${hoursLabel(askedHours)}.`,
    };
  }
  return { text: w > 0 ? `last ${hoursLabel(w)}` : "", title: since };
}

export class PieceDetails {
  constructor(app) {
    this.app = app;
    this.el = h("div", { class: "piece-details", dataset: { testid: "piece-details" } });
    this.shown = undefined; // the data object last drawn (redraw only on new data)
  }

  /** Draw `data` (a `traffic_stats` payload, or null while it is on its way). */
  render(data, askedHours) {
    if (data === this.shown) return;
    this.shown = data;
    const label = detailsLabel(data, askedHours, this.app.settings.events_detail_hours);
    const head = sectionTitle("Piece details",
      h("span", { class: "card-note", title: label.title || null, dataset: { testid: "details-window" } }, label.text));
    if (!data) {
      replace(this.el, head, h("div", { class: "kpi-sub" }, "Loading piece details…"));
      return;
    }
    if (!isNum(data.details_window_hours) || data.details_window_hours <= 0) {
      const n = this.app.settings.events_detail_hours;
      replace(this.el, head, empty("No piece details for this window",
        `Piece sizes and the most requested pieces exist only for the last ${isNum(n) ? hoursLabel(n) : "day"} `
        + "(EVENTS_DETAIL_HOURS); older operations are kept as totals.", "no-details"));
      return;
    }
    const span = label.text || "this window";
    replace(this.el, head, h("div", { class: "two-col" },
      h("div", { dataset: { testid: "size-buckets" } }, this.sizes(data.size_buckets || [], span)),
      h("div", { dataset: { testid: "top-pieces" } }, this.pieces(data.top_pieces || [], span))));
  }

  sizes(buckets, span) {
    const title = h("div", { class: "sub-title" }, "Piece sizes",
      h("span", { class: "legend-row sz-legend" },
        h("span", {}, h("span", { class: "sw get" }), "downloads"),
        h("span", {}, h("span", { class: "sw put" }), "uploads")));
    const max = Math.max(0, ...buckets.map((b) => Math.max(b.get || 0, b.put || 0)));
    if (!max) {
      return [title, empty("No transfer sizes",
        `No successful download or upload with a size was logged in the ${span}.`, "no-sizes")];
    }
    const bar = (kind, n) => h("span", { class: ["sz-bar", kind] }, h("span", { style: { width: `${(n / max) * 100}%` } }));
    return [title, h("ul", { class: "size-list" }, buckets.map((b) =>
      h("li", {
        dataset: { bucket: b.bucket, get: String(b.get || 0), put: String(b.put || 0) },
        title: `${b.bucket}: ${num(b.get || 0)} downloads, ${num(b.put || 0)} uploads, `
          + `${num(b.audit || 0)} audits, ${num(b.repair || 0)} repairs (successful)`,
      },
      h("span", { class: "sz-label" }, b.bucket),
      h("span", { class: "sz-bars" }, bar("get", b.get || 0), bar("put", b.put || 0)),
      h("span", { class: "sz-value" }, `${compact(b.get || 0)} / ${compact(b.put || 0)}`))))];
  }

  pieces(pieces, span) {
    const title = h("div", { class: "sub-title" }, "Most requested pieces");
    if (!pieces.length) {
      return [title, empty("No downloads", `No piece was downloaded, audited or repaired in the ${span}.`, "no-pieces")];
    }
    const copyable = Boolean(navigator.clipboard && window.isSecureContext);
    return [title, table(
      [
        { label: "Piece" },
        { label: "Satellite", class: "hide-narrow" },
        { label: "Requests" },
        { label: "OK" },
        { label: "Egress" },
        { label: "Last seen" },
      ],
      pieces.slice(0, TOP_PIECES).map((p) => [
        h("span", { class: "piece", dataset: { piece: p.piece_id } },
          h("code", { class: "mono", title: p.piece_id }, shortId(p.piece_id, 8)),
          copyable ? this.copyButton(p.piece_id) : null),
        { text: satelliteName(p.satellite_id), title: p.satellite_id || "" },
        { text: num(p.count), value: p.count },
        { text: num(p.successful), value: p.successful, class: p.successful < p.count ? "warn" : "" },
        { text: bytes(p.egress_bytes), value: p.egress_bytes },
        { text: ago(p.last_seen), title: dateTime(p.last_seen) },
      ]),
      { testid: "top-pieces-table" })];
  }

  copyButton(id) {
    const btn = h("button", {
      type: "button", class: "copy-btn", title: "Copy the piece ID", "aria-label": `Copy piece ID ${id}`,
      on: {
        click: () => {
          navigator.clipboard.writeText(id).then(() => {
            btn.dataset.copied = "yes";
            btn.title = "Copied";
            setTimeout(() => { delete btn.dataset.copied; btn.title = "Copy the piece ID"; }, 1500);
          }, () => { btn.title = "Copying failed"; });
        },
      },
    }, copyIcon());
    return btn;
  }
}

/** Two overlapping sheets (no icon font: the glyph is missing from many system fonts). */
function copyIcon() {
  return svg("svg", { viewBox: "0 0 16 16", width: "12", height: "12", "aria-hidden": "true" },
    svg("rect", { x: "5", y: "5", width: "9", height: "9", rx: "1.5", fill: "none", stroke: "currentColor", "stroke-width": "1.5" }),
    svg("path", { d: "M3 11H2.5A1 1 0 0 1 1.5 10V2.5A1 1 0 0 1 2.5 1.5H10A1 1 0 0 1 11 2.5V3", fill: "none", stroke: "currentColor", "stroke-width": "1.5" }));
}
