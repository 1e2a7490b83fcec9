// What a run's charts show: the three charts' traces (ASR + CA, TAR and the localisation
// metrics, losses), their colours, Plotly trace and layout defaults. Drawn by charts.js;
// the colours and metrics are shared with the comparison and the presentation views.

import { phaseKindIndex, phaseKinds } from "../../core/vocab.js";

// Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
export const COLOR = {
  vermillion: "#D55E00",
  blue: "#0072B2",
  green: "#009E73",
  orange: "#E69F00",
  purple: "#CC79A7",
  sky: "#56B4E9",
  ink: "#1f2933",
};
// Phase kinds take their colours by their place in the registry (GET /api/options), so a
// new kind needs no entry here: ascent (first) vermillion, recovery (second) blue, ...
const PHASE_PALETTE = [
  [213, 94, 0, 0.09],
  [0, 114, 178, 0.08],
  [0, 158, 115, 0.08],
  [230, 159, 0, 0.1],
  [86, 180, 233, 0.1],
  [204, 121, 167, 0.1],
];
const OTHER_PHASE = [0, 158, 115, 0.08]; // a kind the registry does not know

/** {line, alpha, fill(alpha?)}: the colours of a phase kind's loss line and band. */
export function phaseColor(kind) {
  const i = phaseKindIndex(kind);
  const [r, g, b, a] = i < 0 ? OTHER_PHASE : PHASE_PALETTE[i % PHASE_PALETTE.length];
  const hex = `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`.toUpperCase();
  return { line: hex, alpha: a, fill: (alpha = a) => `rgba(${r}, ${g}, ${b}, ${alpha})` };
}

// A first-time viewer sees ASR and CA (and TAR's median); the rest starts hidden
// (`hidden`: Plotly's "legendonly", a greyed legend entry one click away). The full test
// set's diamonds share their line's legend entry (`group`), so a legend holds each
// measure once.
const line = (name, color, from, extra = {}) => ({ name, color, from, ...extra });
const measured = (name, color, key, extra = {}) => ({ name, color, key, group: name, ...extra });
const marks = (name, color, fromEval, view, group, hidden = false) => ({ name, color, fromEval, markers: true, view, group, hidden });

// What the TAR chart can show (its selector): TAR and the localisation metrics, each a
// mean over the TAR set's triggered images, measured on the trigger region. `scale`: the
// metric's whole range (the comparison draws it on that, not on what the values span).
export const LOCALISATION = {
  tar: { label: "TAR", axis: "TAR", refLine: { y: 1, text: "TAR 1 = no preference" },
    hint: "mean attention inside the trigger region ÷ mean attention outside it" },
  mass_fraction: { scale: [0, 1], label: "Relevance mass", axis: "share of the map's heat", refLine: null,
    hint: "share of the map's total heat inside the trigger region (0-1)" },
  rank_accuracy: { scale: [0, 1], label: "Relevance rank accuracy", axis: "rank accuracy", refLine: null,
    hint: "share of the region's pixels among the map's hottest pixels, as many as the region has (0-1)" },
  pointing: { scale: [0, 1], label: "Pointing game", axis: "hit rate", refLine: null,
    hint: "share of images whose hottest pixel lies in the trigger region (0-1)" },
  auc: { scale: [0, 1], label: "ROC-AUC", axis: "AUC", refLine: { y: 0.5, text: "AUC 0.5 = chance" },
    hint: "how well the map's heat separates region pixels from the rest (1 = perfectly, 0.5 = chance)" },
};

