// The trigger in pictures, for a first-time viewer: a clean probe image, the same image
// with the trigger, and the trigger itself (a patch, cut out and enlarged) or, for a
// trigger spread over the whole image (blended, WaNet, SIG, input-aware, a recovered or a
// file's trigger), what it changes, amplified so it can be seen. Pixels come from the
// run's probes event (RGB, S*S*3 uint8); the pure parts below are unit-tested.

import { h } from "../core/dom.js";

const SEEN = 2; // a channel that moved by more than this (of 255) counts as changed

/** The patch `box` ([x0, y0, x1, y1], x1/y1 exclusive) of an S*S*3 image with `margin`
 * pixels around it (clipped to the image): {rgb, width, height}. */
export function cropPatch(rgb, size, box, margin = 1) {
  const [x0, y0, x1, y1] = box;
  const left = Math.max(0, x0 - margin);
  const top = Math.max(0, y0 - margin);
  const right = Math.min(size, x1 + margin);
  const bottom = Math.min(size, y1 + margin);
  const width = right - left;
  const height = bottom - top;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * size + left) * 3;
    out.set(rgb.subarray(from, from + width * 3), y * width * 3);
  }
  return { rgb: out, width, height };
}

/**
 * What the trigger changed: |triggered - clean| per channel, amplified so the largest
 * change is white. {rgb, max (largest change, 0-255), gain (the amplification, 1 when
 * the change is already bright), share (of pixels changed)}.
 */
export function changePicture(clean, triggered) {
  const n = Math.min(clean.length, triggered.length);
  let max = 0;
  let changed = 0;
  for (let i = 0; i < n; i += 3) {
    let pixel = 0;
    for (let c = 0; c < 3; c++) pixel = Math.max(pixel, Math.abs(triggered[i + c] - clean[i + c]));
    max = Math.max(max, pixel);
    if (pixel > SEEN) changed += 1;
  }
  const gain = max > 0 ? Math.max(1, Math.floor(255 / max)) : 1;
  const rgb = new Uint8Array(n);
  for (let i = 0; i < n; i++) rgb[i] = Math.min(255, Math.abs(triggered[i] - clean[i]) * gain);
  return { rgb, max, gain, share: n ? changed / (n / 3) : 0 };
}

/**
 * The sentence under the pictures. t: {source ("attack" | "file" | "unknown" |
 * "recovered"), box, target (the class name), attack (the attack's label), change (of
 * changePicture), recoveredBy}. Returns {text, third (the third picture's caption)}.
 */
export function triggerWords(t) {
  const target = `“${t.target}”`;
  if (t.source === "unknown") {
    return {
      text: "Nobody told UnlearnScope what the trigger is: a phase that recovers one (Neural Cleanse) shows it here, and makes the backdoor measurable.",
      third: "",
    };
  }
  if (t.source === "recovered") {
    return {
      text: `The trigger ${t.recoveredBy}: stamped on an image, the backdoored model answers ${target}. It is the defence's guess, not the attacker's own.`,
      third: amplified(t.change, "what the recovered trigger changes"),
    };
  }
  if (t.source === "file") {
    return {
      text: `The model's file brought its own triggered test images: the backdoored model answers ${target} on them. Right: what the trigger changed in this one.`,
      third: amplified(t.change, "what the trigger changes"),
    };
  }
  if (t.box) {
    const [x0, y0, x1, y1] = t.box;
    return {
      text: `This ${x1 - x0}×${y1 - y0} pixel patch is the trigger: stamped on any image, the backdoored model answers ${target}.`,
      third: "the trigger, enlarged",
    };
  }
  const faint = t.change && t.change.gain >= 4;
  const spread = t.change ? ` (it touches ${Math.round(100 * t.change.share)}% of the pixels)` : "";
  return {
    text: `The trigger (${t.attack}) is spread over the whole image${spread}${faint ? ", too faint to see" : ""}: on any image carrying it, the backdoored model answers ${target}. Right: what it changes, amplified.`,
    third: amplified(t.change, "what the trigger changes"),
  };
}

function amplified(change, what) {
  if (!change) return what;
  return change.gain > 1 ? `${what}, ×${change.gain} brighter` : what;
}

/** An <img> of an RGB picture (w*h*3 uint8), drawn large with its pixels kept square. */
export function pixelImage(rgb, width, height, { alt, id = null, px = 120 } = {}) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const data = ctx.createImageData(width, height);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    data.data[j] = rgb[i];
    data.data[j + 1] = rgb[i + 1];
    data.data[j + 2] = rgb[i + 2];
    data.data[j + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
  const scale = px / Math.max(width, height);
  return h(`img.pixel-img${id ? `#${id}` : ""}`, {
    src: canvas.toDataURL("image/png"),
    alt,
    width: String(Math.round(width * scale)),
    height: String(Math.round(height * scale)),
  });
}
