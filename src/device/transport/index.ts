import { McuTcpTransport } from './mcu-tcp.js';
import { McuSpiTransport } from './spi.js';
import { TcpTransport } from './tcp.js';
import type { ByteTransport, McuTransport } from './types.js';
import { UartTransport } from './uart.js';

export type { ByteTransport, McuTransport } from './types.js';

/** A chain link from a config path: tcp://host:port or a device / pseudo-terminal path. */
export function openChainTransport(path: string, baud = 115200): ByteTransport {
  return path.startsWith('tcp://') ? new TcpTransport(path) : new UartTransport(path, baud);
}

/** A board MCU link from a config path: tcp://host:port or /dev/spidevB.D. */
export function openMcuTransport(path: string): McuTransport {
  return path.startsWith('tcp://') ? new McuTcpTransport(path) : new McuSpiTransport(path);
}
