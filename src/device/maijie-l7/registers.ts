// Chip registers and board MCU registers (contract §1.4, §2).

export const REG = {
  CHIP_ID: 0x00,
  PLL0: 0x08,
  HASH_INFO: 0x0c,
  TICKET_ZEROS: 0x14,
  BAUD: 0x28,
  ERROR_COUNT: 0x4c,
  NONCE_COUNT: 0x8c,
  VERSION_MASK: 0xa4,
} as const;

export const KNOWN_CHIP_REGS = new Set<number>(Object.values(REG));

/** CHIP_ID high 16 bits: "L7". */
export const CHIP_ID_MAGIC = 0x4c37;

export const MCU_REG = {
  BOARD_ID: 0x00,
  FW_VERSION: 0x01,
  EEPROM: 0x02,
  POWER_EN: 0x10,
  VOLTAGE_SET: 0x11,
  VOLTAGE_READ: 0x12,
  POWER_W: 0x14,
  TEMPS: 0x20,
  WATCHDOG: 0x30,
  FAULTS: 0x31,
  LED: 0x40,
} as const;

export const MCU_STATUS = {
  OK: 0x00,
  BAD_CRC: 0x01,
  UNKNOWN_REG: 0x02,
  OUT_OF_RANGE: 0x03,
  BUSY: 0x04,
} as const;

export const MCU_STATUS_TEXT: Record<number, string> = {
  0: 'ok',
  1: 'bad CRC',
  2: 'unknown register',
  3: 'value out of range',
  4: 'busy',
};

export const FAULT_BITS = {
  OVER_TEMP: 1 << 0,
  OVER_CURRENT: 1 << 1,
  WATCHDOG: 1 << 2,
  SUPPLY: 1 << 3,
} as const;

export const MCU_OP = { READ: 0x01, WRITE: 0x02 } as const;
