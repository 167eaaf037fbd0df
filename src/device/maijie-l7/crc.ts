// The three CRCs of the Maijie L7 links (contract §1.1, §1.2, §2).

/** CRC5 (x⁵+x²+1, init 0x1F, MSB first, no xor-out) over `bits` bits of `data` starting at `start`. */
export function crc5Bits(data: Uint8Array, start: number, bits: number): number {
  let crc = 0x1f;
  for (let i = 0; i < bits; i++) {
    const bit = (data[start + (i >> 3)] >> (7 - (i & 7))) & 1;
    const top = (crc >> 4) & 1;
    crc = (crc << 1) & 0x1f;
    if (top ^ bit) crc ^= 0x05;
  }
  return crc;
}

/** CRC5 of whole bytes data[start, end). */
export function crc5(data: Uint8Array, start = 0, end = data.length): number {
  return crc5Bits(data, start, (end - start) * 8);
}

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no xor-out. */
export function crc16(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ data[i]) & 0xff];
  return crc;
}

const CRC8_TABLE = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
    t[i] = c;
  }
  return t;
})();

/** CRC-8/SMBUS: poly 0x07, init 0x00. */
export function crc8(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = CRC8_TABLE[crc ^ data[i]];
  return crc;
}
