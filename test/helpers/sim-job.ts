/** A job frame's fields for tests that talk to the simulated chips directly (not from a pool). */
export const SIM_JOB = {
  jobId: 8,
  startNonce: 0,
  nbits: 0x1705ae3a,
  ntime: 0x647025b5,
  merkleRoot: Buffer.alloc(32, 3),
  prevHash: Buffer.alloc(32, 4),
  version: 0x20000000,
};
