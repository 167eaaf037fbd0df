import type { Config } from './config/schema.js';
import type { Component } from './util/lifecycle.js';
import type { Logger } from './util/log.js';

/** The daemon's component tree, in start order (stopped in reverse). */
export function buildComponents(config: Config, log: Logger): Component[] {
  void config;
  void log;
  return [];
}
