// Drawing a Grad-CAM map with its image into a canvas, in the views the grid offers:
//   spots    the image in grey, only the attended regions coloured (low attention is
//            transparent), so attention reads the same on any data set (default)
//   heatmap  the map alone (viridis), blend: image and viridis mixed, image: no map
// and the change between two maps (now minus before) in a diverging blue/orange map.
// Pixels stay pixels: the canvas is scaled up by whole numbers without smoothing.

import { VIRIDIS } from "./colormap.js";

const TARGET_PX = 192; // internal canvas size: crisp pixels when shown up to ~200 px (CSS scales beyond)
const SPOT_FROM = 0.35; // attention below this share of the image's maximum stays transparent
const scratch = typeof document === "undefined" ? null : document.createElement("canvas");

// Hot spots: dark red -> orange -> light yellow, rising in luminance (readable in grey).
const HOT = [[165, 0, 38], [244, 109, 67], [254, 224, 144], [255, 255, 191]];
// Change: blue where attention left, orange where it arrived (Okabe-Ito, colour-blind safe).
const LEFT = [0, 114, 178];
const CAME = [230, 97, 0];

/** RGB of a value 0..1 along the hot-spot ramp. */
export function hotColor(v) {
  const x = Math.min(1, Math.max(0, v)) * (HOT.length - 1);
  const i = Math.min(HOT.length - 2, Math.floor(x));
  const f = x - i;
  return HOT[i].map((c, k) => Math.round(c + f * (HOT[i + 1][k] - c)));
}

/** Opacity of a hot spot for a heat value 0..1: 0 below SPOT_FROM, then rising to 0.85. */
export function spotAlpha(v) {
  return v <= SPOT_FROM ? 0 : Math.min(1, (v - SPOT_FROM) / (1 - SPOT_FROM)) * 0.85;
}

/** Grey level of an RGB pixel, dimmed into 30..190 so colours on top stand out. */
function grey(image, i) {
  if (!image) return 110;
  const lum = 0.299 * image[i * 3] + 0.587 * image[i * 3 + 1] + 0.114 * image[i * 3 + 2];
  return 30 + lum * 0.63;
}

/** RGBA pixels of one cell. view: spots | heatmap | blend | image | change. */
export function cellPixels({ image, heat, before, size, view = "spots", alpha = 0.5 }) {
  const out = new Uint8ClampedArray(size * size * 4);
  for (let i = 0, n = size * size; i < n; i++) {
    let rgb;
    if (view === "change") {
      const d = heat && before ? (heat[i] - before[i]) / 255 : 0;
      const g = grey(image, i);
      const a = Math.abs(d) < 0.08 ? 0 : Math.min(1, Math.abs(d) * 1.5) * 0.9;
      const c = d > 0 ? CAME : LEFT;
      rgb = [0, 1, 2].map((k) => (1 - a) * g + a * c[k]);
    } else if (view === "spots" && heat) {
      const v = heat[i] / 255;
      const a = spotAlpha(v);
      const g = grey(image, i);
      const c = hotColor((v - SPOT_FROM) / (1 - SPOT_FROM));
      rgb = [0, 1, 2].map((k) => (1 - a) * g + a * c[k]);
    } else {
      const a = view === "heatmap" ? 1 : view === "image" || !heat ? 0 : alpha;
      const k3 = heat ? heat[i] * 3 : 0;
      rgb = [0, 1, 2].map((k) => (1 - a) * (image ? image[i * 3 + k] : 0) + a * VIRIDIS[k3 + k]);
    }
    out[i * 4] = rgb[0];
    out[i * 4 + 1] = rgb[1];
    out[i * 4 + 2] = rgb[2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

/**
 * Draw one cell into `canvas`. image: Uint8Array (S*S*3) RGB; heat, before: Uint8Array
 * (S*S) or null; box: trigger [x0, y0, x1, y1] (x1, y1 exclusive) or null; region:
 * Uint8Array (S*S), 1 inside the trigger region (outlined as a contour when there is no box).
 */
export function drawCell(canvas, { image, heat, before = null, size, box, region = null, view = "spots", alpha = 0.5 }) {
  const scale = Math.max(1, Math.ceil(TARGET_PX / size));
  scratch.width = size;
  scratch.height = size;
  const sctx = scratch.getContext("2d");
  const data = sctx.createImageData(size, size);
  data.data.set(cellPixels({ image, heat, before, size, view, alpha }));
  sctx.putImageData(data, 0, 0);
  canvas.width = size * scale;
  canvas.height = size * scale;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, 0, 0, size * scale, size * scale);
  if (box) outlineBox(ctx, box, scale);
  else if (region) outlineRegion(ctx, region, size, scale);
}

/**
 * The edges of a pixel region: [x0, y0, x1, y1] segments in pixel units along every side
 * of a region pixel whose neighbour is outside the region (or the image).
 */
export function regionEdges(region, size) {
  const inside = (x, y) => x >= 0 && y >= 0 && x < size && y < size && region[y * size + x] > 0;
  const edges = [];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!inside(x, y)) continue;
      if (!inside(x, y - 1)) edges.push([x, y, x + 1, y]);
      if (!inside(x, y + 1)) edges.push([x, y + 1, x + 1, y + 1]);
      if (!inside(x - 1, y)) edges.push([x, y, x, y + 1]);
      if (!inside(x + 1, y)) edges.push([x + 1, y, x + 1, y + 1]);
    }
  }
  return edges;
}

/** A region that is not a rectangle, outlined along its pixel edges: light halo, dark line. */
function outlineRegion(ctx, region, size, scale) {
  const edges = regionEdges(region, size);
  if (!edges.length) return;
  const path = () => {
    ctx.beginPath();
    for (const [x0, y0, x1, y1] of edges) {
      ctx.moveTo(x0 * scale, y0 * scale);
      ctx.lineTo(x1 * scale, y1 * scale);
    }
  };
  ctx.lineCap = "square";
  path();
  ctx.lineWidth = 4;
  ctx.strokeStyle = "rgba(255, 255, 255, 0.95)";
  ctx.stroke();
  path();
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#00d5ff";
  ctx.stroke();
}

/** Older name, for the inspector: the image with its map. */
export function drawOverlay(canvas, { view = "spots", ...rest }) {
  drawCell(canvas, { ...rest, view: view === "overlay" ? "spots" : view });
}

/** The trigger region, outlined just outside its pixels: light halo, dark line. */
function outlineBox(ctx, [x0, y0, x1, y1], scale) {
  const pad = 2;
  const x = x0 * scale - pad;
  const y = y0 * scale - pad;
  const w = (x1 - x0) * scale + 2 * pad;
  const hgt = (y1 - y0) * scale + 2 * pad;
  ctx.lineWidth = 4;
  ctx.strokeStyle = "rgba(255, 255, 255, 0.95)";
  ctx.strokeRect(x, y, w, hgt);
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#111";
  ctx.strokeRect(x, y, w, hgt);
}

/** CSS gradients for the legends. */
export function hotGradient() {
  return `linear-gradient(to right, rgba(128,128,128,0.35), ${HOT.map((c) => `rgb(${c.join(",")})`).join(", ")})`;
}

export function changeGradient() {
  return `linear-gradient(to right, rgb(${LEFT.join(",")}), #8a8a8a 50%, rgb(${CAME.join(",")}))`;
}
