// The node picker: past a handful of nodes the chips collapse into a button that opens a
// searchable list. Keyboard: the button opens it and focuses the filter; ArrowDown/ArrowUp move
// through the matching nodes; Enter (or a click) shows one node, Shift+Enter (or shift-click)
// adds/removes it from the view; Escape closes and returns focus to the button.

import { h, replace } from "./dom.js";

export class NodePicker {
  /** onPick(name, additive): additive when Shift/Ctrl/Meta was held. */
  constructor(onPick) {
    this.onPick = onPick;
    this.nodes = [];
    this.selected = new Set();
    this.open = false;
    this.toggle = h("button", {
      class: "chip picker-toggle", type: "button", "aria-expanded": "false", "aria-controls": "node-picker",
      "aria-haspopup": "true", dataset: { testid: "picker-toggle" },
      on: { click: () => this.setOpen(!this.open) },
    });
    this.input = h("input", {
      type: "search", class: "picker-filter", placeholder: "Filter nodes…", "aria-label": "Filter nodes",
      autocomplete: "off", spellcheck: "false", dataset: { testid: "picker-filter" },
      on: {
        input: () => this.renderList(),
        keydown: (e) => {
          if (e.key === "ArrowDown") { e.preventDefault(); this.focusItem(0); }
          else if (e.key === "Enter") { e.preventDefault(); this.pickFirst(e.shiftKey || e.ctrlKey || e.metaKey); }
          else if (e.key === "Escape") { e.preventDefault(); this.setOpen(false, true); }
        },
      },
    });
    this.list = h("ul", { class: "picker-list", "aria-label": "Nodes", dataset: { testid: "picker-list" } });
    this.count = h("div", { class: "picker-count muted", "aria-live": "polite" });
    this.panel = h("div", { class: "picker-panel", id: "node-picker", hidden: true, role: "dialog", "aria-label": "Choose nodes" },
      this.input, this.count, this.list);
    this.el = h("div", { class: "picker" }, this.toggle, this.panel);
    // composedPath: the path at dispatch time (a click re-renders the list it landed on)
    document.addEventListener("click", (e) => {
      if (this.open && !e.composedPath().includes(this.el)) this.setOpen(false);
    });
  }

  update(nodes, selected) {
    this.nodes = nodes;
    this.selected = new Set(selected);
    const n = this.selected.size;
    replace(this.toggle, n ? `Nodes · ${n} of ${nodes.length} ▾` : `Choose nodes (${nodes.length}) ▾`);
    if (this.open) this.renderList();
  }

  setOpen(open, focusToggle = false) {
    this.open = open;
    this.panel.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      this.renderList();
      this.input.focus();
    } else if (focusToggle) {
      this.toggle.focus();
    }
  }

  matches() {
    const q = this.input.value.trim().toLowerCase();
    return this.nodes.filter((n) => !q || n.name.toLowerCase().includes(q)
      || (n.identity && typeof n.identity.node_id === "string" && n.identity.node_id.toLowerCase().startsWith(q)));
  }

  renderList() {
    const focused = this.list.contains(document.activeElement) ? document.activeElement.dataset.view : null;
    const items = this.matches();
    replace(this.count, `${items.length} of ${this.nodes.length} nodes`);
    replace(this.list, items.map((node) => h("li", {},
      h("button", {
        type: "button", class: "picker-item", "aria-pressed": String(this.selected.has(node.name)),
        dataset: { view: node.name }, title: node.title || node.name,
        on: {
          click: (e) => this.pick(node.name, e.shiftKey || e.ctrlKey || e.metaKey),
          keydown: (e) => this.itemKey(e),
        },
      }, h("span", { class: ["chip-dot", node.api_live ? "api" : node.has_api && "api-stale"], "aria-hidden": "true" }), node.name))));
    if (focused) {
      const again = [...this.list.querySelectorAll("button")].find((b) => b.dataset.view === focused);
      if (again) again.focus();
    }
  }

  buttons() {
    return [...this.list.querySelectorAll("button")];
  }

  focusItem(i) {
    const b = this.buttons();
    if (b.length) b[Math.max(0, Math.min(i, b.length - 1))].focus();
  }

  itemKey(e) {
    const b = this.buttons();
    const i = b.indexOf(e.currentTarget);
    if (e.key === "ArrowDown") { e.preventDefault(); this.focusItem(i + 1); }
    else if (e.key === "ArrowUp") {
      e.preventDefault();
      if (i <= 0) this.input.focus(); else this.focusItem(i - 1);
    } else if (e.key === "Enter" && (e.shiftKey || e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      this.pick(e.currentTarget.dataset.view, true);
    } else if (e.key === "Escape") { e.preventDefault(); this.setOpen(false, true); }
  }

  pickFirst(additive) {
    const first = this.matches()[0];
    if (first) this.pick(first.name, additive);
  }

  pick(name, additive) {
    this.onPick(name, additive);
    if (!additive) this.setOpen(false, true); // one node chosen: done; several: keep choosing
  }
}
