import type { EventEmitter } from 'node:events';

/**
 * A byte stream to a chain: a UART device, a pseudo-terminal, or tcp://host:port (ser2net, the simulator).
 * Events: 'data' (Buffer); 'lost' (reason) when the device vanishes (EIO, ENOENT, socket closed) — an expected state
 * the owner handles by reopening later, never an exception.
 */
export interface ByteTransport extends EventEmitter {
  readonly path: string;
  readonly isOpen: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  write(data: Buffer): void;
  /** Changes the link speed where there is one (a UART); a no-op on pseudo-terminals and TCP. */
  setBaud(baud: number): Promise<void>;
}

/**
 * A request/response link to a board MCU: spidev, or tcp://host:port carrying the same frames.
 * Events: 'lost' (reason).
 */
export interface McuTransport extends EventEmitter {
  readonly path: string;
  readonly isOpen: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  /** Sends one request frame and returns the raw response frame. */
  exchange(request: Buffer, timeoutMs: number): Promise<Buffer>;
}

export class TransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function parseTcpPath(path: string): { host: string; port: number } | undefined {
  const m = /^tcp:\/\/([^:/\s]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(path);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}
