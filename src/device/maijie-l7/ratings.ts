// Hardware ratings from the Maijie L7 contract. Configuration can never go past these.
export const RATINGS = {
  /** Rated PLL output range of an L7 chip. */
  freqMinMHz: 50,
  freqMaxMHz: 800,
  /** Step of the PLL ramp at bring-up (contract §1.5). */
  rampStepMHz: 25,
  /** The board MCU cuts power by itself here; our own cut-off must sit below it. */
  mcuTripTempC: 105,
  /** Highest dangerous-temperature threshold we allow an operator to set. */
  dangerousMaxTempC: 100,
  /** Domain voltage the board supply can be asked for; the board's EEPROM narrows it further. */
  voltageMinMv: 1000,
  voltageMaxMv: 1600,
  /** Chips on one chain: addresses are one byte and the interval must be at least 1. */
  chipsMax: 256,
  chipsDefault: 76,
  /** Chain link speeds the BAUD register accepts. */
  baudMin: 115200,
  baudMax: 3000000,
  /** Fan PWM range through hwmon. */
  pwmMax: 255,
} as const;
