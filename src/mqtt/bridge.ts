import { readFileSync } from 'node:fs';
import type { IClientOptions, MqttClient } from 'mqtt';
import { AuditLog } from '../api/auth.js';
import { boardView, poolsView } from '../api/views.js';
import type { MqttConfig } from '../config/schema.js';
import type { Miner } from '../miner.js';
import type { AlertEvent } from '../monitor/alerts/history.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import { runCommand } from './commands.js';
import { discoveryMessages } from './discovery.js';
import { summaryPayload } from './telemetry.js';
import { Topics } from './topics.js';

/** Largest command payload read; anything longer is refused unread. */
const MAX_COMMAND_BYTES = 1024;
/**
 * Commands taken per second, with a short burst: a broker or publisher that floods cmd/ costs at most this many
 * command runs, log lines, audit lines and results; the rest are dropped unread (counted, one warning a minute).
 */
const COMMANDS_PER_S = 5;
const COMMAND_BURST = 20;
/** Commands waiting for the one before them (pause and resume take seconds); beyond it new ones are dropped. */
const MAX_PENDING_COMMANDS = 20;
const DROP_WARN_INTERVAL_MS = 60_000;

export interface MqttStats {
  connected: boolean;
  published: number;
  /** telemetry and events not sent because the broker was away and the outbox was full */
  dropped: number;
  commands: number;
  refused: number;
  /** commands not run: over the rate limit, or retained (a retained command would replay on every connect) */
  commandsDropped: number;
  connects: number;
}

/**
 * Telemetry to the broker (retained state under <prefix>/<node>/…), alert events, Home Assistant discovery, and
 * commands from <prefix>/<node>/cmd/<name> with the REST roles. A broker that is away costs a bounded outbox and a
 * reconnect every few seconds; nothing here blocks mining.
 */
export class MqttBridge implements Component {
  readonly name = 'mqtt';
  readonly topics: Topics;
  readonly stats: MqttStats = {
    connected: false,
    published: 0,
    dropped: 0,
    commands: 0,
    refused: 0,
    commandsDropped: 0,
    connects: 0,
  };
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly outbox: { topic: string; payload: string; retain: boolean }[] = [];
  private commandChain: Promise<void> = Promise.resolve();
  private pendingCommands = 0;
  private commandTokens = COMMAND_BURST;
  // monotonic: a wall-clock jump back (NTP on a controller without RTC) must not starve commands
  private commandTokensAtMs = performance.now();
  private lastDropWarnMs = Number.NEGATIVE_INFINITY;
  private readonly audit: AuditLog;
  private readonly onAlert = (e: AlertEvent) => this.publish(this.topics.alerts, JSON.stringify(e), false);

  constructor(
    private readonly cfg: MqttConfig,
    private readonly miner: Miner,
    private readonly log: Logger,
  ) {
    this.topics = new Topics(cfg);
    this.audit = new AuditLog(miner.config.daemon.state_dir);
  }

