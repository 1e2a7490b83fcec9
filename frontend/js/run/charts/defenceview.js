// The defence view of a run: beside the heatmaps, what a defence phase shows of itself
// (PhaseVisualEvent, backend ml/phase_api.PhaseVisual), one tile per visual name with the
// latest event of that name. Generic: a tile draws an image (pixel-sharp, scaled up) with
// its scalars, and/or its named values as bars (a histogram when they are "edges" and
// "counts"), under a one-line caption saying what the picture is. Hidden until a phase
// sends a visual.

import { h, fill, perFrame } from "../../core/dom.js";
import { short } from "../../core/format.js";
import { anomalyChart, anomalyNote, drawTriggerPair, TRIGGER_NOTES } from "../defence/nc.js";
import { visualText } from "../defence/text.js";

/* global Plotly */

// What each known visual is, for people, by "kind:name" or name; an unknown name shows its
// own text only.
const CAPTIONS = {
  "qra:perturbation":
    "The reactivation attack's (QRA) perturbation: one small pattern that, added to triggered images, makes this model answer like a copy of it re-tuned on a few poisoned samples (the backdoor woken up) while clean images stay right. Grey is no change.",
  reactivation:
    "What the reactivation attack (QRA) did to this model, on the full test set. A high ASR with the perturbation, while the perturbation alone sends few clean images to the target, means the backdoor was only dormant; when clean images alone go to the target too, the perturbation is an adversarial example rather than a reactivation.",
  perturbation:
    "I-BAU's universal perturbation δ: the one pattern added to every clean image that most changes the model's predictions. Grey is no change; a backdoor tends to show up as a small bright spot where the trigger sits.",
  mask_histogram:
    "ANP's neuron mask values, 0 to 1: most neurons stay near 1 (kept as they are); those whose mask falls below the dotted cut flip predictions under a small weight perturbation, and get pruned.",
  recovered_trigger:
    "Neural Cleanse's reverse-engineered trigger: the smallest patch that sends clean images to one class. Where the run knows its attack, the true trigger is shown on the same test image to compare.",
  anomaly_index:
    "Neural Cleanse flags a class whose recovered trigger is abnormally small: its bar above the dotted line (index above 2 on the smaller side).",
  pruned: "Channels pruned so far, per layer.",
  search: "The detection phase passes the training set through the model, a share per step; at its end it decides which images are poisoned.",
  detection_scores:
    "How suspicious the detector finds each training image (right = more suspicious). When UnlearnScope planted the backdoor, the truly poisoned images are drawn orange and the clean ones blue; the detector itself never sees which is which.",
  suspects: "",
  class_test: "The detector judges each class first; only the images of a class judged poisoned can be flagged.",
};

// Titles other than the name's own words, by "kind:name" or name.
const TITLES = {
  "qra:perturbation": "Reactivation perturbation (QRA)",
  reactivation: "Reactivation (QRA)",
};

// Scalar labels by "name.key" (a key that means something else in another visual) or key.
const SCALAR_LABELS = {
  queries_asr: "triggered queries sent to the target",
  retuned_asr: "the re-tuned copy's ASR",
  clean_kept: "clean queries still right",
  epsilon: "ε (budget)",
  "reactivation.asr": "ASR with the perturbation",
  "reactivation.asr_without": "ASR without it",
  "reactivation.adversarial": "perturbation alone → target",
  l2_norm: "‖δ‖₂",
  linf_norm: "‖δ‖∞",
  round: "round",
  share_on_trigger: "δ energy on the trigger",
  trigger_area: "trigger area",
  iou: "IoU with the true trigger (or its mirror image)",
  mask_l1: "|m|₁ (mask size, pixels)",
  success: "stamped images sent to the class",
  cost: "λ (weight of the size)",
  "recovered_trigger.class": "class",
  "mask_histogram.threshold": "prune below",
  mean_mask: "mean mask",
  neurons: "neurons",
  median_norm: "median |m|₁",
  max_index: "largest index",
  anomaly_index: "anomaly index",
  pruned: "pruned channels",
  flagged: "flagged",
  training_images: "training images",
  true_flagged: "truly poisoned among the flagged",
  poisoned: "poisoned in the training set",
  precision: "precision",
  recall: "recall",
  auc: "ROC-AUC",
  threshold: "threshold",
  rule: "cut",
  searched: "searched",
  shown: "shown",
};

