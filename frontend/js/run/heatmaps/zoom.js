// A probe enlarged: its before / now / change cells, clean and with the trigger, drawn big
// with the pixel grid visible (no smoothing), and a way on to the sample inspector.

import { h, fill } from "../../core/dom.js";
import { COLUMNS, VARIANTS, colTitle, probeCells } from "./cells.js";

export class HeatZoom {
  constructor(grid, { onInspect }) {
    this.grid = grid;
    this.onInspect = onInspect;
    this.probe = null;
    this.title = h("h3#zoom-title");
    this.body = h("div.zoom-body");
    this.inspect = h("button.secondary#zoom-inspect", { type: "button", onclick: () => this.toInspector() }, "Inspect this sample in detail…");
    this.dialog = h(
      "dialog.zoom#heat-zoom",
      { "aria-labelledby": "zoom-title", onclick: (e) => e.target === this.dialog && this.close() },
      h("header.zoom-head", this.title, h("div.head-actions", this.inspect, h("button.ghost", { type: "button", onclick: () => this.close() }, "Close"))),
      this.body,
      h("p.muted.zoom-note", "One square is one pixel of the model's input. Change: blue where attention left, orange where it arrived."),
    );
    this.dialog.addEventListener("close", () => (this.probe = null));
    document.body.append(this.dialog);
  }

  open(p) {
    const card = this.grid.cards[p];
    if (!card) return;
    this.probe = p;
    this.title.textContent = `Test sample #${card.index}`;
    this.cells = probeCells(card.index, () => {});
    fill(
      this.body,
      h(
        "div.cmp.zoom-cmp",
        COLUMNS.map((col) => h(`div.cmp-head.cmp-${col}`, colTitle(col))),
        VARIANTS.map(([variant, title]) => [h("div.cmp-row-head", title), COLUMNS.map((col) => this.cells[variant][col].button)]),
      ),
    );
    if (!this.dialog.open) this.dialog.showModal();
    this.refresh();
  }

  /** Redraw with the grid's current frames (the run goes on while it is open). */
  refresh() {
    if (this.probe === null) return;
    const g = this.grid;
    const frame = g.ready(g.frameAt(g.step));
    const before = g.ready(g.model.frames.get(0) || g.frameAt(0));
    if (frame) g.paint(this.probe, this.cells, frame, before);
    // paint() also writes the grid card's TAR line, which is the same text.
  }

  toInspector() {
    const card = this.grid.cards[this.probe];
    this.close();
    if (card) this.onInspect(card.index);
  }

  close() {
    if (this.dialog.open) this.dialog.close();
    this.probe = null;
  }

  destroy() {
    this.close();
    this.dialog.remove();
  }
}
