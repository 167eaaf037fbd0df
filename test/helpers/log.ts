import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/util/log.js';

/** A real logger whose lines are kept for assertions (and printed when LOG=1). */
export function memoryLogger(level = 'debug'): { log: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const dest = new Writable({
    write(chunk, _e, cb) {
      const s = chunk.toString();
      out.push(s);
      if (process.env.LOG) process.stderr.write(s);
      cb();
    },
  });
  return {
    log: createLogger({ level, destination: dest }),
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
