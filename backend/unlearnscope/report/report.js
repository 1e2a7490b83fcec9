// The report's charts and heatmap player. Everything it needs is in this file: the data
// (JSON), the heatmaps and probe images (gzipped uint8, base64) and Plotly.js (gzipped),
// unpacked here with DecompressionStream. It makes no request.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const $ = (id) => document.getElementById(id);
  const COLOR = { red: "#D55E00", blue: "#0072B2", green: "#009E73", orange: "#E69F00", purple: "#CC79A7", ink: "#1f2933" };
  const BAND = { ascent: "rgba(213, 94, 0, 0.10)", recovery: "rgba(0, 114, 178, 0.09)" };
  const pct = (v) => (v == null ? "–" : `${v.toFixed(1)}%`);
  const num = (v) => (v == null ? "–" : v.toFixed(2));
  const cls = (i) => D.classes[i] ?? String(i);
  const F = D.frames;
  const state = { index: 0, timer: null, maps: null, images: null, charts: [] };
  window.report = state; // for the browser tests

  async function unpack(id) {
    const text = $(id).textContent.trim();
    if (!text) return null;
    const bin = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const stream = new Blob([bin]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  function latest(step, key) {
    let best = null;
    for (const r of [...D.measured, ...D.evaluations]) {
      if (r[key] != null && r.step <= step && (!best || r.step >= best.step)) best = r;
    }
    return best ? best[key] : null;
  }

  function phaseAt(step) {
    let found = null;
    for (const p of D.phases) if (p.start < step) found = p;
    return found;
  }

  // -- charts ---------------------------------------------------------------------------
  function series(rows, key) {
    const x = [], y = [];
    rows.forEach((r) => { if (r[key] != null) { x.push(r.step); y.push(r[key]); } });
    return { x, y };
  }

  function line(name, color, xy, extra = {}) {
    return { type: "scatter", mode: extra.dense ? "lines" : "lines+markers", name, ...xy, line: { color, width: 2, dash: extra.dash || "solid" }, marker: { color, size: 4 }, yaxis: extra.yaxis || "y", connectgaps: false };
  }

  function diamonds(name, color, key) {
    const xy = series(D.evaluations, key);
    return { type: "scatter", mode: "markers", name, ...xy, text: D.evaluations.filter((e) => e[key] != null).map((e) => e.label), marker: { color, size: 10, symbol: "diamond", line: { color: "#fff", width: 1 } }, hovertemplate: "%{y:.2f} (%{text})" };
  }

  function losses(kind) {
    const L = D.losses, x = [], y = [];
    let prev = null;
    L.step.forEach((s, i) => {
      if (L.kind[i] !== kind) { if (prev === kind) { x.push(s); y.push(null); } prev = L.kind[i]; return; }
      prev = kind; x.push(s); y.push(L.ce_loss[i]);
    });
    return { x, y };
  }

  const CHARTS = [
    { id: "quality", y: { title: { text: "percent" }, range: [0, 101], ticksuffix: "%" }, traces: () => [
      line("ASR (monitor subset)", COLOR.red, series(D.measured, "asr")),
      line("CA (monitor subset)", COLOR.blue, series(D.measured, "ca")),
      diamonds("ASR, full test set", COLOR.red, "asr"),
      diamonds("CA, full test set", COLOR.blue, "ca")] },
    { id: "tar", y: { title: { text: "TAR" }, rangemode: "tozero" }, ref: 1, traces: () => [
      line("TAR median", COLOR.green, series(D.measured, "tar_median")),
      line("TAR mean", COLOR.orange, series(D.measured, "tar_mean"), { dash: "dot" }),
      diamonds("TAR median, full test set", COLOR.green, "tar_median")] },
    { id: "loss", y: { title: { text: "cross-entropy" } }, y2: true, traces: () => [
      line("ascent CE (forget set)", COLOR.red, losses("ascent"), { dense: true }),
      line("recovery CE (clean set)", COLOR.blue, losses("recovery"), { dense: true }),
      line("EWC penalty (right axis)", COLOR.purple, { x: D.losses.step, y: D.losses.ewc_penalty }, { dash: "dash", yaxis: "y2", dense: true })] },
  ];

  function shapes(spec, cursor) {
    const out = [], notes = [];
    for (const p of D.phases) {
      const end = p.end ?? D.end;
      out.push({ type: "rect", xref: "x", yref: "paper", x0: p.start, x1: end, y0: 0, y1: 1, fillcolor: BAND[p.kind] || "rgba(0,158,115,.08)", line: { width: 0 }, layer: "below" });
      if (p.start > 0) out.push({ type: "line", xref: "x", yref: "paper", x0: p.start, x1: p.start, y0: 0, y1: 1, line: { color: "#9aa5b1", width: 1 }, layer: "below" });
      const label = `${p.index + 1} · ${p.kind}${p.reason === "early_stop" ? " (early stop)" : ""}`;
      notes.push({ x: (p.start + end) / 2, y: 1, xref: "x", yref: "paper", yanchor: "bottom", showarrow: false, text: (end - p.start) / D.end > 0.12 ? label : String(p.index + 1), font: { size: 11, color: "#52606d" } });
    }
    for (const s of D.edits) {
      out.push({ type: "line", xref: "x", yref: "paper", x0: s, x1: s, y0: 0, y1: 1, line: { color: "#6b4fa0", width: 1.5, dash: "dash" } });
      notes.push({ x: s, y: 0, xref: "x", yref: "paper", xanchor: "left", yanchor: "bottom", showarrow: false, text: "✎ edit", font: { size: 11, color: "#6b4fa0" } });
    }
    if (spec.ref != null) out.push({ type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: spec.ref, y1: spec.ref, line: { color: "#7b8794", width: 1, dash: "dot" } });
    if (cursor != null) out.push({ type: "line", xref: "x", yref: "paper", x0: cursor, x1: cursor, y0: 0, y1: 1, line: { color: COLOR.ink, width: 2 } });
    return { shapes: out, annotations: notes };
  }

  async function drawCharts() {
    for (const spec of CHARTS) {
      const el = $(`chart-${spec.id}`);
      const layout = {
        margin: { l: 60, r: spec.y2 ? 70 : 20, t: 24, b: 40 }, hovermode: "x unified", showlegend: true,
        font: { family: "Inter, 'Segoe UI', 'DejaVu Sans', system-ui, sans-serif", size: 12, color: COLOR.ink },
        legend: { orientation: "h", x: 0, y: -0.18, yanchor: "top" },
        xaxis: { title: { text: "step", standoff: 4 }, range: [-0.015 * D.end, 1.015 * D.end], zeroline: false, gridcolor: "#eef1f4" },
        yaxis: { gridcolor: "#eef1f4", zeroline: false, automargin: true, ...spec.y },
        ...(spec.y2 ? { yaxis2: { title: { text: "EWC penalty" }, overlaying: "y", side: "right", rangemode: "tozero", showgrid: false } } : {}),
        ...shapes(spec, F.steps[state.index]),
      };
      await Plotly.newPlot(el, spec.traces(), layout, { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] });
      el.on("plotly_click", (ev) => ev.points?.length && seekStep(ev.points[0].x));
      state.charts.push({ spec, el });
    }
    // Printed pages get still images of the charts (canvases and SVG do not reflow to A4).
    for (const { spec, el } of state.charts) {
      $(`print-${spec.id}`).src = await Plotly.toImage(el, { format: "png", width: 1100, height: 330, scale: 1.5 });
    }
  }

  // The backdoor-connected path of the defended model (alpha on x, not steps: no phase
  // bands, no cursor): ASR and CA, the re-tuned model's ASR faint.
  async function drawPath() {
    const el = $("chart-path");
    if (!D.path || !el) return;
    const { defended, retuned } = D.path;
    const has = (v) => (v || []).some((x) => x != null);
    const traces = [];
    if (retuned && has(retuned.asr)) traces.push({ type: "scatter", mode: "lines", name: "ASR after re-tuning", legendrank: 3, x: retuned.alphas, y: retuned.asr, opacity: 0.4, line: { color: COLOR.red, width: 1.5, dash: "dash" }, hovertemplate: "%{y:.1f}%" });
    if (has(defended.asr)) traces.push({ type: "scatter", mode: "lines+markers", name: "ASR", legendrank: 1, x: defended.alphas, y: defended.asr, line: { color: COLOR.red, width: 2.5 }, marker: { color: COLOR.red, size: 6 }, hovertemplate: "%{y:.1f}%" });
    traces.push({ type: "scatter", mode: "lines+markers", name: "CA", legendrank: 2, x: defended.alphas, y: defended.ca, line: { color: COLOR.blue, width: 2.5 }, marker: { color: COLOR.blue, size: 6 }, hovertemplate: "%{y:.1f}%" });
    const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
    const layout = {
      margin: { l: 60, r: 20, t: 22, b: 40 }, hovermode: "x unified", showlegend: true,
      font: { family: "Inter, 'Segoe UI', 'DejaVu Sans', system-ui, sans-serif", size: 12, color: COLOR.ink },
      legend: { orientation: "h", x: 0, y: -0.28, yanchor: "top" },
      xaxis: { range: [-0.03, 1.03], automargin: true, tickvals: ticks, ticktext: ticks.map((a) => (a === 0 ? "0<br>backdoored" : a === 1 ? "1<br>defended" : String(a))), zeroline: false, gridcolor: "#eef1f4", hoverformat: ".2f" },
      yaxis: { range: [0, 101], ticksuffix: "%", gridcolor: "#eef1f4", zeroline: false, automargin: true },
      shapes: [{ type: "line", xref: "x", yref: "paper", x0: 0.5, x1: 0.5, y0: 0, y1: 1, line: { color: "#9aa5b1", width: 1, dash: "dot" }, layer: "below" }],
      annotations: [{ x: 0.5, y: 1, xref: "x", yref: "paper", yanchor: "bottom", showarrow: false, text: "half-way", font: { size: 11, color: "#52606d" } }],
    };
    await Plotly.newPlot(el, traces, layout, { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] });
    state.path = el;
    $("print-path").src = await Plotly.toImage(el, { format: "png", width: 700, height: 280, scale: 1.5 });
  }

  function moveCursor() {
    const step = F.steps[state.index];
    state.charts.forEach(({ spec, el }) => Plotly.relayout(el, shapes(spec, step)));
  }

  // -- heatmaps -------------------------------------------------------------------------
  const S = F.size, P = F.count, U = Math.max(1, Math.floor(128 / Math.max(S, 1)));

  // The cells are drawn as on the live page: cellPixels is the page's own (js/heatdraw.js,
  // inlined into this file by report/html.py): hot spots over the image in grey, and the
  // change as blue (attention left) / orange (attention arrived).
  function blit(canvas, rgba, box) {
    const W = S * U, ctx = canvas.getContext("2d"), out = ctx.createImageData(W, W), px = out.data;
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
      const i = (y * S + x) * 4;
      for (let dy = 0; dy < U; dy++) for (let dx = 0; dx < U; dx++) {
        const o = ((y * U + dy) * W + x * U + dx) * 4;
        px[o] = rgba[i]; px[o + 1] = rgba[i + 1]; px[o + 2] = rgba[i + 2]; px[o + 3] = 255;
      }
    }
    if (box) ring(px, W, box.map((c) => c * U));
    ctx.putImageData(out, 0, 0);
  }

  function paint(canvas, img, imgOff, map, mapOff, box) {
    const image = img.subarray(imgOff, imgOff + S * S * 3);
    const heat = map ? map.subarray(mapOff, mapOff + S * S) : null;
    blit(canvas, PageDraw.cellPixels({ image, heat, size: S, view: "spots" }), box);
  }

  function ring(px, W, [x0, y0, x1, y1]) {
    const set = (x, y) => {
      if (x < 0 || y < 0 || x >= W || y >= W) return;
      const o = (y * W + x) * 4, luma = 0.299 * px[o] + 0.587 * px[o + 1] + 0.114 * px[o + 2], c = luma < 128 ? 255 : 0;
      px[o] = px[o + 1] = px[o + 2] = c;
    };
    for (let x = x0 - 1; x <= x1; x++) { set(x, y0 - 1); set(x, y1); }
    for (let y = y0; y < y1; y++) { set(x0 - 1, y); set(x1, y); }
  }

  function paintDiff(canvas, img, imgOff, a, aOff, b, bOff) {
    const image = img.subarray(imgOff, imgOff + S * S * 3);
    const before = a.subarray(aOff, aOff + S * S), heat = b.subarray(bOff, bOff + S * S);
    blit(canvas, PageDraw.cellPixels({ image, heat, before, size: S, view: "change" }), null);
  }

  const canvas = () => Object.assign(document.createElement("canvas"), { width: S * U, height: S * U });
  const el = (tag, cls, html) => Object.assign(document.createElement(tag), { className: cls || "", innerHTML: html || "" });
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const mapOff = (f, p, v) => (((f * P + p) * 2 + v) * S * S);
  const imgOff = (p, v) => ((p * 2 + v) * S * S * 3);

  function buildGrid() {
    const grid = $("probe-grid");
    state.cells = [];
    for (let p = 0; p < P; p++) {
      const card = el("div", "probe"), pair = el("div", "pair"), cap = el("div", "cap");
      const c = [canvas(), canvas()];
      c[0].setAttribute("aria-label", `probe ${p + 1}, clean`);
      c[1].setAttribute("aria-label", `probe ${p + 1}, with the trigger`);
      pair.append(c[0], c[1]);
      card.append(el("div", "", `<b>Probe ${p + 1}</b> · test image ${D.probes.indices[p]} · true class <b>${esc(cls(D.probes.labels[p]))}</b>`), pair, cap);
      grid.append(card);
      state.cells.push({ c, cap });
    }
  }

  function show(index) {
    state.index = Math.max(0, Math.min(F.steps.length - 1, index));
    const f = state.index, step = F.steps[f];
    $("step-slider").value = String(f);
    const ph = phaseAt(step);
    $("player-info").innerHTML = `<b>Step ${step}</b> of ${D.end} · ${ph ? `phase ${ph.index + 1} (${esc(ph.kind)})` : "before unlearning"} · ASR <b>${pct(latest(step, "asr"))}</b> · CA <b>${pct(latest(step, "ca"))}</b> · TAR median <b>${num(latest(step, "tar_median"))}</b> · frame ${f + 1} of ${F.steps.length}`;
    state.cells.forEach(({ c, cap }, p) => {
      for (const v of [0, 1]) paint(c[v], state.images, imgOff(p, v), state.maps, mapOff(f, p, v), D.box);
      const [pc, pt] = F.preds[f][p], [cc, ct] = F.confs[f][p];
      const hit = pt === D.target && D.probes.labels[p] !== D.target;
      cap.innerHTML = `clean → <b>${esc(cls(pc))}</b> ${(100 * cc).toFixed(0)}% · trigger → <span class="${hit ? "hit" : ""}"><b>${esc(cls(pt))}</b> ${(100 * ct).toFixed(0)}%</span> · TAR ${num(F.tars[f][p])}`;
    });
    if (state.charts.length) moveCursor();
  }

  function seekStep(step) {
    let best = 0;
    F.steps.forEach((s, i) => { if (Math.abs(s - step) < Math.abs(F.steps[best] - step)) best = i; });
    stop();
    show(best);
  }

  function stop() {
    clearInterval(state.timer);
    state.timer = null;
    $("play").textContent = "▶ Play";
  }

  function play() {
    if (state.timer) return stop();
    if (state.index >= F.steps.length - 1) show(0);
    $("play").textContent = "❚❚ Pause";
    state.timer = setInterval(() => (state.index >= F.steps.length - 1 ? stop() : show(state.index + 1)), 1000 / Number($("speed").value));
  }

  function buildBeforeAfter() {
    const grid = $("bad-grid"), last = F.steps.length - 1;
    const v = Number(document.querySelector("input[name=variant]:checked").value);
    grid.innerHTML = "";
    for (let p = 0; p < P; p++) {
      const row = el("div", "row"), cs = [canvas(), canvas(), canvas()];
      row.append(el("div", "title", `Probe ${p + 1} · ${esc(cls(D.probes.labels[p]))}`));
      paint(cs[0], state.images, imgOff(p, v), state.maps, mapOff(0, p, v), D.box);
      paint(cs[1], state.images, imgOff(p, v), state.maps, mapOff(last, p, v), D.box);
      paintDiff(cs[2], state.images, imgOff(p, v), state.maps, mapOff(0, p, v), state.maps, mapOff(last, p, v));
      [`before (step ${F.steps[0]})`, `after (step ${F.steps[last]})`, "difference"].forEach((t, i) => {
        const fig = el("div");
        fig.append(cs[i], el("div", "", t));
        row.append(fig);
      });
      grid.append(row);
    }
  }

  async function heatmaps() {
    if (!F.steps.length || !D.probes || !P) {
      ["player", "probe-grid", "bad-grid"].forEach((id) => ($(id).hidden = true));
      $("heatmaps").querySelectorAll("h3, .bad-controls").forEach((x) => (x.hidden = true));
      return;
    }
    [state.maps, state.images] = await Promise.all([unpack("maps-gz"), unpack("probes-gz")]);
    const slider = $("step-slider");
    slider.max = String(F.steps.length - 1);
    slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });
    $("play").addEventListener("click", play);
    $("speed").addEventListener("change", () => { if (state.timer) { stop(); play(); } });
    document.querySelectorAll("input[name=variant]").forEach((r) => r.addEventListener("change", buildBeforeAfter));
    buildGrid();
    show(F.steps.length - 1);
    buildBeforeAfter();
  }

  async function charts() {
    if (!D.losses.step.length && !D.evaluations.length) {
      $("charts").querySelectorAll(".chart-box").forEach((b) => (b.hidden = true));
      const note = $("chart-note");
      note.hidden = false;
      note.textContent = "This run ended before unlearning began, so there is nothing to plot.";
      return;
    }
    const code = new TextDecoder().decode(await unpack("plotly-gz"));
    (0, eval)(code); // defines window.Plotly
    await drawPath();
    await drawCharts();
  }

  state.ready = (async () => {
    if (typeof DecompressionStream === "undefined") {
      const note = $("chart-note");
      note.hidden = false;
      note.textContent = "This browser cannot unpack the embedded charts and heatmaps (it needs DecompressionStream: Chrome 80+, Edge 80+, Firefox 113+, Safari 16.4+). The numbers and tables still hold.";
      return;
    }
    await heatmaps();
    await charts();
  })();
})();
