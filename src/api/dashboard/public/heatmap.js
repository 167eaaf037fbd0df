// The chip heatmap: one row per board, one cell per chip, coloured by hash rate against the chip's ideal,
// temperature (nearest die sensor) or hardware-error rate; silent chips are struck through. Numbers on hover or tap.
import * as fmt from './fmt.js';

const RED = [248, 81, 73];
const AMBER = [210, 153, 34];
const GREEN = [63, 185, 80];
const BLUE = [56, 139, 253];

function mix(a, b, f) {
  const k = Math.max(0, Math.min(1, f));
  return `rgb(${a.map((x, i) => Math.round(x + (b[i] - x) * k)).join(',')})`;
}

/** three stops at 0, 0.5 and 1 */
function ramp3(a, b, c, f) {
  return f < 0.5 ? mix(a, b, f * 2) : mix(b, c, (f - 0.5) * 2);
}

export const MODES = {
  rate: {
    legend: ['≤ 50 %', '≥ 95 % of ideal'],
    ramp: [RED, AMBER, GREEN],
    // 50 % of ideal or less is fully red, 95 % or more fully green (a chip's rate is counted from few nonces)
    color: (c) => ramp3(RED, AMBER, GREEN, (c.ratio - 0.5) / 0.45),
  },
  temp: {
    legend: ['50 °C', '95 °C'],
    ramp: [BLUE, AMBER, RED],
    color: (c) => (c.tempC === null ? '#30363d' : ramp3(BLUE, AMBER, RED, (c.tempC - 50) / 45)),
  },
  hw: {
    legend: ['0', '≥ 2 % of replies bad'],
    ramp: [GREEN, AMBER, RED],
    color: (c) => ramp3(GREEN, AMBER, RED, c.errRate / 0.02),
  },
};

/** The die sensor nearest a chip: sensors are spread evenly along the chain (first to last chip). */
export function sensorFor(chip, chips, sensors) {
  if (sensors <= 0) return -1;
  if (sensors === chips) return chip;
  return Math.round((chip / Math.max(1, chips - 1)) * (sensors - 1));
}

/** Per-chip facts from a board view with its `chipList`. */
export function chipFacts(board) {
  const list = board.chipList ?? [];
  const per = list.length ? board.idealHashrateHs / list.length : 0;
  const sensors = board.temperatures?.chipsC ?? [];
  return list.map((c) => {
    const s = sensorFor(c.chip, list.length, sensors.length);
    const replies = c.nonces + c.hwErrors;
    return {
      ...c,
      board: board.board,
      idealHs: per,
      ratio: per > 0 ? c.hashrateHs / per : 0,
      sensor: s,
      sensors: sensors.length,
      tempC: s >= 0 ? sensors[s] : null,
      errRate: replies > 0 ? c.hwErrors / replies : 0,
    };
  });
}

export function renderLegend(el, mode) {
  const m = MODES[mode];
  el.replaceChildren();
  const lo = document.createElement('span');
  lo.textContent = m.legend[0];
  const bar = document.createElement('span');
  bar.className = 'ramp';
  bar.style.background = `linear-gradient(90deg, ${m.ramp.map((c) => `rgb(${c.join(',')})`).join(',')})`;
  const hi = document.createElement('span');
  hi.textContent = m.legend[1];
  const dead = document.createElement('span');
  const sw = document.createElement('span');
  sw.className = 'swatch chip dead';
  dead.append(sw, 'silent chip (no nonces)');
  el.append(lo, bar, hi, dead);
}

/** Draws or updates the grid; cells are kept between updates so hover stays put. */
export function renderHeatmap(el, boards, mode) {
  const rows = new Map([...el.children].map((r) => [r.dataset.board, r]));
  const seen = new Set();
  for (const b of boards) {
    const key = String(b.board);
    seen.add(key);
    let row = rows.get(key);
    if (!row) {
      row = document.createElement('div');
      row.className = 'heat-row';
      row.dataset.board = key;
      const label = document.createElement('div');
      label.className = 'heat-label';
      const cells = document.createElement('div');
      cells.className = 'heat-cells';
      row.append(label, cells);
      el.append(row);
    }
    const facts = chipFacts(b);
    row.firstChild.textContent = `Board ${b.board}`;
    const cells = row.lastChild;
    const expected = Math.max(facts.length, b.chipsExpected ?? 0);
    cells.style.setProperty('--chips', String(Math.max(1, expected)));
    while (cells.children.length < expected) {
      const c = document.createElement('button');
      c.type = 'button';
      c.className = 'chip';
      cells.append(c);
    }
    while (cells.children.length > expected) cells.lastChild.remove();
    for (let i = 0; i < expected; i++) {
      const cell = cells.children[i];
      const f = facts[i];
      cell.dataset.board = key;
      cell.dataset.chip = String(i);
      if (!f) {
        cell.className = 'chip absent';
        cell.style.background = '';
        cell.setAttribute('aria-label', `board ${b.board} chip ${i}: not found on the chain`);
        continue;
      }
      const dead = f.silent || b.state !== 'mining';
      cell.className = f.silent ? 'chip dead' : 'chip';
      // a silent chip is drawn by its class (striped); a board that is not mining greys every chip
      cell.style.background = f.silent ? '' : dead ? '#30363d' : MODES[mode].color(f);
      cell.setAttribute('aria-label', `board ${b.board} chip ${i}${f.silent ? ' silent' : ''}`);
    }
  }
  for (const [k, r] of rows) if (!seen.has(k)) r.remove();
}

/** Tooltip text rows for one chip. */
export function chipTip(f, now = Date.now()) {
  if (!f) return [['', 'not found on the chain']];
  return [
    ['Status', f.silent ? 'silent' : 'hashing'],
    ['Hash rate', fmt.hashrate(f.hashrateHs)],
    ['Ideal', `${fmt.hashrate(f.idealHs)} (${fmt.pct(f.ratio)})`],
    ['Temperature', f.tempC === null ? '—' : `${fmt.celsius(f.tempC)} (sensor ${f.sensor + 1}/${f.sensors})`],
    ['Nonces', fmt.int(f.nonces)],
    ['HW errors', `${fmt.int(f.hwErrors)} (${fmt.pct(f.errRate)})`],
    ['Stale', fmt.int(f.stale)],
    ['Lost replies', fmt.int(f.lostReplies)],
    ['Last nonce', fmt.ago(f.lastNonceMs, now)],
  ];
}
