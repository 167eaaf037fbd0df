// A small fleet on loopback: 20 daemons, each on its own simulated board (1 board × 4 chips), scraped by one real
// Prometheus through file-based service discovery (site/rack/miner labels) and, in the second phase, bridged to one
// mosquitto (TLS, password). Reports the scrape time per target, the broker's message rate, and what the bridge
// costs each daemon (CPU and memory against the first phase, measured in the same run).
// Run: make build && node --import tsx bench/fleet.ts [miners=20] [measureS=60]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { Simulator } from '../src/sim/board/simulator.js';
import { TestPool } from '../src/sim/pool/server.js';
import { freePort } from '../test/helpers/daemon.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';
import { cpuSeconds, rssMiB, spawnDaemon, stopChild } from './daemon.js';
import { median, percentile } from './lib.js';

const MINERS = Number(process.argv[2] ?? 20);
const MEASURE_S = Number(process.argv[3] ?? 60);
const WARM_S = Number(process.env.WARM_S ?? 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const root = await mkdtemp(join(tmpdir(), 'asicd-bench-fleet-'));

const pool = new TestPool({ difficulty: 1e-6, notifyIntervalMs: 30_000 });
await pool.start();
const sims: Simulator[] = [];
for (let i = 0; i < MINERS; i++) {
  const dir = join(root, `m${i}`);
  mkdirSync(dir);
  const sim = new Simulator({
    boards: 1,
    chips: 4,
    seed: i + 1,
    scaleShift: 30,
    link: 'tcp',
    dir,
    fans: 2,
    controlPort: 0,
  });
  await sim.start();
  sims.push(sim);
}
const brokerDir = join(root, 'broker');
mkdirSync(brokerDir);
const broker = await startMosquitto(brokerDir, { fleet: 'fleet-pw', observer: 'observer-pw' });

interface Phase {
  cpuPct: number[];
  rss: number[];
}

async function phase(mqtt: boolean, ports: number[]): Promise<{ phase: Phase; procs: ChildProcess[] }> {
  const procs: ChildProcess[] = [];
  for (let i = 0; i < MINERS; i++) {
    // a clean state folder each phase: the second must not inherit the first's files
    rmSync(join(root, `m${i}`, 'state'), { recursive: true, force: true });
    const extra: Record<string, unknown> = {
      api: { port: ports[i], cgminer_enabled: false },
      alerts: { miner_name: `m${i}` },
    };
    if (mqtt)
      extra.mqtt = {
        enabled: true,
        url: broker.url,
        username: 'fleet',
        password: 'fleet-pw',
        tls_ca_file: broker.caFile,
        node_id: `m${i}`,
        interval_s: 1,
      };
    procs.push(spawnDaemon(join(root, `m${i}`), 'asicd', sims[i], pool, extra));
  }
  await sleep(WARM_S * 1000);
  const cpu0 = procs.map((p) => cpuSeconds(p.pid ?? 0));
  const t0 = performance.now();
  await sleep(MEASURE_S * 1000);
  const wallS = (performance.now() - t0) / 1000;
  const cpuPct = procs.map((p, i) => ((cpuSeconds(p.pid ?? 0) - cpu0[i]) / wallS) * 100);
  const rss = procs.map((p) => rssMiB(p.pid ?? 0));
  return { phase: { cpuPct, rss }, procs };
}

const ports: number[] = [];
for (let i = 0; i < MINERS; i++) ports.push(await freePort());

// Prometheus with file-based discovery, the way docs/prometheus/fleet.yml sets it up
const promDir = join(root, 'prometheus');
mkdirSync(join(promDir, 'targets'), { recursive: true });
writeFileSync(
  join(promDir, 'targets', 'site-a.json'),
  JSON.stringify(
    ports.map((p, i) => ({
      targets: [`127.0.0.1:${p}`],
      labels: { site: 'a', rack: `r${Math.floor(i / 10)}`, miner: `m${i}` },
    })),
  ),
);
writeFileSync(
  join(promDir, 'prometheus.yml'),
  [
    'global: { scrape_interval: 5s, scrape_timeout: 4s }',
    'scrape_configs:',
    '  - job_name: asicd',
    '    file_sd_configs: [{ files: ["targets/*.json"], refresh_interval: 30s }]',
    '    relabel_configs:',
    '      - { source_labels: [miner], target_label: instance }',
    '',
  ].join('\n'),
);
const promPort = await freePort();
const prom = spawn(
  'prometheus',
  [
    `--config.file=${join(promDir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(promDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ],
  { stdio: ['ignore', 'ignore', 'ignore'] },
);
const promQuery = async (q: string) => {
  const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data.result.map((x) => Number(x.value[1]));
};

console.log(`fleet: ${MINERS} daemons × 1 board × 4 simulated chips, Prometheus every 5 s, ${MEASURE_S} s measured`);
const base = await phase(false, ports);
const scrapeBase = await promQuery(`scrape_duration_seconds{job="asicd"}`);
const up = (await promQuery('up{job="asicd"}')).filter((v) => v === 1).length;
for (const p of base.procs) await stopChild(p);

const observer = await connectAsync(broker.url, {
  ca: readFileSync(broker.caFile),
  username: 'observer',
  password: 'observer-pw',
});
let messages = 0;
observer.on('message', () => {
  messages++;
});
await observer.subscribeAsync('asicd/#');
const m0 = { n: 0, t: 0 };
setTimeout(() => {
  m0.n = messages;
  m0.t = performance.now();
}, WARM_S * 1000);
const bridged = await phase(true, ports);
const msgRate = (messages - m0.n) / ((performance.now() - m0.t) / 1000);
const scrapeBridged = await promQuery(`scrape_duration_seconds{job="asicd"}`);
const samples = await promQuery(`scrape_samples_scraped{job="asicd"}`);
const online = (await promQuery('asicd_mqtt_connected')).filter((v) => v === 1).length;
for (const p of bridged.procs) await stopChild(p);
await observer.endAsync();

const ms = (xs: number[]) =>
  `median ${(median(xs) * 1000).toFixed(1)} ms, p95 ${(percentile(xs, 95) * 1000).toFixed(1)} ms`;
console.log(`targets up: ${up}/${MINERS}; samples per scrape: median ${median(samples)}`);
console.log(`scrape time per target (no bridge): ${ms(scrapeBase)}; with the bridge: ${ms(scrapeBridged)}`);
console.log(`broker: ${msgRate.toFixed(0)} messages/s from ${online} connected miners (telemetry every 1 s)`);
const cpuB = median(base.phase.cpuPct);
const cpuM = median(bridged.phase.cpuPct);
const rssB = median(base.phase.rss);
const rssM = median(bridged.phase.rss);
console.log(
  `daemon CPU (median of ${MINERS}): ${cpuB.toFixed(2)} % of a core without the bridge, ${cpuM.toFixed(2)} % with it (ratio ${(cpuM / cpuB).toFixed(2)}, +${(cpuM - cpuB).toFixed(2)} points)`,
);
console.log(
  `daemon RSS (median): ${rssB.toFixed(1)} MiB without, ${rssM.toFixed(1)} MiB with the bridge (+${(rssM - rssB).toFixed(1)} MiB)`,
);

prom.kill('SIGTERM');
await new Promise((r) => prom.once('exit', r));
await broker.stop();
for (const s of sims) await s.stop();
await pool.stop();
rmSync(root, { recursive: true, force: true });
