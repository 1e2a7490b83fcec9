// What the run page's secondary chart cards share (the path, where triggered images go):
// the plot follows its card's width, the slider's step moves a cursor, and a closed view
// lets go of its plot and its subscription (each card sets `this.unsubscribe`).

/* global Plotly */

export class PlotCard {
  /** Call once `this.el` (the card) and `this.plot` exist: the plot follows the card's
   * width, not only the window's (the row's cards come and go). */
  followWidth() {
    if (typeof ResizeObserver === "undefined") return;
    this.observer = new ResizeObserver(() => this.drawn && !this.el.hidden && Plotly.Plots.resize(this.plot));
    this.observer.observe(this.plot);
  }

  destroy() {
    this.closed = true;
    this.unsubscribe();
    this.observer?.disconnect();
    if (this.drawn) Plotly.purge(this.plot);
  }

  setCursor(step) {
    this.cursor = step;
    this.render();
  }
}