const SHARES = new Set(["share_on_trigger", "trigger_area", "iou", "precision", "recall"]);
// Already percentages (0-100).
const PERCENTS = new Set(["queries_asr", "retuned_asr", "clean_kept", "reactivation.asr", "reactivation.asr_without", "reactivation.adversarial"]);
const COUNTS = new Set(["flagged", "training_images", "true_flagged", "poisoned", "searched", "shown"]);

// What the bars' positions are ("labels" in the values: one number per bar), by visual name
// or "kind:name"; per-class visuals show the class names.
const X_TITLES = {
  mask_norms: "class",
  anomaly_index: "class",
  "anp:pruned": "layer (input → output)",
  "fineprune:pruned": "channels pruned",
  class_test: "class",
};

const title = (name) => name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
const titleOf = (e) => TITLES[`${e.kind}:${e.name}`] || TITLES[e.name] || title(e.name);
const scalarLabel = (e, key) => SCALAR_LABELS[`${e.name}.${key}`] || SCALAR_LABELS[key] || key.replace(/_/g, " ");

function scalarText(e, key, value) {
  if (value === null || value === undefined) return "–";
  if (PERCENTS.has(key) || PERCENTS.has(`${e.name}.${key}`)) return `${Number(value).toFixed(1)}%`;
  if (key === "success") return `${Number(value).toFixed(0)}%`;
  if (key === "epsilon") return `${short(Number(value))}/255`;
  if (SHARES.has(key)) return `${(100 * Number(value)).toFixed(1)}%`;
  if (COUNTS.has(key)) return Number(value).toLocaleString("en-US");
  if (key === "auc") return Number(value).toFixed(3);
  return short(Number(value));
}

export class DefenceView {
  constructor(root, model) {
    this.root = root;
    this.model = model;
    this.tiles = new Map(); // "kind:name" -> {el, canvas, scalars, caption, plot, step, seq}
    this.list = h("div.defence-tiles");
    root.append(
      h(
        "header.card-head",
        h("h3", "Defence view"),
        h("span.muted.small-note", "What the running defence computes about the backdoor, as it goes (the latest of each)."),
      ),
      this.list,
    );
    root.hidden = true;
    this.render = perFrame(() => this.draw());
    this.unsubscribe = model.subscribe((e) => {
      if (e.type === "phase_visual") this.render();
    });
    this.draw();
  }

  destroy() {
    this.unsubscribe();
    for (const tile of this.tiles.values()) {
      tile.observer?.disconnect();
      if (tile.plot) Plotly.purge(tile.plot);
    }
  }

  draw() {
    const visuals = this.model.visuals;
    this.root.hidden = visuals.size === 0;
    for (const [key, e] of visuals) {
      let tile = this.tiles.get(key);
      if (!tile) {
        tile = this.tile(e);
        this.tiles.set(key, tile);
        this.list.append(tile.el);
      }
      if (tile.seq !== e.seq) this.update(tile, e);
    }
  }

  tile(e) {
    const caption = h("p.dv-caption");
    const text = h("p.dv-text"); // the phase's own line: what it found, in numbers
    const canvas = h("canvas.dv-image", { role: "img" });
    const scalars = h("dl.dv-scalars");
    const plot = h("div.dv-plot");
    const step = h("div.dv-step");
    const pair = h("div.dv-pair", { style: "gap: 10px; flex-wrap: wrap;" }); // images drawn by a kind's own view
    const notes = h("ul.dv-notes", { style: "margin: 4px 0 0; padding-left: 16px; font-size: 11px; color: #52606d;" });
    const el = h(
      "article.defence-tile",
      { dataset: { visual: e.name, kind: e.kind } },
      h("h4", titleOf(e)),
      caption,
      text,
      h("div.dv-body", pair, canvas, scalars),
      plot,
      notes,
      step,
    );
    const tile = { el, caption, text, canvas, pair, scalars, plot, notes, step, seq: null, plotted: false };
    // tiles wrap as others arrive: a plot follows its tile's width
    if (typeof ResizeObserver !== "undefined") {
      tile.observer = new ResizeObserver(() => tile.plotted && !plot.hidden && Plotly.Plots.resize(plot));
      tile.observer.observe(plot);
    }
    return tile;
  }

