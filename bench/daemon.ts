// Shared by the benchmarks that run the built daemon as a child process on the in-process simulator and test pool.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import type { Simulator } from '../src/sim/board/simulator.js';
import { simMinerConfig } from '../src/sim/miner-config.js';
import type { TestPool } from '../src/sim/pool/server.js';

const root = new URL('..', import.meta.url).pathname;

/** Starts `bin/asicd.js run` (build first) on every simulated board, mining on `pool`. */
export function spawnDaemon(
  dir: string,
  name: string,
  sim: Simulator,
  pool: { url: string },
  extra: Record<string, unknown>,
): ChildProcess {
  const file = join(dir, `${name}.toml`);
  const config = simMinerConfig({
    dir,
    boards: sim.info(),
    hwmon: sim.hwmonDir,
    fans: sim.o.fans,
    chips: sim.o.chips,
    pool: { url: pool.url, user: 'bench' },
    extra: { log: { level: 'warn', stats_interval_s: 0 }, ...extra },
  });
  writeFileSync(file, stringify(config));
  return spawn(process.execPath, [...unitNodeFlags(), join(root, 'bin/asicd.js'), 'run', '--config', file], {
    stdio: ['ignore', process.env.BENCH_DAEMON_STDOUT ? 'inherit' : 'ignore', 'inherit'],
    env: { ...process.env, ...unitEnvironment() },
  });
}

/** The unit's Environment= settings (the allocator's among them), so benches run the daemon as systemd does. */
export function unitEnvironment(): Record<string, string> {
  const unit = readFileSync(join(root, 'systemd/asicd.service'), 'utf8');
  const env: Record<string, string> = {};
  for (const m of unit.matchAll(/^Environment=(\S+?)=(\S*)$/gm)) env[m[1]] = m[2];
  return env;
}

/** The V8 flags of the systemd unit's ExecStart, so benches measure the daemon as it runs on a controller. */
export function unitNodeFlags(): string[] {
  const unit = readFileSync(join(root, 'systemd/asicd.service'), 'utf8');
  const exec = /^ExecStart=\S+ (.*)$/m.exec(unit)?.[1] ?? '';
  // every option before the script
  const args = exec.split(/\s+/);
  // BENCH_NODE_FLAGS adds flags to try (a V8 setting measured before it goes into the unit)
  const more = process.env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  return [
    ...args.slice(
      0,
      args.findIndex((a) => !a.startsWith('--')),
    ),
    ...more,
  ];
}

export async function stopChild(p: ChildProcess): Promise<void> {
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await done;
}

/** utime + stime of a process in seconds (USER_HZ = 100). */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/**
 * Nonce reply written by a simulated chip → mining.submit received by the pool, matched by nonce. Both ends live
 * in this process, so they share one clock. `take()` returns the latencies so far and starts a new list.
 */
export function submitLatencyProbe(sim: Simulator, pool: TestPool): { take: () => number[] } {
  return latencyProbe(
    sim,
    () => performance.now(),
    (fn) => pool.on('submit', (params: unknown[], at: number) => fn(Number.parseInt(String(params[4]), 16), at)),
  );
}

/**
 * Send time of each nonce the simulator writes (on `clock`), matched with the arrival time `onSubmit` reports for
 * it at the pool (on the same clock): the latencies since the last take().
 */
function latencyProbe(
  sim: Simulator,
  clock: () => number,
  onSubmit: (fn: (nonce: number, atMs: number) => void) => void,
): { take: () => number[] } {
  const sentAt = new Map<number, number>();
  let latencies: number[] = [];
  sim.on('nonces-sent', (_b: number, nonces: number[]) => {
    const t = clock();
    for (const n of nonces) sentAt.set(n, t);
    if (sentAt.size > 200_000) sentAt.clear();
  });
  onSubmit((nonce, at) => {
    const t = sentAt.get(nonce);
    if (t !== undefined) latencies.push(at - t);
  });
  return {
    take: () => {
      const out = latencies;
      latencies = [];
      return out;
    },
  };
}

/** The test pool in its own process (bench/pool-process.ts): its url, its submits' arrival times, and a stop. */
export interface PoolProcess {
  url: string;
  /** nonce and arrival time (performance.timeOrigin + performance.now() in the pool's process), as they come */
  onSubmit: (fn: (nonce: number, atMs: number) => void) => void;
  stop: () => Promise<void>;
}

export async function startPoolProcess(options: Record<string, unknown>): Promise<PoolProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/pool-process.ts'), JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    p.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    p.once('exit', (code) => reject(new Error(`the pool process ended (exit ${code}) before listening`)));
  });
  const listeners: ((nonce: number, atMs: number) => void)[] = [];
  p.on('message', (batch: [number, number][]) => {
    for (const [nonce, at] of batch) for (const fn of listeners) fn(nonce, at);
  });
  return {
    url,
    onSubmit: (fn) => listeners.push(fn),
    stop: () => stopChild(p),
  };
}

/**
 * Nonce → submit latency with the pool in its own process: from the simulator writing the nonce (the bench's
 * process) to the pool process reading the submit, both on the cross-process clock.
 */
export function crossProcessLatencyProbe(sim: Simulator, pool: PoolProcess): { take: () => number[] } {
  return latencyProbe(sim, () => performance.timeOrigin + performance.now(), pool.onSubmit);
}
