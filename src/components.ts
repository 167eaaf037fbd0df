import type { Config } from './config/schema.js';
import { Miner, StatsReporter } from './miner.js';
import type { Component } from './util/lifecycle.js';
import type { Logger } from './util/log.js';

export interface BuildContext {
  configFile: string | undefined;
}

/** The daemon's component tree, in start order (stopped in reverse). */
export function buildComponents(config: Config, log: Logger, ctx: BuildContext): Component[] {
  const miner = new Miner(config, ctx.configFile, log);
  return [
    ...miner.components(),
    new StatsReporter(miner, config.log.stats_interval_s, log.child({ component: 'stats' })),
  ];
}
