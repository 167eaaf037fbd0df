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
  pool: TestPool,
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
    stdio: ['ignore', 'ignore', 'inherit'],
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
  return args.slice(
    0,
    args.findIndex((a) => !a.startsWith('--')),
  );
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
  const sentAt = new Map<number, number>();
  let latencies: number[] = [];
  sim.on('nonces-sent', (_b: number, nonces: number[]) => {
    const t = performance.now();
    for (const n of nonces) sentAt.set(n, t);
    if (sentAt.size > 200_000) sentAt.clear();
  });
  pool.on('submit', (params: unknown[], at: number) => {
    const t = sentAt.get(Number.parseInt(String(params[4]), 16));
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
