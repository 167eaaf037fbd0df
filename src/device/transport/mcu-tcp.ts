import { EventEmitter } from 'node:events';
import { encodeMcuResponse, McuFrameParser } from '../maijie-l7/mcu-frames.js';
import { TcpTransport } from './tcp.js';
import { type McuTransport, TransportError } from './types.js';

/**
 * The board MCU over tcp://: the same request and response frames as on SPI, one exchange at a time.
 */
export class McuTcpTransport extends EventEmitter implements McuTransport {
  private readonly tcp: TcpTransport;
  private readonly parser: McuFrameParser;
  private waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {
    super();
    this.tcp = new TcpTransport(path);
    this.parser = new McuFrameParser(0x5a, (f) => {
      const w = this.waiting;
      if (!w) return;
      this.waiting = undefined;
      clearTimeout(w.timer);
      w.resolve(encodeMcuResponse(f.code, f.reg, f.data));
    });
    this.tcp.on('data', (d: Buffer) => this.parser.push(d));
    this.tcp.on('lost', (reason: string) => {
      this.parser.reset();
      this.failWaiting(new TransportError('ELOST', `${path}: ${reason}`));
      this.emit('lost', reason);
    });
  }

  get isOpen(): boolean {
    return this.tcp.isOpen;
  }

  open(): Promise<void> {
    return this.tcp.open();
  }

  async close(): Promise<void> {
    this.failWaiting(new TransportError('ECLOSED', `${this.path}: closed`));
    await this.tcp.close();
  }

  private failWaiting(err: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  exchange(request: Buffer, timeoutMs: number): Promise<Buffer> {
    // SPI is one exchange at a time; so is this.
    const run = () =>
      new Promise<Buffer>((resolve, reject) => {
        if (!this.tcp.isOpen) {
          reject(new TransportError('ENOTOPEN', `${this.path}: not open`));
          return;
        }
        const timer = setTimeout(() => {
          this.waiting = undefined;
          this.parser.reset();
          reject(new TransportError('ETIMEOUT', `${this.path}: no answer in ${timeoutMs} ms`));
        }, timeoutMs);
        this.waiting = { resolve, reject, timer };
        this.tcp.write(request);
      });
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }
}
