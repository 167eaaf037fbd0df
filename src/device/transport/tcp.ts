import { EventEmitter } from 'node:events';
import net from 'node:net';
import { type ByteTransport, parseTcpPath, TransportError } from './types.js';

/** tcp://host:port as a byte stream (ser2net style). */
export class TcpTransport extends EventEmitter implements ByteTransport {
  private socket: net.Socket | undefined;
  private readonly host: string;
  private readonly port: number;

  constructor(readonly path: string) {
    super();
    const p = parseTcpPath(path);
    if (!p) throw new TransportError('EPATH', `${path}: expected tcp://host:port`);
    this.host = p.host;
    this.port = p.port;
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  open(): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: this.host, port: this.port });
      s.setNoDelay(true);
      const onError = (err: Error) => {
        s.destroy();
        reject(new TransportError((err as NodeJS.ErrnoException).code ?? 'EOPEN', `${this.path}: ${err.message}`));
      };
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        this.socket = s;
        s.on('data', (d: Buffer) => this.emit('data', d));
        s.on('error', () => {});
        s.on('close', () => {
          if (this.socket !== s) return;
          this.socket = undefined;
          this.emit('lost', 'connection closed');
        });
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (!s) return;
    await new Promise<void>((r) => {
      s.once('close', () => r());
      s.destroy();
    });
  }

  write(data: Buffer): void {
    this.socket?.write(data);
  }

  async setBaud(): Promise<void> {}
}
