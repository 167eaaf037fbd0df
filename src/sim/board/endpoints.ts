import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { UartTransport } from '../../device/transport/uart.js';

/**
 * The simulator's end of a link: a TCP listener (tcp://127.0.0.1:PORT, one client at a time) or a pseudo-terminal
 * pair made with socat (the daemon opens `hostPath`, the simulator the other end). Events: 'data'.
 */
export interface SimEndpoint extends EventEmitter {
  /** What the daemon opens. */
  readonly hostPath: string;
  start(): Promise<void>;
  /** Tears the link down for good. */
  stop(): Promise<void>;
  /** The board is unplugged: the link carries nothing and takes no connection until replug(). */
  unplug(): Promise<void>;
  replug(): Promise<void>;
  write(b: Buffer): void;
}

export class TcpEndpoint extends EventEmitter implements SimEndpoint {
  private server: net.Server | undefined;
  private client: net.Socket | undefined;
  private port: number;

  constructor(
    port = 0,
    private readonly host = '127.0.0.1',
  ) {
    super();
    this.port = port;
  }

  get hostPath(): string {
    return `tcp://${this.host}:${this.port}`;
  }

  start(): Promise<void> {
    const server = net.createServer((s) => {
      if (this.unplugged) {
        s.destroy();
        return;
      }
      this.client?.destroy();
      this.client = s;
      s.setNoDelay(true);
      s.on('data', (d: Buffer) => this.emit('data', d));
      s.on('error', () => {});
      s.on('close', () => {
        if (this.client === s) this.client = undefined;
        this.emit('disconnect');
      });
      this.emit('connect');
    });
    this.server = server;
    return new Promise((res, rej) => {
      server.once('error', rej);
      server.listen(this.port, this.host, () => {
        server.off('error', rej);
        this.port = (server.address() as net.AddressInfo).port;
        res();
      });
    });
  }

  /**
   * Unplugged, the listener stays (refusing every connection): closing it would free the port for anything else on
   * the machine to take before the board is plugged back in.
   */
  private unplugged = false;

  async unplug(): Promise<void> {
    this.unplugged = true;
    this.client?.destroy();
    this.client = undefined;
  }

  async replug(): Promise<void> {
    this.unplugged = false;
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  write(b: Buffer): void {
    this.client?.write(b);
  }
}

/** A pty pair from socat: `<dir>/<name>` for the daemon, `<dir>/<name>.sim` for us. */
export class PtyEndpoint extends EventEmitter implements SimEndpoint {
  private socat: ChildProcess | undefined;
  private port: UartTransport | undefined;

  constructor(
    private readonly dir: string,
    private readonly name: string,
  ) {
    super();
  }

  get hostPath(): string {
    return join(this.dir, this.name);
  }

  async start(): Promise<void> {
    const simPath = `${this.hostPath}.sim`;
    // socat runs under a small shell that holds a pipe from us: when we end in any way (SIGKILL included), the pipe
    // closes, `read` returns and the shell ends socat, so no pty pair outlives the simulator. Its own process group:
    // a Ctrl-C meant for us must not cut the link before the boards are powered off.
    const p = spawn(
      '/bin/sh',
      [
        '-c',
        'command -v socat >/dev/null 2>&1 || exit 127; socat "$@" & s=$!; read _; kill $s 2>/dev/null; wait $s',
        'socat-link',
        `pty,raw,echo=0,link=${simPath}`,
        `pty,raw,echo=0,link=${this.hostPath}`,
      ],
      { stdio: ['pipe', 'ignore', 'ignore'], detached: true },
    );
    this.socat = p;
    const missing = () => new Error('socat could not start (not found); install it (apt-get install socat)');
    const failed = new Promise<never>((_, rej) => {
      p.once('error', (e) =>
        rej(new Error(`socat could not start (${e.message}); install it (apt-get install socat)`)),
      );
      p.once('exit', (code) =>
        rej(code === 127 ? missing() : new Error(`socat ended (exit ${code}) before the pty pair was made`)),
      );
    });
    failed.catch(() => {});
    const end = Date.now() + 5000;
    while (!(existsSync(simPath) && existsSync(this.hostPath))) {
      if (Date.now() > end) throw new Error(`socat made no pty pair at ${this.hostPath}`);
      await Promise.race([new Promise((r) => setTimeout(r, 10)), failed]);
    }
    const port = new UartTransport(simPath);
    await port.open();
    port.on('data', (d: Buffer) => this.emit('data', d));
    port.on('lost', () => this.emit('disconnect'));
    this.port = port;
  }

  async stop(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    await port?.close();
    const p = this.socat;
    this.socat = undefined;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      // closing the pipe makes the shell end socat and wait for it
      p.stdin?.end();
      const force = setTimeout(() => {
        try {
          if (p.pid) process.kill(-p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3000);
      await exited;
      clearTimeout(force);
    }
  }

  /** Unplugged, the pseudo-terminal vanishes, as a USB-serial device would. */
  unplug(): Promise<void> {
    return this.stop();
  }

  replug(): Promise<void> {
    return this.start();
  }

  write(b: Buffer): void {
    this.port?.write(b);
  }
}
