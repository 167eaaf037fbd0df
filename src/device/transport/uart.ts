import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { type ByteTransport, TransportError } from './types.js';

/** A UART device or pseudo-terminal through serialport, 8N1. */
export class UartTransport extends EventEmitter implements ByteTransport {
  private port: SerialPort | undefined;

  constructor(
    readonly path: string,
    private baud = 115200,
  ) {
    super();
  }

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  open(): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const p = new SerialPort({
        path: this.path,
        baudRate: this.baud,
        dataBits: 8,
        parity: 'none',
        stopBits: 1,
        autoOpen: false,
        // exclusive access: a second process cannot open the same chain
        lock: true,
      });
      p.open((err) => {
        if (err) {
          const code = /ENOENT|No such file/.test(err.message)
            ? 'ENOENT'
            : /EBUSY|lock/i.test(err.message)
              ? 'EBUSY'
              : 'EOPEN';
          reject(new TransportError(code, `${this.path}: ${err.message}`));
          return;
        }
        this.port = p;
        p.on('data', (d: Buffer) => this.emit('data', d));
        p.on('error', (e) => {
          if (this.port === p) this.lose(p, e.message);
        });
        p.on('close', (e: Error | null) => {
          if (this.port === p) this.lose(p, e?.message ?? 'closed');
        });
        resolve();
      });
    });
  }

  private lose(p: SerialPort, reason: string): void {
    this.port = undefined;
    p.removeAllListeners('data');
    if (p.isOpen) p.close(() => {});
    this.emit('lost', reason);
  }

  async close(): Promise<void> {
    const p = this.port;
    this.port = undefined;
    if (!p?.isOpen) return;
    await new Promise<void>((r) => p.close(() => r()));
  }

  write(data: Buffer): void {
    this.port?.write(data);
  }

  async setBaud(baud: number): Promise<void> {
    this.baud = baud;
    const p = this.port;
    if (!p?.isOpen) return;
    await new Promise<void>((res, rej) => p.update({ baudRate: baud }, (e) => (e ? rej(e) : res())));
  }
}
