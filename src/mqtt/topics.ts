import { hostname } from 'node:os';
import type { MqttConfig } from '../config/schema.js';

/** This miner's topic tree: <topic_prefix>/<node_id>/… */
export class Topics {
  readonly node: string;
  readonly base: string;

  constructor(cfg: MqttConfig) {
    this.node = cfg.node_id || cleanNodeId(hostname());
    this.base = `${cfg.topic_prefix}/${this.node}`;
  }

  /** retained online / offline; the broker publishes offline for us if we vanish (last will) */
  get status(): string {
    return `${this.base}/status`;
  }
  get summary(): string {
    return `${this.base}/summary`;
  }
  board(i: number): string {
    return `${this.base}/board/${i}`;
  }
  pool(id: number): string {
    return `${this.base}/pool/${id}`;
  }
  get alerts(): string {
    return `${this.base}/alerts`;
  }
  /** commands arrive on cmd/<name>; results go to cmd/result */
  get commands(): string {
    return `${this.base}/cmd/+`;
  }
  command(name: string): string {
    return `${this.base}/cmd/${name}`;
  }
  get commandResult(): string {
    return `${this.base}/cmd/result`;
  }
}

/** Host names may hold dots and other characters that MQTT topics and Home Assistant ids do not like. */
export function cleanNodeId(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'asicd';
}
