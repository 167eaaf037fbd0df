// Shared by the benchmarks: run a body repeatedly for a time budget, report operations per second, median of runs.

export function opsPerSecond(body: (n: number) => void, ms = 400): number {
  // warm up so the JIT has settled before timing
  for (let i = 0; i < 2000; i++) body(i);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let k = 0; k < 256; k++) body(n++);
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export function runs<T>(n: number, f: () => T): T[] {
  return Array.from({ length: n }, f);
}

export function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1);
}
