import { EventEmitter } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Fastify, { type FastifyInstance } from 'fastify';
import { RATINGS } from '../../device/maijie-l7/ratings.js';
import { FAULT_BITS } from '../../device/maijie-l7/registers.js';
import { SimBoard } from './board.js';
import { PtyEndpoint, type SimEndpoint, TcpEndpoint } from './endpoints.js';
import type { FromHasher, ToHasher } from './hasher-protocol.js';
import { tuningOracleReply } from './oracle-tuning.js';
import { airflow, approach, chipPowerW, MODEL, maxStableMHz } from './physics.js';

/** Every fault the simulator can apply (POST /fault {"kind": …}). */
export const FAULT_KINDS = [
  'dead-chip',
  'broken-chain',
  'uart-noise',
  'stuck-fan',
  'fans-lost',
  'inlet',
  'supply-sag',
  'over-temp',
  'over-current',
  'watchdog-trip',
  'mcu-lost',
  'power-stuck',
  'outlet-sensor',
  'reply-delay',
  'unplug',
  'replug',
] as const;

export interface SimulatorOptions {
  boards: number;
  chips: number;
  seed: number;
  scaleShift: number;
  /** 'pty': socat pseudo-terminal pairs in `dir`; 'tcp': tcp:// listeners on loopback. */
  link: 'pty' | 'tcp';
  /** Folder for ptys and the hwmon folder. */
  dir: string;
  fans: number;
  /** Loopback port of the control endpoint (0 = any). */
  controlPort: number;
  /** Thermal time constant of chips and boards, s (default the model's; tests shorten it). */
  thermalTauS?: number;
  /**
   * Fixed loopback ports, so a hand-written daemon config stays valid across restarts: board i's MCU listens on
   * basePort + 2i, its tcp:// UART (link 'tcp') on basePort + 2i + 1. Unset: any free ports.
   */
  basePort?: number;
  /** Model job exhaustion at the chips' real-equivalent rate (exhaustion.ts). */
  exhaustion?: boolean;
}

export interface SimBoardInfo {
  index: number;
  uart: string;
  spi: string;
}

/**
 * The Maijie L7 scale model: N boards of M chips, each with a UART and an MCU endpoint, the controller's fans as a
 * hwmon folder, faults on demand and an oracle, all behind a control endpoint bound to loopback.
 */
export class Simulator extends EventEmitter {
  readonly boards: SimBoard[] = [];
  readonly hwmonDir: string;
  fanRpm: number[];
  stuckFans = new Set<number>();
  /** the fan controller's hwmon driver is gone: no fanK_input files */
  fansLost = false;
  /** the room's air temperature, °C (fault 'inlet') */
  inletC: number = MODEL.inletC;
  private worker: Worker | undefined;
  private physics: NodeJS.Timeout | undefined;
  /** the physics step in flight: stop waits for it, so nothing writes into a folder about to be removed */
  private stepping: Promise<void> | undefined;
  private control: FastifyInstance | undefined;
  private lastStep = Date.now();

  constructor(readonly o: SimulatorOptions) {
    super();
    this.hwmonDir = join(o.dir, 'hwmon');
    this.fanRpm = Array.from({ length: o.fans }, () => 0);
  }

  get controlUrl(): string {
    const a = this.control?.server.address();
    return a && typeof a === 'object' ? `http://127.0.0.1:${a.port}` : '';
  }

  info(): SimBoardInfo[] {
    return this.boards.map((b) => ({ index: b.index, uart: b.uart.hostPath, spi: b.mcu.hostPath }));
  }

  async start(): Promise<void> {
    mkdirSync(this.hwmonDir, { recursive: true });
    for (let i = 1; i <= this.o.fans; i++) {
      writeFileSync(join(this.hwmonDir, `pwm${i}`), '255\n');
      writeFileSync(join(this.hwmonDir, `pwm${i}_enable`), '2\n');
      writeFileSync(join(this.hwmonDir, `fan${i}_input`), '0\n');
    }
    writeFileSync(join(this.hwmonDir, 'name'), 'asicd-sim\n');
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const url = new URL(`./hasher-worker${ext}`, import.meta.url);
    // From source (tests, tsx) the worker registers the TypeScript loader itself before loading its module.
    this.worker =
      ext === '.ts'
        ? new Worker(
            `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`,
            { eval: true },
          )
        : new Worker(url);
    this.worker.on('message', (m: FromHasher) => this.boards[m.board]?.deliver(m.list, m.hashes));
    this.worker.on('error', (e) => {
      process.stderr.write(`simulator hashing thread failed: ${e.stack ?? e.message}\n`);
    });
    const base = this.o.basePort;
    const portOf = (board: number, which: 0 | 1) => (base ? base + 2 * board + which : 0);
    for (let i = 0; i < this.o.boards; i++) {
      const uart: SimEndpoint =
        this.o.link === 'pty' ? new PtyEndpoint(this.o.dir, `board${i}-uart`) : new TcpEndpoint(portOf(i, 1));
      const mcu: SimEndpoint = new TcpEndpoint(portOf(i, 0));
      await uart.start();
      await mcu.start();
      const post = (m: ToHasher) => this.worker?.postMessage(m);
      const board = new SimBoard(i, this.o.chips, this.o.seed, this.o.scaleShift, uart, mcu, {
        hasher: (m) => post({ ...m, board: i } as ToHasher),
        airflow: () => airflow(this.fanRpm),
        onJob: (jobId) => this.emit('job', i, jobId),
        onNoncesSent: (nonces) => this.emit('nonces-sent', i, nonces),
        thermalTauS: this.o.thermalTauS ?? MODEL.thermalTauS,
        inletC: () => this.inletC,
        exhaustion: this.o.exhaustion === true,
      });
      this.boards.push(board);
    }
    this.physics = setInterval(() => {
      this.stepping = this.step();
    }, 250);
    await this.startControl();
  }

