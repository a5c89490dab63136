// Node identity (node objects' `identity`, `started_at`, `uptime_seconds`): words for a chip's
// title, the fleet table, and the line under the top bar in a single-node view.

import { h, replace } from "./dom.js";
import { ago, isNum, shortId } from "./format.js";

/** Seconds as "12 d 4 h", "3 h 20 min", "7 min"; "—" when unknown. */
export function uptime(seconds) {
  if (!isNum(seconds)) return "—";
  const d = Math.floor(seconds / 86400), hh = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d ? `${d} d ${hh} h` : hh ? `${hh} h ${m} min` : `${m} min`;
}

/** "v1.160.3 (up to date)", "v1.150.0 (outdated, minimum 1.155.0)", or "". */
export function versionText(identity) {
  if (!identity || !identity.version) return "";
  const v = `v${identity.version}`;
  if (identity.up_to_date === true) return `${v} (up to date)`;
  if (identity.up_to_date === false) {
    return identity.allowed_version ? `${v} (outdated, minimum v${identity.allowed_version})` : `${v} (outdated)`;
  }
  return v;
}

/** Short phrases describing a node's identity, for a title attribute. */
export function identityParts(node) {
  const id = node && node.identity;
  const parts = [];
  if (id && id.node_id) parts.push(`ID ${id.node_id}`);
  const v = versionText(id);
  if (v) parts.push(v);
  if (node && isNum(node.uptime_seconds)) parts.push(`up ${uptime(node.uptime_seconds)}`);
  if (id && id.quic_status) parts.push(`QUIC ${id.quic_status}`);
  if (id && id.last_contact) parts.push(`last contact ${ago(id.last_contact)}`);
  if (id) parts.push(id.source === "log" ? "from the log" : "from the node API");
  return parts;
}

/** The identity line of a single-node view (hidden otherwise). */
export function renderIdentityLine(el, node) {
  const id = node && node.identity;
  if (!node || (!id && !isNum(node.uptime_seconds))) {
    el.hidden = true;
    replace(el);
    return;
  }
  el.hidden = false;
  const item = (label, value, extra = {}) =>
    h("span", { class: "ident-item", ...extra }, h("span", { class: "muted" }, `${label} `), value);
  const upTone = id && id.up_to_date === false ? "warn" : id && id.up_to_date === true ? "good" : "";
  const quicTone = id && id.quic_status ? (/^ok$/i.test(id.quic_status) ? "good" : "warn") : "";
  replace(el,
    id && id.node_id ? item("Node ID", shortId(id.node_id, 14), { title: id.node_id, dataset: { testid: "ident-node-id" } }) : null,
    id && id.version ? item("Version", [`v${id.version}`,
      upTone ? h("span", { class: ["pill", upTone] }, id.up_to_date ? "up to date" : "outdated") : null],
    { dataset: { testid: "ident-version" }, title: versionText(id) }) : null,
    item("Uptime", uptime(node.uptime_seconds), { title: node.started_at ? `started ${node.started_at}` : "", dataset: { testid: "ident-uptime" } }),
    id && id.quic_status ? item("QUIC", h("span", { class: ["pill", quicTone] }, id.quic_status)) : null,
    id && id.last_contact ? item("Last contact", ago(id.last_contact), { title: id.last_contact }) : null,
    id ? h("span", { class: "ident-item muted" }, id.source === "log" ? "(from the log)" : "") : null);
}
