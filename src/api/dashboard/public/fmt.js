// Number formatting for the dashboard: SI prefixes, fixed significant digits, durations.

const SI = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** 1234e9 → "1.23 TH/s" */
export function hashrate(hs) {
  if (hs === null || hs === undefined || !Number.isFinite(hs)) return '—';
  let v = Math.abs(hs);
  let i = 0;
  while (v >= 1000 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  return `${sig(Math.sign(hs) * v)} ${SI[i]}H/s`;
}

/** three significant digits, no exponent */
export function sig(v) {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return v.toFixed(digits);
}

export function int(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

/** watts with an SI prefix: the simulator's scale model draws microwatts, a real board kilowatts */
export function watts(w) {
  if (!Number.isFinite(w)) return '—';
  if (w === 0) return '0 W';
  if (w >= 1 && w < 10_000) return `${Math.round(w).toLocaleString('en-US')} W`;
  const prefixes = [
    [1e3, 'k'],
    [1, ''],
    [1e-3, 'm'],
    [1e-6, 'µ'],
    [1e-9, 'n'],
  ];
  const [f, p] = prefixes.find(([f]) => Math.abs(w) >= f) ?? prefixes[prefixes.length - 1];
  return `${sig(w / f)} ${p}W`;
}

export function celsius(c) {
  return Number.isFinite(c) ? `${c.toFixed(1)} °C` : '—';
}

export function pct(x) {
  return Number.isFinite(x) ? `${(x * 100).toFixed(x >= 0.995 && x < 1.005 ? 0 : 1)} %` : '—';
}

/** a share difficulty: 12345678 → "12.3M" */
export function difficulty(d) {
  if (!Number.isFinite(d) || d <= 0) return '—';
  if (d < 1) return d.toPrecision(3);
  let v = d;
  let i = 0;
  while (v >= 1000 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  return `${sig(v)}${SI[i]}`;
}

export function duration(s) {
  if (!Number.isFinite(s)) return '—';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  return `${m}m ${Math.floor(s % 60)}s`;
}

export function clock(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString('en-GB', { hour12: false });
}

/** "2 s ago" for a past time in ms (0: never) */
export function ago(ms, now = Date.now()) {
  if (!ms) return 'never';
  return `${duration(Math.max(0, (now - ms) / 1000))} ago`;
}
