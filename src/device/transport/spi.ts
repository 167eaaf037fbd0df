import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { type McuTransport, TransportError } from './types.js';

/** The parts of the spi-device binding we use. */
interface SpiMessage {
  sendBuffer?: Buffer;
  receiveBuffer?: Buffer;
  byteLength: number;
  speedHz?: number;
}
interface SpiDevice {
  transfer(msg: SpiMessage[], cb: (err: Error | null, msg: SpiMessage[]) => void): void;
  close(cb: (err: Error | null) => void): void;
}
interface SpiModule {
  open(
    bus: number,
    device: number,
    opts: { mode: number; maxSpeedHz: number },
    cb: (err: Error | null) => void,
  ): SpiDevice;
}

const require = createRequire(import.meta.url);

function loadBinding(): SpiModule {
  try {
    return require('spi-device') as SpiModule;
  } catch (err) {
    throw new TransportError('ENOSPI', `spi-device binding not available: ${(err as Error).message}`);
  }
}

/**
 * The board MCU on /dev/spidevB.D, SPI mode 0: clock the request out, then the 4-byte response header, then the
 * data and CRC it announces.
 */
export class McuSpiTransport extends EventEmitter implements McuTransport {
  private dev: SpiDevice | undefined;
  private readonly bus: number;
  private readonly device: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly speedHz = 1_000_000,
    private readonly binding: () => SpiModule = loadBinding,
  ) {
    super();
    const m = /spidev(\d+)\.(\d+)$/.exec(path);
    if (!m) throw new TransportError('EPATH', `${path}: expected /dev/spidevB.D or tcp://host:port`);
    this.bus = Number(m[1]);
    this.device = Number(m[2]);
  }

  get isOpen(): boolean {
    return this.dev !== undefined;
  }

  open(): Promise<void> {
    if (this.dev) return Promise.resolve();
    const spi = this.binding();
    return new Promise((resolve, reject) => {
      const d = spi.open(this.bus, this.device, { mode: 0, maxSpeedHz: this.speedHz }, (err) => {
        if (err) reject(new TransportError('EOPEN', `${this.path}: ${err.message}`));
        else {
          this.dev = d;
          resolve();
        }
      });
    });
  }

  async close(): Promise<void> {
    const d = this.dev;
    this.dev = undefined;
    if (d) await new Promise<void>((r) => d.close(() => r()));
  }

  private transfer(send: Buffer | undefined, length: number): Promise<Buffer> {
    const d = this.dev;
    if (!d) return Promise.reject(new TransportError('ENOTOPEN', `${this.path}: not open`));
    return new Promise((resolve, reject) => {
      const receiveBuffer = Buffer.alloc(length);
      d.transfer(
        [{ sendBuffer: send ?? Buffer.alloc(length), receiveBuffer, byteLength: length, speedHz: this.speedHz }],
        (err) => {
          if (err) {
            const lost = /EIO|ENODEV|ENOENT/.test(err.message);
            if (lost) {
              this.dev = undefined;
              this.emit('lost', err.message);
            }
            reject(new TransportError(lost ? 'ELOST' : 'EIO', `${this.path}: ${err.message}`));
          } else resolve(receiveBuffer);
        },
      );
    });
  }

  exchange(request: Buffer, timeoutMs: number): Promise<Buffer> {
    void timeoutMs; // an SPI transfer completes or fails; it cannot hang waiting for a peer
    const run = async () => {
      await this.transfer(request, request.length);
      const head = await this.transfer(undefined, 4);
      if (head[0] !== 0x5a) throw new TransportError('EFRAME', `${this.path}: response does not start with 5A`);
      const rest = await this.transfer(undefined, head[3] + 1);
      return Buffer.concat([head, rest]);
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }
}
