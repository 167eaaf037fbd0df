// Time-series charts on uPlot (loaded as a classic script before this module): dark theme, sized to their box.
import * as fmt from './fmt.js';

export const PALETTE = ['#f7931a', '#58a6ff', '#3fb950', '#bc8cff', '#ff7b72', '#39c5cf', '#e3b341', '#f778ba'];
const AXIS = { stroke: '#8b98a6', grid: { stroke: 'rgba(139,152,166,.12)', width: 1 }, ticks: { show: false } };
const two = (n) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Time ticks as short as the tick spacing allows: 12:34:56, 12:34, or 23 Nov 12:00. */
function timeTicks(_u, ticks, _axis, _space, incr) {
  return ticks.map((t) => {
    const d = new Date(t * 1000);
    if (incr < 60) return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
    if (incr < 86_400 && d.getHours() + d.getMinutes() > 0) return `${two(d.getHours())}:${two(d.getMinutes())}`;
    return `${d.getDate()} ${MONTHS[d.getMonth()]}`;
  });
}

const valueFmt = {
  hash: (v) => fmt.hashrate(v),
  watt: (v) => fmt.watts(v),
  temp: (v) => (v === null ? '—' : `${v.toFixed(1)} °C`),
  count: (v) => (v === null ? '—' : fmt.int(v)),
};
const axisFmt = {
  hash: (_u, ticks) => ticks.map((v) => fmt.hashrate(v)),
  watt: (_u, ticks) => ticks.map((v) => fmt.watts(v)),
  temp: (_u, ticks) => ticks.map((v) => `${v} °C`),
  count: (_u, ticks) => ticks.map((v) => fmt.int(v)),
};

/**
 * A chart in `el`. `series`: [{label, color, unit: 'hash'|'watt'|'temp'|'count', dash?, width?}]; units map to a
 * left (first unit) and right (second unit) axis.
 */
export function timeChart(el, series, height = 220) {
  const units = [...new Set(series.map((s) => s.unit))];
  const opts = {
    width: Math.max(200, el.clientWidth),
    height,
    cursor: { points: { size: 6 }, drag: { x: false, y: false } },
    legend: { live: true },
    scales: {
      x: { time: true },
      ...Object.fromEntries(
        units.map((u) => [u, { auto: true, range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] }]),
      ),
    },
    axes: [
      { ...AXIS, space: 70, values: timeTicks },
      ...units.map((u, i) => ({
        ...AXIS,
        scale: u,
        side: i === 0 ? 3 : 1,
        size: 70,
        values: axisFmt[u],
        grid: i === 0 ? AXIS.grid : { show: false },
      })),
    ],
    series: [
      { value: (_u, t) => (t ? new Date(t * 1000).toLocaleString('en-GB') : '—') },
      ...series.map((s) => ({
        label: s.label,
        scale: s.unit,
        stroke: s.color,
        width: s.width ?? 1.6,
        dash: s.dash,
        spanGaps: false,
        points: { show: false },
        value: (_u, v) => valueFmt[s.unit](v),
        fill: s.fill,
      })),
    ],
  };
  const plot = new window.uPlot(opts, [[], ...series.map(() => [])], el);
  const ro = new ResizeObserver(() => {
    const w = Math.max(200, el.clientWidth);
    if (Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height });
  });
  ro.observe(el);
  return {
    plot,
    set(data) {
      plot.setData(data);
    },
  };
}
