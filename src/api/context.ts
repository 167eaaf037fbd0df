import type { Config } from '../config/schema.js';
import type { FactoryContext } from '../daemon.js';
import type { Miner } from '../miner.js';
import type { Logger } from '../util/log.js';
import type { AuditLog, TokenStore } from './auth.js';

/** What every route plugin is given: the miner to read and ask, the daemon's config owner, the token and audit stores. */
export interface ApiContext {
  miner: Miner;
  config: Config;
  log: Logger;
  ctx: FactoryContext;
  tokens: TokenStore;
  audit: AuditLog;
}
