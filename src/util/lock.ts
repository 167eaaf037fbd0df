import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from 'node:fs';
import net from 'node:net';
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
  private readonly claims: net.Server[] = [];

  constructor(private readonly dir: string) {}

  /**
   * The lock file in `dir`, and a claim that holds whatever lock folder another daemon was given: on Linux an
   * abstract socket named after the device (the kernel frees it when the process dies, so it is never stale).
   * Serial devices are also opened exclusively by the transport.
   */
  async acquire(device: string): Promise<void> {
    this.acquireFile(device);
    if (process.platform === 'linux') await this.claim(device);
  }

  private async claim(device: string): Promise<void> {
    let name = device;
    try {
      if (!device.includes('://')) name = realpathSync(device); // /dev/serial/by-id/… and /dev/ttyS1 are one device
    } catch {
      // not there (yet): its name is what we have
    }
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new LockError(`${device} is in use by another daemon (with another lock folder); stop it first`)
            : err,
        ),
      );
      // abstract socket names are at most 107 bytes: long device names go by their hash
      const key = name.length > 80 ? createHash('sha256').update(name).digest('hex') : name;
      server.listen(`\0asicd-device:${key}`, () => resolve());
    });
    server.unref();
    this.claims.push(server);
  }

  private acquireFile(device: string): void {
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
    for (const c of this.claims.splice(0)) c.close();
    for (const f of this.held.splice(0)) {
      try {
        unlinkSync(f);
      } catch {
        // already gone
      }
    }
  }
}
