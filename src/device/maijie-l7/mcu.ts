import type { Logger } from '../../util/log.js';
import type { McuTransport } from '../transport/types.js';
import { crc8 } from './crc.js';
import { encodeMcuRequest } from './mcu-frames.js';
import { MCU_OP, MCU_REG, MCU_STATUS, MCU_STATUS_TEXT } from './registers.js';

export class McuError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface Eeprom {
  chips: number;
  bin: number;
  factoryMv: number;
  factoryMHz: number;
  minMv: number;
  maxMv: number;
}

export interface Temps {
  inletC: number;
  outletC: number;
  chipsC: number[];
}

export type LedMode = 0 | 1 | 2;

/** The board MCU client: typed register access with CRC checks, retries on bad CRC and busy. */
export class McuClient {
  readonly counters = { exchanges: 0, retries: 0, crcErrors: 0, badStatus: 0, timeouts: 0 };

  constructor(
    readonly transport: McuTransport,
    private readonly log: Logger,
    private readonly opts: { timeoutMs?: number; retries?: number } = {},
  ) {}

  private async exchange(op: number, reg: number, data?: Buffer): Promise<Buffer> {
    const tries = (this.opts.retries ?? 3) + 1;
    let last: McuError | undefined;
    for (let attempt = 0; attempt < tries; attempt++) {
      if (attempt > 0) {
        this.counters.retries++;
        await new Promise((r) => setTimeout(r, 5 * attempt));
      }
      this.counters.exchanges++;
      let res: Buffer;
      try {
        res = await this.transport.exchange(encodeMcuRequest(op, reg, data), this.opts.timeoutMs ?? 250);
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'EIO';
        if (code === 'ETIMEOUT') this.counters.timeouts++;
        last = new McuError(code, `MCU register 0x${reg.toString(16)}: ${(err as Error).message}`);
        if (code === 'ETIMEOUT') continue;
        throw last;
      }
      if (
        res.length < 5 ||
        res[0] !== 0x5a ||
        res.length !== 5 + res[3] ||
        crc8(res, 1, res.length - 1) !== res[res.length - 1]
      ) {
        this.counters.crcErrors++;
        last = new McuError('ECRC', `MCU register 0x${reg.toString(16)}: corrupt response`);
        continue;
      }
      const status = res[1];
      if (res[2] !== reg) {
        last = new McuError('EFRAME', `MCU answered register 0x${res[2].toString(16)} for 0x${reg.toString(16)}`);
        continue;
      }
      if (status === MCU_STATUS.OK) return res.subarray(4, 4 + res[3]);
      this.counters.badStatus++;
      const text = MCU_STATUS_TEXT[status] ?? `status ${status}`;
      last = new McuError(
        status === MCU_STATUS.OUT_OF_RANGE ? 'ERANGE' : 'ESTATUS',
        `MCU register 0x${reg.toString(16)}: ${text}`,
        status,
      );
      if (status === MCU_STATUS.BAD_CRC || status === MCU_STATUS.BUSY) continue;
      this.log.warn({ reg, status: text }, 'MCU refused a request');
      throw last;
    }
    throw last ?? new McuError('EIO', 'MCU exchange failed');
  }

  read(reg: number): Promise<Buffer> {
    return this.exchange(MCU_OP.READ, reg);
  }

  async write(reg: number, data: Buffer): Promise<void> {
    await this.exchange(MCU_OP.WRITE, reg, data);
  }

  private static need(b: Buffer, n: number, what: string): Buffer {
    if (b.length < n) throw new McuError('EFRAME', `MCU ${what}: ${b.length} bytes, expected ${n}`);
    return b;
  }

  async boardId(): Promise<string> {
    const b = await this.read(MCU_REG.BOARD_ID);
    const nul = b.indexOf(0);
    return b.toString('ascii', 0, nul < 0 ? b.length : nul).trim();
  }

  async fwVersion(): Promise<number> {
    return McuClient.need(await this.read(MCU_REG.FW_VERSION), 2, 'FW_VERSION').readUInt16BE(0);
  }

  async eeprom(): Promise<Eeprom> {
    const b = McuClient.need(await this.read(MCU_REG.EEPROM), 10, 'EEPROM');
    return {
      chips: b[0],
      bin: b[1],
      factoryMv: b.readUInt16BE(2),
      factoryMHz: b.readUInt16BE(4),
      minMv: b.readUInt16BE(6),
      maxMv: b.readUInt16BE(8),
    };
  }

  async setPower(on: boolean): Promise<void> {
    await this.write(MCU_REG.POWER_EN, Buffer.from([on ? 1 : 0]));
  }

  async power(): Promise<boolean> {
    return McuClient.need(await this.read(MCU_REG.POWER_EN), 1, 'POWER_EN')[0] === 1;
  }

  async setVoltage(mv: number): Promise<void> {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(Math.round(mv));
    await this.write(MCU_REG.VOLTAGE_SET, b);
  }

  async voltageMv(): Promise<number> {
    return McuClient.need(await this.read(MCU_REG.VOLTAGE_READ), 2, 'VOLTAGE_READ').readUInt16BE(0);
  }

  async powerW(): Promise<number> {
    return McuClient.need(await this.read(MCU_REG.POWER_W), 4, 'POWER_W').readFloatBE(0);
  }

  async temps(): Promise<Temps> {
    const b = await this.read(MCU_REG.TEMPS);
    const n = b[0] ?? 0;
    McuClient.need(b, 1 + 2 * n, 'TEMPS');
    const all = Array.from({ length: n }, (_, i) => b.readInt16BE(1 + 2 * i) / 100);
    return { inletC: all[0] ?? Number.NaN, outletC: all[1] ?? Number.NaN, chipsC: all.slice(2) };
  }

  async setWatchdog(seconds: number): Promise<void> {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(seconds);
    await this.write(MCU_REG.WATCHDOG, b);
  }

  async faults(): Promise<number> {
    return McuClient.need(await this.read(MCU_REG.FAULTS), 1, 'FAULTS')[0];
  }

  async clearFaults(): Promise<void> {
    await this.write(MCU_REG.FAULTS, Buffer.from([0]));
  }

  async setLed(mode: LedMode): Promise<void> {
    await this.write(MCU_REG.LED, Buffer.from([mode]));
  }
}
