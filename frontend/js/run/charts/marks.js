// The marks over a run's charts (an early stop, a schedule edit, the step a trigger was
// recovered): each is a vertical line through the plot (charts.js) and a label in a row of
// its own above the plot area, over the phase labels, so no label hides a line. Marks whose
// labels would touch are one label ("early stop · ✎ edit"), their full texts in its hover.
// A label stays inside the plot's width: it ends at its mark near the right edge, is
// shifted in where neither side has room, and a text wider than the plot gives way to the
// mark's short text (its long one stays in the hover).

export const MARK_ROW_PX = 18; // the marks' row, above the phase labels' row (both in the top margin)
const CHAR_PX = 6.5; // about one character of the 11 px label font
const GAP_PX = 8;

/**
 * marks: [{step, text, short?, hover, color, name}]; end: the x axis' extent in steps;
 * width: the plot area's width in px. Returns the labels, left to right: [{step, text,
 * hover, color, names, xanchor, xshift}], each placed at its first mark's step.
 */
export function markLabels(marks, end, width) {
  const fitted = marks.map((m) => (m.short && m.text.length * CHAR_PX > width ? { ...m, text: m.short } : m));
  const px = (step) => (end > 0 ? (step / end) * width : 0);
  const groups = [];
  // by step; at one step by name (early-stop, edit-marker, trigger-found): a fixed order
  for (const m of [...fitted].sort((a, b) => a.step - b.step || a.name.localeCompare(b.name))) {
    const last = groups[groups.length - 1];
    if (last && px(m.step) < last.right + GAP_PX) {
      last.items.push(m);
      last.right = Math.max(last.right, last.left + labelText(last.items).length * CHAR_PX);
      continue;
    }
    const left = px(m.step);
    groups.push({ step: m.step, left, right: left + m.text.length * CHAR_PX, items: [m] });
  }
  return groups.map(({ step, left, items }) => {
    let text = labelText(items);
    if (text.length * CHAR_PX > width && items.every((m) => m.short)) text = labelText(items.map((m) => ({ ...m, text: m.short })));
    const one = items.every((m) => m.color === items[0].color);
    const textPx = text.length * CHAR_PX;
    // left of its mark when it fits there, else right of it, else shifted into the plot
    const fitsRight = left + textPx <= width;
    const fitsLeft = left - textPx >= 0;
    const xanchor = fitsRight || !fitsLeft ? "left" : "right";
    const xshift = fitsRight || fitsLeft ? 0 : Math.round(Math.max(-left, width - left - textPx));
    return {
      step,
      text,
      hover: items.map((m) => m.hover).join("<br>"),
      color: one ? items[0].color : "#3e4c59",
      names: [...new Set(items.map((m) => m.name))],
      xanchor,
      xshift,
    };
  });
}

/** "early stop · ✎ edit ×2": each text once, in step order, with how often it occurs. */
function labelText(items) {
  const counts = new Map();
  for (const m of items) counts.set(m.text, (counts.get(m.text) || 0) + 1);
  return [...counts].map(([text, n]) => (n > 1 ? `${text} ×${n}` : text)).join(" · ");
}

/** The Plotly annotation of a label, in the top margin's marks row. */
export function markAnnotation(label) {
  return {
    x: label.step, y: 1, xref: "x", yref: "paper", xanchor: label.xanchor, yanchor: "bottom",
    yshift: MARK_ROW_PX, xshift: label.xshift || 0, showarrow: false, font: { size: 11, color: label.color },
    text: label.text, hovertext: label.hover, name: label.names.join("+"),
  };
}

/** Whether any phase of the schedule uses the EWC penalty (ewc_lambda > 0). */
export function usesEwc(schedule) {
  return (schedule || []).some((p) => Number(p?.ewc_lambda) > 0);
}