  update(tile, e) {
    tile.seq = e.seq;
    const about = CAPTIONS[`${e.kind}:${e.name}`] ?? CAPTIONS[e.name];
    tile.caption.textContent = about || (e.text ? "" : titleOf(e));
    fill(tile.text, visualText(e.text));
    tile.step.textContent = `phase ${e.phase_index + 1} (${e.kind}), after step ${e.step}`;
    const hasImage = e.image && e.height > 0 && e.width > 0;
    // Neural Cleanse's trigger: stamped on a test image, beside the true one
    const paired = e.name === "recovered_trigger" && hasImage && drawTriggerPair(tile.pair, this.model, e, (c) => this.className(c));
    tile.pair.style.display = paired ? "flex" : "none";
    tile.canvas.hidden = !hasImage || paired;
    if (hasImage && !paired) this.paint(tile.canvas, e);
    fill(
      tile.scalars,
      Object.entries(e.scalars || {}).map(([k, v]) => [h("dt", scalarLabel(e, k)), h("dd", k === "class" ? this.className(v) : scalarText(e, k, v))]),
    );
    const values = { ...e.values };
    delete values.mask; // a mask is drawn stamped, not as bars
    const notes = e.name === "recovered_trigger" ? TRIGGER_NOTES.filter((n) => !n.startsWith("IoU") || e.scalars?.iou !== undefined) : e.name === "anomaly_index" && values.flagged ? [anomalyNote(values)] : [];
    fill(tile.notes, notes.map((n) => h("li", n)));
    tile.notes.hidden = !notes.length;
    tile.plot.hidden = Object.keys(values).length === 0;
    if (!tile.plot.hidden) this.plotValues(tile, values, e);
  }

  /** "3 cat": a class number with its name, when the data set names its classes. */
  className(c) {
    const name = (this.model.classes || [])[c];
    return name === undefined ? String(c) : `${c} ${name}`;
  }

