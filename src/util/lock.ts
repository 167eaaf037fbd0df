import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class LockError extends Error {
  readonly code = 'ELOCKED';
}

/** UUCP-style lock name for a device: /dev/ttyS1 → LCK..ttyS1, tcp://127.0.0.1:4000 → LCK..tcp_127.0.0.1_4000. */
export function lockNameFor(device: string): string {
  const tail = device.startsWith('/dev/') ? device.slice(5) : device;
  return `LCK..${tail.replace(/[^A-Za-z0-9.-]+/g, '_')}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Holds lock files with our pid in them. A lock whose owner is gone is taken over; one whose owner lives is an error
 * naming that pid, so a second daemon never drives boards the first one drives.
 */
export class LockSet {
  private held: string[] = [];

  constructor(private readonly dir: string) {}

  acquire(device: string): void {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, lockNameFor(device));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o644);
        writeSync(fd, `${String(process.pid).padStart(10)}\n`);
        closeSync(fd);
        this.held.push(file);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
        if (Number.isFinite(owner) && owner !== process.pid && alive(owner)) {
          throw new LockError(`${device} is in use by process ${owner} (lock ${file}); stop it first`);
        }
        unlinkSync(file); // stale: its owner died without cleaning up
      }
    }
    throw new LockError(`could not take lock ${file}`);
  }

  releaseAll(): void {
    for (const f of this.held.splice(0)) {
      try {
        unlinkSync(f);
      } catch {
        // already gone
      }
    }
  }
}
