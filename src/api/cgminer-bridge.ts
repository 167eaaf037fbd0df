import type { Reply } from './cgminer-format.js';

// The messages between the mining thread (which owns the miner and runs commands) and the cgminer API worker
// (which owns the sockets). Small and structured-clonable: a command's name and parameter one way, its Reply back.

/** What the worker needs to know of a command without the miner: whether it needs W: and may be joined. */
export interface CommandInfo {
  privileged: boolean;
  joinable: boolean;
  /** a read whose reply does not depend on the parameter is asked for (and reused) without it */
  usesParam: boolean;
}

/** A read-only report the worker wants (re)made: the command, its parameter and the client's access. */
export interface ReadKey {
  key: string;
  name: string;
  param: string | undefined;
  write: boolean;
}

export interface WorkerInit {
  host: string;
  port: number;
  allow: string;
  lifetimeMs: number;
  commands: Record<string, CommandInfo>;
  /** Int32 slots the worker keeps current and the mining thread reads without a message (see COUNTER) */
  counters: SharedArrayBuffer;
}

/** The slots of WorkerInit.counters. */
export const COUNTER = {
  connections: 0,
  refused: 1,
  expired: 2,
  tooLarge: 3,
  tooManyJoined: 4,
  busy: 5,
} as const;
export const COUNTER_SLOTS = 6;

export type ToWorker =
  | { type: 'reads'; id: number; replies: [string, Reply][] }
  | { type: 'result'; id: number; reply: Reply }
  | { type: 'ping'; id: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'listening'; port: number }
  | { type: 'listen-error'; message: string; code?: string }
  | { type: 'reads'; id: number; keys: ReadKey[] }
  | { type: 'run'; id: number; name: string; param: string | undefined }
  | { type: 'pong'; id: number }
  | { type: 'stopped' };
