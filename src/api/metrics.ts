import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Miner } from '../miner.js';
import { poolVersionRolling } from './views.js';

/**
 * Prometheus metrics, read from the miner at scrape time: `asicd_` prefix, base units in the names, labels board,
 * chip, pool. Counters mirror totals the owners keep (set at scrape, never incremented here).
 */
export function createMetrics(miner: Miner): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'asicd_' });
  // these default gauges end in _total, which Prometheus reserves for counters
  for (const name of [
    'asicd_nodejs_active_handles_total',
    'asicd_nodejs_active_requests_total',
    'asicd_nodejs_active_resources_total',
  ]) {
    registry.removeSingleMetric(name);
  }
  const windows = ['5s', '1m', '5m', '15m'] as const;
  const wkey = { '5s': 'h5s', '1m': 'h1m', '5m': 'h5m', '15m': 'h15m' } as const;

  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        collect(this);
      },
    });
  const counter = (
    name: string,
    help: string,
    labelNames: string[],
    values: () => [Record<string, string | number>, number][],
  ) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, v] of values()) this.inc(labels, v);
      },
    });

  gauge('asicd_hashrate_hashes_per_second', 'Verified hash rate of the miner over a window', ['window'], (g) => {
    const s = miner.summary().hashrate;
    for (const w of windows) g.set({ window: w }, s[wkey[w]]);
  });
  gauge('asicd_ideal_hashrate_hashes_per_second', 'Hash rate the chips should make at their frequency', [], (g) => {
    g.set(miner.summary().idealHashrateHs);
  });
  gauge('asicd_uptime_seconds', 'Seconds since the daemon started', [], (g) =>
    g.set((Date.now() - miner.startedMs) / 1000),
  );
  gauge('asicd_best_share_difficulty', 'Best share difficulty found', [], (g) => g.set(miner.summary().bestShare));
  gauge('asicd_power_watts', 'Power drawn by the mining boards', [], (g) => g.set(miner.summary().powerW));
  gauge('asicd_efficiency_joules_per_terahash', 'Power per hash rate (J/TH) over the last minute', [], (g) =>
    g.set(miner.summary().jPerTh),
  );

  gauge(
    'asicd_board_feed_idle_ratio',
    'Share of chip time a board spent out of work at real speed, as the daemon predicts from the jobs it sent',
    ['board'],
    (g) => {
      for (const c of miner.chains) g.set({ board: c.index }, c.feedStatus().idleShare);
    },
  );
  gauge(
    'asicd_pool_version_rolling_granted',
    'Whether the pool granted version rolling (1), refused it (0); absent when not asked for or not connected',
    ['pool'],
    (g) => {
      for (const p of miner.pools.pools) {
        const v = poolVersionRolling(p, miner.pools.poolSettings.version_rolling);
        if (v === 'granted' || v === 'not granted') g.set({ pool: p.id }, v === 'granted' ? 1 : 0);
      }
    },
  );
  gauge('asicd_board_hashrate_hashes_per_second', 'Verified hash rate of a board', ['board', 'window'], (g) => {
    for (const c of miner.chains) {
      const w = c.meter.windows();
      for (const x of windows) g.set({ board: c.index, window: x }, w[wkey[x]]);
    }
  });
  gauge(
    'asicd_board_temperature_celsius',
    'Board temperatures: inlet and outlet PCB, chip dies',
    ['board', 'sensor'],
    (g) => {
      for (const c of miner.chains) {
        const r = c.readings;
        if (Number.isFinite(r.inletC)) g.set({ board: c.index, sensor: 'inlet' }, r.inletC);
        if (Number.isFinite(r.outletC)) g.set({ board: c.index, sensor: 'outlet' }, r.outletC);
        r.tempsC.forEach((t, i) => {
          g.set({ board: c.index, sensor: `die${i}` }, t);
        });
      }
    },
  );
  gauge('asicd_board_power_watts', 'Board power as its MCU reports it', ['board'], (g) => {
    for (const c of miner.chains) g.set({ board: c.index }, c.readings.powerW);
  });
  gauge('asicd_board_voltage_volts', 'Measured board domain voltage', ['board'], (g) => {
    for (const c of miner.chains) g.set({ board: c.index }, c.readings.voltageMv / 1000);
  });
  gauge('asicd_board_frequency_hertz', 'Chip frequency of a board', ['board'], (g) => {
    for (const c of miner.chains) g.set({ board: c.index }, c.freqMHz * 1e6);
  });
  gauge(
    'asicd_board_throttled',
    '1 while thermal throttling holds a board below its wanted frequency',
    ['board'],
    (g) => {
      for (const c of miner.chains) g.set({ board: c.index }, c.throttleMHz !== undefined ? 1 : 0);
    },
  );
  gauge('asicd_board_chips', 'Chips answering on a board', ['board'], (g) => {
    for (const c of miner.chains) g.set({ board: c.index }, c.chips.length);
  });
  gauge('asicd_board_up', '1 when the board is mining', ['board', 'state'], (g) => {
    for (const c of miner.chains) g.set({ board: c.index, state: c.state }, c.state === 'mining' ? 1 : 0);
  });
  gauge('asicd_board_powered', '1 while the board MCU reports the board powered (POWER_EN)', ['board'], (g) => {
    for (const c of miner.chains) g.set({ board: c.index }, c.readings.powerOn ? 1 : 0);
  });
  gauge('asicd_board_safety_hold', '1 while the safety supervisor holds a board off', ['board'], (g) => {
    for (const c of miner.chains) g.set({ board: c.index }, c.safety().hold !== null ? 1 : 0);
  });
  gauge(
    'asicd_board_watchdog_escalated',
    '1 while the supervisor leaves a board watchdog unfed so its MCU cuts power',
    ['board'],
    (g) => {
      for (const c of miner.chains) g.set({ board: c.index }, c.safety().escalated ? 1 : 0);
    },
  );
  counter('asicd_board_power_off_failures_total', 'Power-offs that failed or did not take', ['board'], () =>
    miner.chains.map((c) => [{ board: c.index }, c.safety().powerOffFailures]),
  );
  counter('asicd_board_safety_trips_total', 'Safety reasons the supervisor acted on', ['board'], () =>
    miner.chains.map((c) => [{ board: c.index }, c.safety().trips]),
  );
  gauge('asicd_supervisor_healthy', '1 while the safety supervisor loop runs on time', [], (g) =>
    g.set(miner.supervisor.healthy ? 1 : 0),
  );
  counter('asicd_board_hardware_errors_total', 'Nonces that failed verification', ['board'], () =>
    miner.chains.map((c) => [{ board: c.index }, c.counters.hwErrors]),
  );
  counter('asicd_board_crc_errors_total', 'Chain link frames dropped for a bad CRC', ['board'], () =>
    miner.chains.map((c) => [{ board: c.index }, c.linkCounters.crcErrors]),
  );
  counter('asicd_board_lost_replies_total', 'Nonce replies chips sent that never arrived', ['board'], () =>
    miner.chains.map((c) => [{ board: c.index }, c.counters.noncesLost]),
  );
  const STAGES = ['off', 'waiting', 'restoring', 'searching', 'settling', 'validating', 'tuned'] as const;
  gauge('asicd_tuning_stage', '1 for the stage the tuner of a board is in', ['board', 'stage'], (g) => {
    for (const b of miner.tuner.boards()) {
      const now = b.tuner?.stage ?? (miner.tuner.mode === 'off' ? 'off' : 'waiting');
      for (const st of STAGES) g.set({ board: b.chain.index, stage: st }, st === now ? 1 : 0);
    }
  });
  gauge(
    'asicd_tuning_power_target_watts',
    "A board's power target from the tuner (share and derating), 0 = none",
    ['board'],
    (g) => {
      for (const b of miner.tuner.boards()) {
        const t = b.tuner?.targets;
        const w = t?.capW !== undefined && t.powerW !== undefined ? Math.min(t.capW, t.powerW) : (t?.capW ?? t?.powerW);
        g.set({ board: b.chain.index }, w ?? 0);
      }
    },
  );
  gauge('asicd_tuning_derate_steps', 'Thermal derating steps of 5 % the tuner applies to a board', ['board'], (g) => {
    for (const b of miner.tuner.boards()) g.set({ board: b.chain.index }, b.derate.steps);
  });
  if (miner.config.api.per_chip_metrics) {
    counter('asicd_chip_nonces_total', 'Verified nonces per chip', ['board', 'chip'], () =>
      miner.chains.flatMap((c) =>
        c.chips.map((x) => [{ board: c.index, chip: x.index }, x.nonces] as [Record<string, number>, number]),
      ),
    );
    counter('asicd_chip_hardware_errors_total', 'Hardware errors per chip', ['board', 'chip'], () =>
      miner.chains.flatMap((c) =>
        c.chips.map((x) => [{ board: c.index, chip: x.index }, x.hwErrors] as [Record<string, number>, number]),
      ),
    );
    gauge('asicd_chip_frequency_hertz', 'Frequency of a chip (per chip when tuned)', ['board', 'chip'], (g) => {
      for (const c of miner.chains)
        for (const [i, f] of c.chipMHz.entries()) g.set({ board: c.index, chip: i }, f * 1e6);
    });
    gauge(
      'asicd_chip_hashrate_hashes_per_second',
      'Verified hash rate of a chip over 5 minutes',
      ['board', 'chip'],
      (g) => {
        for (const c of miner.chains)
          for (const x of c.chips) g.set({ board: c.index, chip: x.index }, x.meter.rate(300));
      },
    );
  }
  counter('asicd_pool_shares_total', 'Shares by result', ['pool', 'result'], () =>
    miner.pools.pools.flatMap(
      (p) =>
        [
          [{ pool: p.id, result: 'accepted' }, p.stats.accepted],
          [{ pool: p.id, result: 'rejected' }, p.stats.rejected],
          [{ pool: p.id, result: 'stale' }, p.stats.stale],
          [{ pool: p.id, result: 'lost' }, p.stats.lost],
        ] as [Record<string, string | number>, number][],
    ),
  );
  counter('asicd_pool_difficulty_total', 'Share difficulty by result', ['pool', 'result'], () =>
    miner.pools.pools.flatMap(
      (p) =>
        [
          [{ pool: p.id, result: 'accepted' }, p.stats.acceptedDifficulty],
          [{ pool: p.id, result: 'rejected' }, p.stats.rejectedDifficulty],
          [{ pool: p.id, result: 'stale' }, p.stats.staleDifficulty],
        ] as [Record<string, string | number>, number][],
    ),
  );
  gauge('asicd_pool_up', '1 when the pool is alive', ['pool'], (g) => {
    for (const p of miner.pools.pools) g.set({ pool: p.id }, p.health === 'alive' ? 1 : 0);
  });
  gauge(
    'asicd_pool_expected_shares',
    'Shares the work done for the pool should have produced in the last 10 minutes (compare with accepted)',
    ['pool', 'kind'],
    (g) => {
      for (const p of miner.pools.pools) {
        const y = p.shareYield.verdict(p.pending);
        g.set({ pool: p.id, kind: 'expected' }, y.expected);
        g.set({ pool: p.id, kind: 'accepted' }, y.accepted);
      }
    },
  );
  gauge('asicd_pool_current', '1 for the pool being mined', ['pool'], (g) => {
    for (const p of miner.pools.pools) g.set({ pool: p.id }, miner.pools.current === p ? 1 : 0);
  });
  gauge('asicd_pool_difficulty', 'Share difficulty the pool asks for', ['pool'], (g) => {
    for (const p of miner.pools.pools) g.set({ pool: p.id }, p.client.difficulty);
  });
  gauge('asicd_pool_submit_latency_seconds', 'Latency of the last mining.submit', ['pool'], (g) => {
    for (const p of miner.pools.pools) g.set({ pool: p.id }, p.stats.lastLatencyMs / 1000);
  });
  gauge('asicd_fan_speed_rpm', 'Fan speed', ['fan'], (g) => {
    for (const f of miner.fans.readings) g.set({ fan: f.fan }, f.rpm);
  });
  gauge('asicd_fan_pwm_ratio', 'Fan drive, 0 to 1', ['fan'], (g) => {
    for (const f of miner.fans.readings) g.set({ fan: f.fan }, f.pwm / 255);
  });
  gauge('asicd_alerts_firing', 'Alerts firing now', ['rule', 'severity'], (g) => {
    for (const a of miner.alerts.active()) g.inc({ rule: a.rule, severity: a.severity });
  });
  counter('asicd_alert_events_total', 'Alert events since start', ['rule', 'state'], () =>
    [...miner.alerts.totals].flatMap(
      ([rule, n]) =>
        [
          [{ rule, state: 'firing' }, n.firing],
          [{ rule, state: 'resolved' }, n.resolved],
        ] as [Record<string, string>, number][],
    ),
  );
  counter('asicd_notifications_total', 'Alert notifications by notifier and outcome', ['notifier', 'result'], () =>
    [...miner.notifier.queues].flatMap(
      ([kind, q]) =>
        [
          [{ notifier: kind, result: 'sent' }, q.stats.sent],
          [{ notifier: kind, result: 'failed' }, q.stats.failed],
          [{ notifier: kind, result: 'dropped' }, q.stats.dropped],
        ] as [Record<string, string>, number][],
    ),
  );
  gauge('asicd_notifications_queued', 'Alert notifications waiting to be sent', ['notifier'], (g) => {
    for (const [kind, q] of miner.notifier.queues) g.set({ notifier: kind }, q.stats.queued);
  });
  const mqtt = miner.mqtt;
  if (mqtt) {
    gauge('asicd_mqtt_connected', '1 while connected to the MQTT broker', [], (g) =>
      g.set(mqtt.stats.connected ? 1 : 0),
    );
    counter('asicd_mqtt_messages_total', 'MQTT messages by direction', ['direction'], () => [
      [{ direction: 'published' }, mqtt.stats.published],
      [{ direction: 'dropped' }, mqtt.stats.dropped],
      [{ direction: 'command' }, mqtt.stats.commands],
      [{ direction: 'command_dropped' }, mqtt.stats.commandsDropped],
    ]);
  }
  return registry;
}
