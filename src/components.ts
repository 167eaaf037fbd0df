import { CgminerApi } from './api/cgminer.js';
import { ApiServer } from './api/server.js';
import type { Config } from './config/schema.js';
import type { FactoryContext } from './daemon.js';
import { Miner, StatsReporter } from './miner.js';
import type { Component } from './util/lifecycle.js';
import type { Logger } from './util/log.js';

/** The daemon's component tree, in start order (stopped in reverse: APIs first, boards off, then fans). */
export function buildComponents(config: Config, log: Logger, ctx: FactoryContext): Component[] {
  const miner = new Miner(config, ctx.configFile, log, ctx.store);
  const out: Component[] = [
    ...miner.components(),
    new StatsReporter(miner, config.log.stats_interval_s, log.child({ component: 'stats' })),
  ];
  if (config.api.enabled) out.push(new ApiServer({ miner, config, log: log.child({ component: 'api' }), ctx }));
  if (config.api.cgminer_enabled) {
    out.push(
      new CgminerApi(miner, log.child({ component: 'cgminer-api' }), {
        host: config.api.cgminer_host,
        port: config.api.cgminer_port,
        allow: config.api.cgminer_allow,
      }),
    );
  }
  return out;
}
