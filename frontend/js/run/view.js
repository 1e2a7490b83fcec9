// The run view: header, charts, heatmap grid, step slider, schedule editor and sample
// inspector of one run, fed by its event stream (history first, then live).

import { api } from "../core/api.js";
import { Charts } from "./charts/charts.js";
import { DefenceView } from "./charts/defenceview.js";
import { h, fill } from "../core/dom.js";
import { RunHeader } from "./header.js";
import { defendedStep, modelAt, stageContext } from "./stage.js";
import { HeatmapGrid } from "./heatmaps/grid.js";
import { Inspector } from "./inspector.js";
import { KindLosses } from "./charts/kindlosses.js";
import { MonitorPrice } from "./monitorprice.js";
import { PathChart } from "./charts/path.js";
import { RunModel, markSkipped } from "./model.js";
import { PrepPanel } from "./prepare.js";
import { ScheduleEditor } from "./schedule.js";
import { Scrubber } from "./scrubber.js";
import { RunStream } from "../core/stream.js";
import { TriggeredChart } from "./charts/triggered.js";

export class RunView {
  constructor(root, runId) {
    this.root = root;
    this.runId = runId;
    this.parts = [];
    this.cleanups = []; // from onDestroy
    fill(root, h("p.loading", "Loading the run…"));
    this.ready = this.start().catch((err) => this.fail(err));
  }

  fail(err) {
    const gone = err.status === 404;
    fill(
      this.root,
      h(
        "div.notice.error",
        h("h2", gone ? "No such run" : "The run could not be shown"),
        h("p", gone ? `Run ${this.runId} does not exist (it may have been deleted). Pick a run from the list, or start a new one.` : err.message),
        h("p", h("a.button.primary", { href: "#/new" }, "New run")),
      ),
    );
  }

  async start() {
    const [run, options] = await Promise.all([api.getRun(this.runId), api.options()]);
    if (this.closed) return;
    const model = (this.model = new RunModel(run));
    const header = h("section.card.run-head");
    const prep = h("section.card.prep-card#prep", { "aria-label": "Preparation of the run" });
    const charts = h("div.charts-col");
    // The secondary charts: a defence's own losses, the backdoor-connected path, where the
    // triggered images go, then the defence's pictures; a row of their own under the three
    // charts above (which keep their size), each card shown once it has something.
    const extras = h("div.defence-row");
    const grid = h("section.card.grid-card", { "aria-label": "Heatmaps of the probe samples" });
    const defence = h("section.card.defence-card#defence", { "aria-label": "Defence view" });
    const scrub = h("div.scrub-bar", { role: "group", "aria-label": "Step shown" });
    const schedule = h("section.card.schedule-card#schedule");
    this.banner = h("div.conn-banner", { role: "alert", hidden: true });
    fill(
      this.root,
      h(
        "div.run-view",
        header,
        this.banner,
        prep,
        h(
          "div.run-body",
          charts,
          extras,
          h(
            "div.grid-col",
            grid,
          ),
        ),
        scrub,
        schedule,
      ),
    );
    grid.prepend(
      h(
        "header.card-head",
        h("h3", "What the model looks at"),
        h("span.muted.small-note", "Grad-CAM of each probe sample, with the trigger and clean: before unlearning, now, and what changed. Click one to enlarge it."),
      ),
    );
    this.inspector = new Inspector(document.body, model);
    const attack = (options.attack_kinds || []).find((a) => a.kind === model.config?.attack?.kind);
    this.header = new RunHeader(header, model, { onInspect: (i) => this.inspector.open(i), attackLabel: attack?.label || "" });
    header.querySelector(".actions")?.append(
      h("a.button.ghost#compare-with", { href: `#/compare/${encodeURIComponent(model.id)}`, title: "Pick other runs to compare this one with" }, "Compare with…"),
    );
    this.prep = new PrepPanel(prep, model);
    this.charts = new Charts(charts, model);
    this.kindLosses = new KindLosses(extras, model);
    this.path = new PathChart(extras, model);
    this.triggered = new TriggeredChart(extras, model);
    extras.append(defence); // after the secondary charts, above the heatmaps
    this.defence = new DefenceView(defence, model);
    this.grid = new HeatmapGrid(grid, model, { onInspect: (i) => this.inspector.open(i) });
    // The backdoor-fires line is the story's "how we know": shown in the header's strip,
    // above the fold, and kept up to date by the grid (the frames it draws).
    this.header.story.adoptFires(this.grid.tools.firesLine);
    this.grid.tools.stepWords = (step) => modelAt(step, stageContext(model)).label;
    this.grid.defendedStep = () => {
      const ctx = stageContext(model);
      return defendedStep(ctx.schedule, ctx.phases, ctx.isAttack);
    };
    this.scrubber = new Scrubber(scrub, model, { onSeek: (step) => this.seek(step) });
    this.schedule = new ScheduleEditor(schedule, model, options.run_config_schema);
    this.parts = [this.header, this.prep, this.charts, this.kindLosses, this.path, this.triggered, this.grid, this.defence, this.scrubber, this.schedule, this.inspector];
    this.parts.push(new MonitorPrice(header, model)); // the live monitor's price, in the header
    this.stream = new RunStream(model.id, {
      onEvent: (e) => model.apply(e),
      onSkipped: (notice) => markSkipped(model, notice),
      onState: (state, info) => this.connection(state, info),
    });
    this.stream.start();
  }

  seek(step) {
    this.charts.setCursor(step);
    this.path.setCursor(step);
    this.triggered.setCursor(step);
    this.grid.show(step);
    this.header.setCursor(step);
  }

  connection(state, info) {
    const m = this.model;
    if (state === "ended" && info.status && info.status !== m.status) {
      // An ended run's row has the last word (e.g. "interrupted", which has no event).
      m.status = info.status;
      m.notify({ type: "run_row" });
    }
    this.header.setConnection(state, info);
    this.scrubber.setStale(state === "reconnecting");
    this.root.querySelector(".run-view")?.classList.toggle("stale", state === "reconnecting");
    if (state === "reconnecting") {
      this.banner.hidden = false;
      fill(
        this.banner,
        h("b", "Connection to the server lost. "),
        `Reconnecting by itself; what you see stops at step ${m.lastStep} and is not live until the gap is filled.`,
        " If this lasts, check that `unlearnscope serve` is still running.",
      );
    } else if (state === "gone") {
      this.banner.hidden = false;
      fill(this.banner, h("b", "This run was deleted. "), "Pick another run from the list, or start a new one.");
    } else {
      this.banner.hidden = true;
    }
  }

  /** A newer row of this run from the run list. */
  runUpdate(run) {
    // While the stream is connected its events carry the status, in order.
    const streaming = ["history", "live"].includes(this.stream?.state);
    this.model?.updateRun(run, { status: !streaming });
  }

  /** Call `fn` when the view goes away (at once when it already has). */
  onDestroy(fn) {
    if (this.closed) fn();
    else this.cleanups.push(fn);
  }

  destroy() {
    this.closed = true;
    this.stream?.close();
    this.parts.forEach((p) => p.destroy());
    this.cleanups.forEach((fn) => fn());
  }
}