  paint(canvas, e) {
    canvas.width = e.width;
    canvas.height = e.height;
    const scale = Math.max(1, Math.floor(128 / Math.max(e.width, e.height)));
    canvas.style.width = `${e.width * scale}px`;
    canvas.style.height = `${e.height * scale}px`;
    canvas.setAttribute("aria-label", `${titleOf(e)}, ${e.width}×${e.height} pixels`);
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(e.width, e.height);
    const src = e.image;
    for (let p = 0, q = 0; p < e.width * e.height; p++, q += 3) {
      img.data[4 * p] = src[q];
      img.data[4 * p + 1] = src[q + 1];
      img.data[4 * p + 2] = src[q + 2];
      img.data[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  /** Values as bars: a histogram for {edges, counts}; else one bar series per key, at the
   * positions given by "labels" (class names for per-class visuals), or 1, 2, 3, ... */
  plotValues(tile, values, e) {
    let traces;
    let xTitle = "";
    let shapes = [];
    let annotations = [];
    const nc = e.name === "anomaly_index" ? anomalyChart(values, e.scalars, (c) => this.className(c)) : null;
    let xaxis = {};
    let yaxis = {};
    if (nc) {
      ({ traces, shapes, annotations, yaxis } = nc);
      xTitle = "class";
    } else if (values.edges && (values.clean || values.poisoned)) {
      // a detector's scores, split by the truth: stacked bars, the cut as a line
      const edges = values.edges;
      const centers = values.clean.map((_, i) => (edges[i] + edges[i + 1]) / 2);
      const widths = values.clean.map((_, i) => edges[i + 1] - edges[i]);
      traces = [
        { type: "bar", name: "clean", x: centers, y: values.clean, width: widths, marker: { color: "#0072B2" }, hovertemplate: "clean, score %{x:.3g}: %{y}<extra></extra>" },
        { type: "bar", name: "truly poisoned", x: centers, y: values.poisoned, width: widths, marker: { color: "#D55E00" }, hovertemplate: "poisoned, score %{x:.3g}: %{y}<extra></extra>" },
      ];
      xTitle = "suspicion score →";
      const cut = e.scalars?.threshold;
      if (cut !== undefined && cut !== null) {
        shapes = [{ type: "line", yref: "paper", y0: 0, y1: 1, x0: cut, x1: cut, line: { color: "#333", width: 1.5, dash: "dot" } }];
        annotations = [{ yref: "paper", y: 1, x: cut, xanchor: "left", yanchor: "top", text: " flagged →", showarrow: false, font: { size: 10, color: "#333" } }];
      }
    } else if (values.edges && values.counts) {
      const edges = values.edges;
      const centers = values.counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
      const widths = values.counts.map((_, i) => edges[i + 1] - edges[i]);
      traces = [{ type: "bar", x: centers, y: values.counts, width: widths, marker: { color: "#0072B2" }, hovertemplate: "%{x:.3g}: %{y}<extra></extra>" }];
      const masks = e.name === "mask_histogram"; // ANP: mask values live in 0..1, all of it shown
      xTitle = e.name === "detection_scores" ? "suspicion score →" : masks ? "mask value (0: pruned · 1: kept as is)" : "value";
      if (masks) {
        xaxis = { range: [0, 1], autorange: false };
        Object.assign(traces[0], { text: values.counts.map((c) => (c ? String(c) : "")), textposition: "outside", cliponaxis: false });
      }
      const cut = e.name === "detection_scores" || masks ? e.scalars?.threshold : undefined;
      const said = masks ? "← pruned " : " flagged →";
      if (cut !== undefined && cut !== null) {
        shapes = [{ type: "line", yref: "paper", y0: 0, y1: 1, x0: cut, x1: cut, line: { color: "#333", width: 1.5, dash: "dot" } }];
        annotations = [{ yref: "paper", y: 1, x: cut, xanchor: masks ? "right" : "left", yanchor: "top", text: said, showarrow: false, font: { size: 10, color: "#333" } }];
      }
    } else {
      const colors = ["#0072B2", "#D55E00", "#009E73", "#E69F00"];
      const { labels, ...series } = values;
      xTitle = X_TITLES[`${e.kind}:${e.name}`] || X_TITLES[e.name] || "index";
      // the bars' names where the phase gave them (ANP's layers in words), else the labels
      const named = e.ticks?.length ? e.ticks : null;
      const at = (ys) => named || (labels || ys.map((_, j) => j + 1)).map((v) => (xTitle === "class" ? this.className(v) : v));
      const given = e.scalars?.rule;
      // one class far above the cut would flatten the others: bars stop at 4x the cut,
      // with the value written on them
      const cap = given > 0 ? 4 * given : Infinity;
      traces = Object.entries(series).map(([k, ys], i) => ({
        type: "bar",
        name: k.replace(/_/g, " "),
        x: at(ys),
        y: ys.map((v) => Math.min(v, cap)),
        text: ys.map((v) => (v > cap ? `${short(v)} ↑` : "")),
        textposition: "inside",
        customdata: ys,
        hovertemplate: "%{x}: %{customdata:.4g}<extra></extra>",
        marker: { color: colors[i % colors.length] },
      }));
      const rule = given !== undefined ? { y: given, text: `cut ${short(Number(given))}` } : null;
      if (rule) {
        shapes = [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: rule.y, y1: rule.y, line: { color: "#D55E00", width: 1.5, dash: "dot" } }];
        annotations = [{ xref: "paper", x: 1, y: rule.y, yanchor: "bottom", xanchor: "right", text: rule.text, showarrow: false, font: { size: 10, color: "#D55E00" } }];
      }
    }
    const layout = {
      margin: { l: 44, r: 8, t: 6, b: 34 },
      font: { size: 11 },
      showlegend: traces.length > 1,
      legend: { orientation: "h", y: 1.15 },
      bargap: 0.05,
      barmode: values.clean ? "stack" : "group",
      // class names label themselves (a title would sit on the slanted names)
      xaxis: { title: { text: xTitle === "class" ? "" : xTitle, standoff: 2 }, gridcolor: "#eef1f4", type: xTitle === "class" ? "category" : undefined, ...xaxis },
      shapes,
      annotations,
      yaxis: { gridcolor: "#eef1f4", rangemode: nc ? undefined : "tozero", ...yaxis },
      paper_bgcolor: "#fcfdfe",
      plot_bgcolor: "#fcfdfe",
    };
    const config = { responsive: true, displaylogo: false, displayModeBar: false };
    if (tile.plotted) Plotly.react(tile.plot, traces, layout, config);
    else {
      Plotly.newPlot(tile.plot, traces, layout, config);
      tile.plotted = true;
    }
  }
}
