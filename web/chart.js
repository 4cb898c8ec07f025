// Line charts of balances over months, drawn with uPlot on a canvas; a table beside each chart carries the
// same figures for anyone who cannot see it.

// uPlot's minified build (a classic script in index.html, about 50 KB) defines the global `uPlot`; its ES
// module build is unminified, three times the size.

const COLOURS = ["#1f5fbf", "#c2410c", "#15803d", "#7c3aed"];

/** The first day of a `YYYY-MM` month as Unix seconds (UTC), uPlot's time axis. */
function seconds(month) {
  const [year, number] = month.split("-").map(Number);
  return Date.UTC(year, number - 1, 1) / 1000;
}

/**
 * Draws one line per series over `months` (`YYYY-MM`, ascending) into `target`: `series` is a list of
 * `{label, values}` with one number (or null) per month. Answers the uPlot instance.
 */
export function lineChart(target, title, months, series) {
  target.replaceChildren();
  const width = Math.max(280, Math.min(target.clientWidth || 640, 900));
  const options = {
    title,
    width,
    height: 260,
    scales: { x: { time: true } },
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2 }))],
    axes: [{}, { size: 80, values: (_, ticks) => ticks.map((t) => t.toLocaleString()) }],
  };
  const data = [months.map(seconds), ...series.map((s) => s.values)];
  return new globalThis.uPlot(options, data, target);
}
