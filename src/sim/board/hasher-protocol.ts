// Messages between the simulator and its hashing thread.

export interface ChipWork {
  addr: number;
  interval: number;
  rateHs: number;
  zeros: number;
  /** share of returned nonces that are wrong (hardware errors) */
  errRate: number;
  hashing: boolean;
}

export type ToHasher =
  | { t: 'job'; board: number; jobId: number; header: Uint8Array; versionMaskBits: number }
  | { t: 'chips'; board: number; chips: ChipWork[] }
  | { t: 'clear'; board: number }
  | { t: 'stop' };

export interface NonceOut {
  addr: number;
  nonce: number;
  jobId: number;
  core: number;
  versionBits: number;
}

export type FromHasher = { t: 'nonces'; board: number; list: NonceOut[]; hashes: number };