  private async step(): Promise<void> {
    const now = Date.now();
    const dt = (now - this.lastStep) / 1000;
    this.lastStep = now;
    for (let i = 1; i <= this.o.fans; i++) {
      let pwm = 255;
      try {
        pwm = Number.parseInt(await readFile(join(this.hwmonDir, `pwm${i}`), 'utf8'), 10);
      } catch {
        // a half-written file: keep the last speed
      }
      // stopped meanwhile: the folder may be gone
      if (this.stopped) return;
      const target = this.stuckFans.has(i) ? 0 : (Math.max(0, Math.min(255, pwm || 0)) / 255) * MODEL.fanMaxRpm;
      this.fanRpm[i - 1] = approach(this.fanRpm[i - 1], target, dt, MODEL.fanTauS);
      const file = join(this.hwmonDir, `fan${i}_input`);
      if (this.fansLost) rmSync(file, { force: true });
      else writeFileSync(file, `${Math.round(this.fanRpm[i - 1])}\n`);
    }
    for (const b of this.boards) b.step(dt);
  }

  private stopped = false;

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.physics);
    await this.stepping;
    await this.control?.close();
    for (const b of this.boards) await Promise.all([b.uart.stop(), b.mcu.stop()]);
    this.worker?.postMessage({ t: 'stop' } satisfies ToHasher);
    await this.worker?.terminate();
  }

  /** Applies one fault; returns an error text for a bad request. */
  async fault(f: Record<string, unknown>): Promise<string | undefined> {
    const kind = f.kind;
    const board = typeof f.board === 'number' ? this.boards[f.board] : undefined;
    const needBoard = () => (board ? undefined : `board must be 0–${this.boards.length - 1}`);
    const on = f.on !== false;
    switch (kind) {
      case 'dead-chip': {
        if (!board) return needBoard();
        const chip = f.chip;
        if (typeof chip !== 'number' || !board.chips[chip]) return `chip must be 0–${board.chips.length - 1}`;
        board.chips[chip].dead = on;
        board.pushChips();
        return undefined;
      }
      case 'broken-chain': {
        if (!board) return needBoard();
        const at = f.at;
        if (at === null || at === undefined) board.faults.brokenAt = undefined;
        else if (typeof at !== 'number' || at < 0 || at > board.chips.length) return 'at must be a chip index or null';
        else board.faults.brokenAt = at;
        board.pushChips();
        return undefined;
      }
      case 'uart-noise': {
        if (!board) return needBoard();
        const rate = f.rate;
        if (typeof rate !== 'number' || rate < 0 || rate > 1) return 'rate must be 0–1 (corrupted bytes per byte)';
        board.faults.noiseRate = rate;
        return undefined;
      }
      case 'stuck-fan': {
        const fan = f.fan;
        if (typeof fan !== 'number' || fan < 1 || fan > this.o.fans) return `fan must be 1–${this.o.fans}`;
        if (on) this.stuckFans.add(fan);
        else this.stuckFans.delete(fan);
        return undefined;
      }
      case 'inlet': {
        const c = f.celsius;
        if (!on) this.inletC = MODEL.inletC;
        else if (typeof c !== 'number' || !(c >= -10 && c <= 60)) return 'celsius must be −10–60 (inlet air)';
        else this.inletC = c;
        return undefined;
      }
      case 'fans-lost':
        this.fansLost = on;
        return undefined;
      case 'supply-sag':
        if (!board) return needBoard();
        board.faults.supplySag = on;
        board.pushChips();
        return undefined;
      case 'over-temp':
        if (!board) return needBoard();
        board.faults.overTemp = on;
        return undefined;
      case 'mcu-lost':
        if (!board) return needBoard();
        board.faults.mcuLost = on;
        return undefined;
      case 'power-stuck':
        if (!board) return needBoard();
        board.faults.powerStuck = on;
        return undefined;
      case 'over-current':
        if (!board) return needBoard();
        if (on) board.trip(FAULT_BITS.OVER_CURRENT);
        return undefined;
      case 'watchdog-trip':
        if (!board) return needBoard();
        if (on) board.trip(FAULT_BITS.WATCHDOG);
        return undefined;
      case 'outlet-sensor': {
        if (!board) return needBoard();
        const c = f.celsius;
        if (!on) board.faults.outletSensorC = undefined;
        else if (typeof c !== 'number' || !(c >= -40 && c <= 150))
          return 'celsius must be −40–150 (what the sensor reads)';
        else board.faults.outletSensorC = c;
        return undefined;
      }
      case 'reply-delay': {
        if (!board) return needBoard();
        const ms = f.ms;
        if (!on) board.faults.replyDelayMs = 0;
        else if (typeof ms !== 'number' || !(ms >= 0 && ms <= 10_000)) return 'ms must be 0–10000 (reply delay)';
        else board.faults.replyDelayMs = ms;
        return undefined;
      }
      case 'unplug':
        if (!board) return needBoard();
        await board.unplug();
        return undefined;
      case 'replug':
        if (!board) return needBoard();
        await board.replug();
        return undefined;
      default:
        return `kind must be one of ${FAULT_KINDS.join(', ')}`;
    }
  }

  oracle() {
    return {
      scaleShift: this.o.scaleShift,
      fansLost: this.fansLost,
      inletC: this.inletC,
      fans: this.fanRpm.map((rpm, i) => ({ fan: i + 1, rpm, stuck: this.stuckFans.has(i + 1) })),
      boards: this.boards.map((b) => b.oracle()),
    };
  }

  /**
   * The best a board can do within `powerW` (real-sized watts): for each voltage, every chip at its stable limit
   * (scaled down evenly if over the budget); the setting with the most hash rate wins, ties to the lowest J/TH.
   */
  best(boardIndex: number, powerW: number) {
    const b = this.boards[boardIndex];
    if (!b) return undefined;
    let best: { voltageMv: number; freqsMHz: number[]; hashrateHs: number; powerW: number; jPerTh: number } | undefined;
    for (let mv = MODEL.boardMinMv; mv <= MODEL.boardMaxMv; mv += 10) {
      let freqs = b.chips.map((c) =>
        Math.min(RATINGS.freqMaxMHz, Math.max(RATINGS.freqMinMHz, maxStableMHz(c.baseMaxMHz, mv, c.tempC))),
      );
      const powerAt = (fs: number[]) => fs.reduce((a, f, i) => a + chipPowerW(f, mv, b.chips[i].tempC), 0);
      let p = powerAt(freqs);
      if (p > powerW) {
        // leakage does not scale with frequency: scale only the dynamic part to meet the budget
        const leak = powerAt(freqs.map(() => 0));
        const scale = (powerW - leak) / (p - leak);
        if (scale <= 0) continue;
        freqs = freqs.map((f) => Math.max(RATINGS.freqMinMHz, f * scale));
        p = powerAt(freqs);
        if (p > powerW * 1.001) continue;
      }
      const hashrateHs = freqs.reduce((a, f) => a + f * 1e6 * MODEL.cores, 0);
      const jPerTh = p / (hashrateHs / 1e12);
      if (
        !best ||
        hashrateHs > best.hashrateHs * 1.0001 ||
        (hashrateHs >= best.hashrateHs * 0.9999 && jPerTh < best.jPerTh)
      ) {
        best = { voltageMv: mv, freqsMHz: freqs, hashrateHs, powerW: p, jPerTh };
      }
    }
    return best;
  }

  private async startControl(): Promise<void> {
    const app = Fastify({ logger: false, bodyLimit: 4096 });
    app.get('/oracle', async () => this.oracle());
    app.get('/boards', async () => this.info());
    app.get<{ Querystring: { board?: string; power_w?: string } }>('/oracle/best', async (req, reply) => {
      const board = Number(req.query.board ?? 0);
      const powerW = Number(req.query.power_w);
      if (!Number.isFinite(powerW) || powerW <= 0)
        return reply.code(400).send({ error: 'power_w must be a positive number' });
      const best = this.best(board, powerW);
      if (!best) return reply.code(404).send({ error: `no board ${board}` });
      return best;
    });
    app.get<{ Querystring: { board?: string; power_w?: string } }>('/oracle/tuning', async (req, reply) => {
      const r = tuningOracleReply(this, req.query);
      return reply.code(r.status).send(r.body);
    });
    app.post('/fault', async (req, reply) => {
      const body = req.body;
      if (body === null || typeof body !== 'object') return reply.code(400).send({ error: 'expected a JSON object' });
      const err = await this.fault(body as Record<string, unknown>);
      if (err) return reply.code(400).send({ error: err });
      return { ok: true };
    });
    // loopback only: faults must never be reachable from the network
    await app.listen({ host: '127.0.0.1', port: this.o.controlPort });
    this.control = app;
  }
}