  async start(): Promise<void> {
    const opts: IClientOptions = {
      clientId: `asicd-${this.topics.node}`,
      username: this.cfg.username || undefined,
      password: this.cfg.password || undefined,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 5000,
      connectTimeout: 10_000,
      // the broker tells everyone we are gone when we vanish without a word
      will: { topic: this.topics.status, payload: Buffer.from('offline'), retain: true, qos: 1 },
      rejectUnauthorized: !this.cfg.tls_insecure,
      // we keep our own bounded outbox; the client must not queue without bound while offline
      queueQoSZero: false,
    };
    if (this.cfg.tls_ca_file) opts.ca = readFileSync(this.cfg.tls_ca_file);
    // loaded here, not at import: the mqtt client costs ~15 MB of a controller's memory and most miners leave MQTT off
    const { connect } = await import('mqtt');
    const client = connect(this.cfg.url, opts);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => {
      if (this.stats.connected) this.log.warn('MQTT broker connection lost; reconnecting');
      this.stats.connected = false;
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'MQTT error'));
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
    this.miner.alerts.on('alert', this.onAlert);
    this.timer = setInterval(() => this.publishTelemetry(), this.cfg.interval_s * 1000);
    // the daemon does not wait for the broker: it connects in the background
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.miner.alerts.off('alert', this.onAlert);
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      // a clean stop says offline itself (the will is only for vanishing)
      await Promise.race([
        client.publishAsync(this.topics.status, 'offline', { retain: true, qos: 1 }),
        new Promise((r) => setTimeout(r, 1000)),
      ]).catch(() => {});
    }
    await client.endAsync(true);
  }

  private onConnect(): void {
    const client = this.client;
    if (!client) return;
    this.stats.connected = true;
    this.stats.connects++;
    this.log.info({ url: this.cfg.url, topic: this.topics.base }, 'MQTT connected');
    client.publish(this.topics.status, 'online', { retain: true, qos: 1 });
    if (this.cfg.discovery) {
      const msgs = discoveryMessages(this.cfg, this.topics, {
        boards: this.miner.chains.map((c) => c.index),
        pools: this.miner.pools.pools.map((p) => p.id),
      });
      for (const m of msgs) client.publish(m.topic, JSON.stringify(m.payload), { retain: true, qos: 1 });
      this.stats.published += msgs.length;
    }
    client.subscribe(this.topics.commands, { qos: 1 }, (err) => {
      if (err) this.log.warn({ err: err.message }, 'MQTT: cannot subscribe to commands');
    });
    for (const m of this.outbox.splice(0)) this.publish(m.topic, m.payload, m.retain);
    this.publishTelemetry();
  }

  publishTelemetry(): void {
    this.publish(this.topics.summary, JSON.stringify(summaryPayload(this.miner)), true);
    for (const c of this.miner.chains) {
      const v = boardView(c);
      const board = {
        state: v.state,
        reason: v.stateReason,
        hashrateHs: v.hashrate.h1m,
        idealHashrateHs: v.idealHashrateHs,
        maxChipC: v.temperatures.maxChipC,
        inletC: v.temperatures.inletC,
        outletC: v.temperatures.outletC,
        powerW: v.powerW,
        frequencyMHz: v.frequencyMHz,
        voltageMv: v.voltageMv,
        chips: v.chips,
        hwErrors: v.hwErrors,
      };
      this.publish(this.topics.board(c.index), JSON.stringify(board), true);
    }
    for (const p of poolsView(this.miner)) {
      const pool = {
        url: p.url,
        status: p.status,
        current: p.current,
        accepted: p.accepted,
        rejected: p.rejected,
        stale: p.stale,
        difficulty: p.difficulty,
      };
      this.publish(this.topics.pool(p.pool), JSON.stringify(pool), true);
    }
  }

  private publish(topic: string, payload: string, retain: boolean): void {
    const client = this.client;
    if (!client?.connected) {
      // retained state is re-sent on connect anyway; keep events, bounded
      if (retain) return;
      this.outbox.push({ topic, payload, retain });
      if (this.outbox.length > this.cfg.queue_max) {
        this.outbox.shift();
        this.stats.dropped++;
      }
      return;
    }
    client.publish(topic, payload, { retain, qos: retain ? 0 : 1 });
    this.stats.published++;
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    const name = topic.slice(this.topics.base.length + '/cmd/'.length).slice(0, 64);
    if (!topic.startsWith(`${this.topics.base}/cmd/`) || name === 'result') return;
    // A retained command is one the broker replays to every new subscription: on each reconnect and restart it
    // would pause (or switch) the miner again. Commands are acts of a moment; a retained one is never run.
    if (retained) return this.dropCommand(`retained message on cmd/${name} ignored (publish commands not retained)`);
    if (this.pendingCommands >= MAX_PENDING_COMMANDS)
      return this.dropCommand(`${MAX_PENDING_COMMANDS} commands already waiting`);
    if (!this.takeCommandToken()) return this.dropCommand(`over ${COMMANDS_PER_S} commands a second`);
    this.stats.commands++;
    this.pendingCommands++;
    // one command at a time, in arrival order
    this.commandChain = this.commandChain
      .then(async () => {
        const r =
          payload.length > MAX_COMMAND_BYTES
            ? { command: name.slice(0, 64), ok: false, message: `payload over ${MAX_COMMAND_BYTES} bytes` }
            : await runCommand(this.miner, this.cfg.command_role, name, payload.toString('utf8')).catch(
                (err: Error) => ({
                  command: name,
                  ok: false,
                  message: err.message,
                }),
              );
        if (!r.ok) this.stats.refused++;
        this.log.info({ command: r.command, ok: r.ok }, `MQTT command: ${r.message}`);
        try {
          this.audit.record({
            who: `mqtt:${this.cfg.username || 'anonymous'}`,
            role: this.cfg.command_role,
            ip: 'mqtt',
            action: `MQTT ${r.command}`,
            result: r.ok ? 'ok' : r.message,
          });
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'cannot write the audit log');
        }
        this.publish(this.topics.commandResult, JSON.stringify(r), false);
      })
      // a command that throws must not stop the ones after it
      .catch((err: Error) => this.log.error({ err: err.message }, 'MQTT command failed'))
      .finally(() => {
        this.pendingCommands--;
      });
  }

  private takeCommandToken(): boolean {
    const nowMs = performance.now();
    this.commandTokens = Math.min(
      COMMAND_BURST,
      this.commandTokens + ((nowMs - this.commandTokensAtMs) / 1000) * COMMANDS_PER_S,
    );
    this.commandTokensAtMs = nowMs;
    if (this.commandTokens < 1) return false;
    this.commandTokens--;
    return true;
  }

  private dropCommand(why: string): void {
    this.stats.commandsDropped++;
    const nowMs = performance.now();
    if (nowMs - this.lastDropWarnMs < DROP_WARN_INTERVAL_MS) return;
    this.lastDropWarnMs = nowMs;
    this.log.warn({ dropped: this.stats.commandsDropped }, `MQTT command dropped: ${why}`);
  }
}
