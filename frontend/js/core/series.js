// Measured series as the charts draw them: points where something was measured, and a
// gap (null) where the monitor skipped much more than its usual interval, so a line never
// runs straight across steps nobody measured.

/**
 * {x, y} with a null inserted between two points further apart than `factor` times the
 * usual interval: the series' median interval (once it has 3 or more), but never less
 * than `expected` (the configured measuring interval, 0 if unknown), at least `minGap`.
 */
export function withGaps(steps, values, { expected = 0, factor = 2, minGap = 2 } = {}) {
  const x = [];
  const y = [];
  if (!steps.length) return { x, y };
  const median = steps.length > 3 ? medianInterval(steps) : 0;
  const limit = Math.max(minGap, factor * Math.max(expected, median || (expected ? 0 : medianInterval(steps))));
  for (let i = 0; i < steps.length; i++) {
    if (i > 0 && steps[i] - steps[i - 1] > limit) {
      x.push((steps[i] + steps[i - 1]) / 2);
      y.push(null);
    }
    x.push(steps[i]);
    y.push(values[i]);
  }
  return { x, y };
}

export function medianInterval(steps) {
  const d = [];
  for (let i = 1; i < steps.length; i++) d.push(steps[i] - steps[i - 1]);
  if (!d.length) return 0;
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)];
}
