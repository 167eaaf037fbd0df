// The scale model's physics (contract §3): per-chip stable-frequency limits that rise with voltage and fall with
// temperature, board power, thermal lag, fan airflow. Real-sized units; only hashing and POWER_W are scaled.

/** Deterministic PRNG (mulberry32) so a seed gives the same chip spread every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

export const MODEL = {
  /** Stable frequency at the reference point, mean and spread across chips. */
  baseMaxMHzMean: 560,
  baseMaxMHzSd: 35,
  refVoltageMv: 1300,
  refTempC: 60,
  mhzPerMv: 0.9,
  mhzPerDegC: 1.6,
  /** Past the limit, errors grow with the square of the excess; this far past it the chip stops answering. */
  errorScaleMHz: 60,
  deadMarginMHz: 90,
  /** Dynamic power per chip: k × V² × f (W, V, MHz), plus leakage growing with temperature. */
  dynamicK: 0.0155,
  leakW: 0.35,
  inletC: 25,
  /** Board thermal resistance, °C per W, divided by airflow (0.15 + fan share). */
  boardRth: 0.04,
  chipRth: 0.9,
  thermalTauS: 20,
  fanMaxRpm: 6000,
  fanTauS: 1.5,
  cores: 894,
  boardMinMv: 1150,
  boardMaxMv: 1500,
  factoryMv: 1300,
  factoryMHz: 400,
  sagFactor: 0.85,
} as const;

export function maxStableMHz(baseMHz: number, voltageMv: number, tempC: number): number {
  return baseMHz + MODEL.mhzPerMv * (voltageMv - MODEL.refVoltageMv) - MODEL.mhzPerDegC * (tempC - MODEL.refTempC);
}

/** Share of returned nonces that are wrong at `freqMHz` for a chip whose limit is `limitMHz`. */
export function errorRate(freqMHz: number, limitMHz: number): number {
  if (freqMHz <= limitMHz) return 0;
  return Math.min(1, 0.005 + ((freqMHz - limitMHz) / MODEL.errorScaleMHz) ** 2);
}

export function chipAnswers(freqMHz: number, limitMHz: number): boolean {
  return freqMHz <= limitMHz + MODEL.deadMarginMHz;
}

export function chipPowerW(freqMHz: number, voltageMv: number, tempC: number): number {
  const v = voltageMv / 1000;
  return MODEL.dynamicK * v * v * freqMHz + MODEL.leakW * Math.exp((tempC - 25) / 60);
}

/** Airflow share 0…1 from the fans' RPM. */
export function airflow(rpms: number[]): number {
  if (rpms.length === 0) return 0;
  return Math.min(1, rpms.reduce((a, b) => a + b, 0) / rpms.length / MODEL.fanMaxRpm);
}

/** Steady-state die temperature of chip i of n on a board drawing `boardW`. */
export function steadyChipTempC(
  i: number,
  n: number,
  boardW: number,
  chipW: number,
  air: number,
  inletC: number,
): number {
  const rise = (boardW * MODEL.boardRth) / (0.15 + air);
  const position = 0.6 + (0.4 * i) / Math.max(1, n - 1); // the outlet end runs hotter
  return inletC + rise * position + chipW * MODEL.chipRth;
}

/** First-order lag toward `target` over `dtS` with time constant `tauS`. */
export function approach(current: number, target: number, dtS: number, tauS: number): number {
  return target + (current - target) * Math.exp(-dtS / tauS);
}
