// Measured series as the charts draw them: points where something was measured, and a
// gap (null) where the monitor skipped much more than its usual interval, so a line never
// runs straight across steps nobody measured.

/**
 * {x, y} with a null inserted between two points further apart than `factor` times the
 * series' median interval (at least `minGap` steps).
 */
export function withGaps(steps, values, { factor = 2, minGap = 2 } = {}) {
  const x = [];
  const y = [];
  if (!steps.length) return { x, y };
  const limit = Math.max(minGap, factor * medianInterval(steps));
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