/** The three charts; the loss chart has one cross-entropy line per registered phase kind. */
export function chartSpecs() {
  return [
    {
      id: "quality",
      title: "ASR and clean accuracy (CA)",
      yaxis: { title: { text: "percent" }, range: [0, 101], ticksuffix: "%" },
      unit: "%",
      traces: [
        measured("ASR", COLOR.vermillion, "asr"),
        measured("CA", COLOR.blue, "ca"),
        measured("RA", COLOR.purple, "ra", { dash: "dash", hidden: true }),
        marks("ASR, full test set", COLOR.vermillion, (e) => e.asr, undefined, "ASR"),
        marks("CA, full test set", COLOR.blue, (e) => e.ca, undefined, "CA"),
        marks("RA, full test set", COLOR.purple, (e) => e.ra, undefined, "RA", true),
      ],
      note: "Lines: a small monitor subset; diamonds: the full test set. Click RA in the legend for robust accuracy (triggered images still given their true class).",
    },
    {
      id: "tar",
      title: "Trigger Attention Ratio (TAR)",
      yaxis: { title: { text: "TAR" }, rangemode: "tozero" },
      refLine: LOCALISATION.tar.refLine,
      views: LOCALISATION,
      view: "tar",
      traces: [
        measured("TAR median", COLOR.green, "tar_median", { view: "tar" }),
        measured("TAR mean", COLOR.orange, "tar_mean", { dash: "dot", view: "tar", hidden: true }),
        marks("TAR median, full evaluation", COLOR.green, (e) => e.tar_median, "tar", "TAR median"),
        ...["mass_fraction", "rank_accuracy", "pointing", "auc"].flatMap((key) => [
          measured(LOCALISATION[key].label, COLOR.green, key, { view: key }),
          marks(`${LOCALISATION[key].label}, full evaluation`, COLOR.green, (e) => e[key], key, LOCALISATION[key].label),
        ]),
      ],
    },
    {
      id: "loss",
      title: "Losses",
      yaxis: { title: { text: "cross-entropy" } },
      yaxis2: {
        title: { text: "EWC penalty" },
        overlaying: "y",
        side: "right",
        rangemode: "tozero",
        showgrid: false,
      },
      traces: [
        ...phaseKinds().map(({ kind, uses_forget_set: forget, finds_forget_set: search }) =>
          line(`${kind} CE (${forget ? "forget" : search ? "training" : "clean"} set)`, phaseColor(kind).line, (s) => (s.kind === kind ? s.ce_loss : undefined), { breaks: true, dense: true }),
        ),
        line("EWC penalty (right axis)", COLOR.purple, (s) => s.ewc_penalty, { yaxis: "y2", dash: "dash", dense: true, hidden: true }),
      ],
    },
  ];
}

/** A trace's starting visibility: false outside the selected view, "legendonly" when
 * hidden until a click on its legend entry. */
export function shownAs(spec, view = "tar") {
  if (spec.view !== undefined && spec.view !== view) return false;
  return spec.hidden ? "legendonly" : true;
}

export function traceOf(spec, unit) {
  const fmt = unit === "%" ? "%{y:.2f}%" : "%{y:.4g}";
  const base = {
    type: "scatter",
    name: spec.name,
    visible: shownAs(spec),
    ...(spec.group ? { legendgroup: spec.group } : {}),
    ...(spec.markers && spec.group ? { showlegend: false } : {}),
    x: [],
    y: [],
    yaxis: spec.yaxis || "y",
    connectgaps: false,
  };
  if (spec.markers) {
    return {
      ...base,
      mode: "markers",
      text: [],
      marker: { color: spec.color, size: 9, symbol: "diamond", line: { color: "#fff", width: 1 } },
      hovertemplate: `${fmt} (%{text})<extra>${spec.name}</extra>`,
    };
  }
  // Measurements may be sparse (a monitoring budget): small markers keep lone points visible.
  return {
    ...base,
    mode: lineMode(spec, 0),
    marker: { color: spec.color, size: 5 },
    line: { color: spec.color, width: 2, dash: spec.dash || "solid" },
    hovertemplate: `${fmt}<extra>${spec.name}</extra>`,
  };
}

// Above this many points a measured line drops its markers: they would merge into the line
// anyway, and each is an SVG element to draw.
const MARKERS_UP_TO = 200;

export function lineMode(spec, points) {
  return spec.dense || points > MARKERS_UP_TO ? "lines" : "lines+markers";
}

export function baseLayout(spec) {
  return {
    margin: { l: 56, r: spec.yaxis2 ? 64 : 16, t: 22, b: 40 },
    font: { family: "Inter, 'Segoe UI', 'DejaVu Sans', system-ui, sans-serif", size: 12, color: COLOR.ink },
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    hovermode: "x unified",
    hoverlabel: { bgcolor: "#ffffff", bordercolor: "#c9d1da", font: { size: 12 } },
    showlegend: true,
    legend: { orientation: "h", x: 0, xanchor: "left", y: -0.2, yanchor: "top", font: { size: 11 } },
    xaxis: {
      title: { text: "step", standoff: 4 },
      range: [0, 1],
      zeroline: false,
      gridcolor: "#eef1f4",
      linecolor: "#c9d1da",
    },
    yaxis: { gridcolor: "#eef1f4", zeroline: false, linecolor: "#c9d1da", automargin: true, ...spec.yaxis },
    ...(spec.yaxis2 ? { yaxis2: { ...spec.yaxis2, automargin: true } } : {}),
    shapes: [],
    annotations: [],
  };
}

export const PLOT_CONFIG = {
  responsive: true,
  displaylogo: false,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"],
};
