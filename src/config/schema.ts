import { type SchemaOptions, type Static, type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import { RATINGS } from '../device/maijie-l7/ratings.js';

// The one source of truth for configuration: validation, defaults, TypeScript types, the default TOML
// (`asicd config defaults`) and docs/configuration.md are all generated from this file.
// `errorMessage` is our own keyword: the rule a user reads when a value breaks it.

/** A union of string literals with its precise TypeScript type. */
function oneOf<const T extends readonly string[]>(values: T, opts: SchemaOptions): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    opts,
  ) as unknown as TUnion<TLiteral<T[number]>[]>;
}

const POOL_URL = '^stratum\\+(tcp|ssl|tls)://[^\\s/:]+:[0-9]{1,5}$';

const LogSchema = Type.Object(
  {
    level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], {
      default: 'info',
      description: 'Least severe level written.',
      errorMessage: 'expected one of fatal, error, warn, info, debug, trace',
    }),
    pretty: Type.Boolean({
      default: false,
      description: 'Human-readable lines instead of JSON (also implied when stdout is a terminal, or by --pretty).',
    }),
    stats_interval_s: Type.Integer({
      default: 60,
      minimum: 0,
      maximum: 3600,
      description: 'Log a summary (hash rate windows, shares, power) this often; 0 = never.',
    }),
  },
  { default: {}, description: 'Logging: JSON lines on stdout for journald.' },
);

const DaemonSchema = Type.Object(
  {
    state_dir: Type.String({
      default: '/var/lib/asicd',
      minLength: 1,
      description: 'Where tuning profiles, API tokens and the audit log are kept (written atomically).',
    }),
    lock_dir: Type.String({
      default: '/run/lock',
      minLength: 1,
      description: 'Where device lock files (LCK..ttyS1 style) stop a second daemon from driving the same boards.',
    }),
  },
  { default: {}, description: 'Files the daemon owns.' },
);

const ApiSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve REST, WebSocket, /metrics and the dashboard.' }),
    host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Address the HTTP API listens on.' }),
    port: Type.Integer({ default: 8080, minimum: 1, maximum: 65535, description: 'HTTP port.' }),
    open_reads_on_loopback: Type.Boolean({
      default: true,
      description: 'Let clients on loopback read without a token. Writes always need a token.',
    }),
    per_chip_metrics: Type.Boolean({ default: true, description: 'Export per-chip series on /metrics.' }),
    cgminer_enabled: Type.Boolean({ default: true, description: 'Serve the cgminer-compatible API.' }),
    cgminer_host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Address of the cgminer API.' }),
    cgminer_port: Type.Integer({ default: 4028, minimum: 1, maximum: 65535, description: 'Port of the cgminer API.' }),
    cgminer_allow: Type.String({
      default: '127.0.0.1/32',
      description: "cgminer's --api-allow: comma-separated networks; a W: prefix grants privileged commands.",
    }),
  },
  { default: {}, description: 'Operator interfaces.' },
);

const PoolSchema = Type.Object(
  {
    url: Type.String({
      pattern: POOL_URL,
      description: 'stratum+tcp://host:port, or stratum+ssl:// (stratum+tls://) for TLS.',
      errorMessage: 'expected stratum+tcp:// or stratum+ssl://host:port',
    }),
    user: Type.String({ minLength: 1, description: 'Worker name (usually account.worker).' }),
    password: Type.String({ default: 'x', description: 'Worker password. Never logged, never shown by the API.' }),
    priority: Type.Integer({ default: 0, minimum: 0, maximum: 999, description: 'Lower is preferred (failover).' }),
    quota: Type.Integer({ default: 1, minimum: 0, maximum: 1000000, description: 'Weight for load balance.' }),
    enabled: Type.Boolean({ default: true, description: 'A disabled pool is never used.' }),
    tls_ca_file: Type.String({ default: '', description: 'PEM file of the CA that signs the pool (TLS only).' }),
    tls_insecure: Type.Boolean({ default: false, description: "Skip verifying the pool's certificate (TLS only)." }),
    suggest_difficulty: Type.Number({
      default: 0,
      minimum: 0,
      description: 'Send mining.suggest_difficulty with this value; 0 = do not.',
    }),
    extranonce_subscribe: Type.Boolean({ default: false, description: 'Send mining.extranonce.subscribe.' }),
  },
  { default: {}, description: 'One pool. Give several for failover.' },
);

const PoolStrategySchema = Type.Object(
  {
    strategy: oneOf(['failover', 'round-robin', 'rotate', 'load-balance', 'balance'], {
      default: 'failover',
      description: "cgminer's pool strategies; see docs/pool-strategies.md.",
      errorMessage: 'expected one of failover, round-robin, rotate, load-balance, balance',
    }),
    fallback_time_s: Type.Integer({
      default: 120,
      minimum: 0,
      maximum: 86400,
      description: 'Failover: a recovered higher-priority pool is used again once alive this long.',
    }),
    rotate_period_min: Type.Integer({
      default: 60,
      minimum: 1,
      maximum: 10080,
      description: 'Rotate: minutes per pool.',
    }),
    hot_standby: Type.Boolean({ default: true, description: 'Keep backup pools connected and subscribed.' }),
    reject_limit: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 10000,
      description: 'Consecutive rejects that mark a pool Rejecting.',
    }),
    silence_timeout_s: Type.Integer({
      default: 60,
      minimum: 5,
      maximum: 3600,
      description:
        'A pool that sends nothing this long is dead (a notify is expected after authorize within a tenth of it, at least 5 s).',
    }),
    request_timeout_s: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 300,
      description: 'Per-request timeout (subscribe, authorize, submit).',
    }),
    version_rolling: Type.Boolean({ default: true, description: 'Negotiate BIP310 version rolling.' }),
    version_mask: Type.String({
      default: '1fffe000',
      pattern: '^[0-9a-fA-F]{8}$',
      description: 'Version bits we ask to roll (hex).',
      errorMessage: 'expected 8 hex digits',
    }),
  },
  { default: {}, description: 'How pools are chosen and spoken to.' },
);

const ChainSchema = Type.Object(
  {
    uart: Type.String({ minLength: 1, description: 'Chain UART: a device (/dev/ttyS1) or tcp://host:port.' }),
    spi: Type.String({ minLength: 1, description: 'Board MCU: a spidev (/dev/spidev0.0) or tcp://host:port.' }),
    chips: Type.Integer({
      default: RATINGS.chipsDefault,
      minimum: 1,
      maximum: RATINGS.chipsMax,
      description: 'Chips expected on the chain.',
    }),
    frequency_mhz: Type.Integer({
      default: 400,
      minimum: RATINGS.freqMinMHz,
      maximum: RATINGS.freqMaxMHz,
      description: `Chip frequency (rated ${RATINGS.freqMinMHz}–${RATINGS.freqMaxMHz} MHz).`,
    }),
    voltage_mv: Type.Integer({
      default: 1300,
      minimum: RATINGS.voltageMinMv,
      maximum: RATINGS.voltageMaxMv,
      description: "Domain voltage; further held inside the board EEPROM's min/max.",
    }),
    baud: Type.Integer({
      default: 115200,
      minimum: RATINGS.baudMin,
      maximum: RATINGS.baudMax,
      description: 'Chain link speed after enumeration.',
    }),
    enabled: Type.Boolean({ default: true, description: 'A disabled chain stays powered off.' }),
  },
  { default: {}, description: 'One hash board.' },
);

const FansSchema = Type.Object(
  {
    hwmon: Type.String({ default: '/sys/class/hwmon/hwmon0', minLength: 1, description: 'hwmon folder of the fans.' }),
    count: Type.Integer({ default: 4, minimum: 0, maximum: 8, description: 'Fans pwm1…pwmN.' }),
    min_pwm: Type.Integer({
      default: 60,
      minimum: 0,
      maximum: RATINGS.pwmMax,
      description: 'Lowest PWM while mining.',
    }),
    min_rpm: Type.Integer({
      default: 1000,
      minimum: 0,
      maximum: 30000,
      description:
        'A fan below this while driven at min_pwm or more has failed (for 10 s); the others then run at full speed.',
    }),
    min_working: Type.Integer({
      default: 1,
      minimum: 0,
      maximum: 8,
      description:
        'With fewer working fans than this (or fans that cannot be read for 10 s), every board is powered off until enough turn again. At most `count`; 0 only where the boards are cooled otherwise.',
    }),
  },
  { default: {}, description: 'Controller fans.' },
);

const ThermalSchema = Type.Object(
  {
    target_c: Type.Number({ default: 75, minimum: 30, maximum: 95, description: 'Chip temperature the fans aim at.' }),
    hot_c: Type.Number({
      default: 85,
      minimum: 40,
      maximum: 98,
      description: 'Throttle above (with `throttle`); a board cut off restarts only below this.',
    }),
    throttle: Type.Boolean({
      default: true,
      description:
        'Chips at hot_c or above step their board down 5 % of its frequency at a time (not below half of it); 5 °C under hot_c (or half way to target_c) for throttle_hold_s, back up.',
    }),
    throttle_hold_s: Type.Integer({
      default: 30,
      minimum: 5,
      maximum: 600,
      description: 'Throttling pace: a step down at most every sixth of this, a step up only after this long cool.',
    }),
    dangerous_c: Type.Number({
      default: 95,
      minimum: 50,
      maximum: RATINGS.dangerousMaxTempC,
      description: `Power the board off above this (at most ${RATINGS.dangerousMaxTempC} °C, under the MCU's own ${RATINGS.mcuTripTempC} °C cut).`,
    }),
    watchdog_s: Type.Integer({
      default: 10,
      minimum: 3,
      maximum: 120,
      description: 'Board MCU watchdog: the board powers off if the daemon is silent this long.',
    }),
  },
  { default: {}, description: 'Protection. Safety decisions never wait on the network.' },
);

const TuningSchema = Type.Object(
  {
    mode: oneOf(['off', 'efficiency', 'hashrate', 'power'], {
      default: 'off',
      description:
        'Auto-tuning goal. Not implemented yet: only "off" has an effect (boards run at their configured frequency and voltage).',
      errorMessage: 'expected one of off, efficiency, hashrate, power',
    }),
    power_target_w: Type.Integer({ default: 3000, minimum: 100, maximum: 10000, description: 'Power mode: watts.' }),
    nonces_per_chip_s: Type.Number({
      default: 4,
      minimum: 0.1,
      maximum: 1000,
      description:
        'Nonces each chip should report a second (sets TICKET_ZEROS): more measures chips faster, fewer spares the link.',
    }),
    max_hw_error_rate: Type.Number({
      default: 0.002,
      minimum: 0,
      maximum: 0.1,
      description: 'Highest share of bad nonces a tuned chip may show.',
    }),
  },
  { default: {}, description: 'Auto-tuning (not implemented yet, except nonces_per_chip_s).' },
);

const SimSchema = Type.Object(
  {
    boards: Type.Integer({ default: 3, minimum: 1, maximum: 4, description: 'Simulated hash boards.' }),
    chips: Type.Integer({
      default: RATINGS.chipsDefault,
      minimum: 1,
      maximum: RATINGS.chipsMax,
      description: 'Chips per board.',
    }),
    scale_shift: Type.Integer({
      default: 30,
      minimum: 0,
      maximum: 40,
      description: 'The scale model hashes 2^s slower.',
    }),
    seed: Type.Integer({ default: 1, minimum: 0, description: 'Seed of the per-chip spread.' }),
  },
  { default: {}, description: 'The simulator (asicd sim, asicd demo).' },
);

export const ConfigSchema = Type.Object({
  log: LogSchema,
  daemon: DaemonSchema,
  api: ApiSchema,
  pool: PoolStrategySchema,
  pools: Type.Array(PoolSchema, {
    default: [],
    maxItems: 16,
    description: 'Pools, tried by the strategy in [pool].',
    examples: [[{ url: 'stratum+tcp://pool.example.com:3333', user: 'account.worker', password: 'x' }]],
  }),
  chains: Type.Array(ChainSchema, {
    default: [],
    maxItems: 4,
    description: 'Hash boards.',
    examples: [[{ uart: '/dev/ttyS1', spi: '/dev/spidev0.0', chips: RATINGS.chipsDefault, frequency_mhz: 400 }]],
  }),
  fans: FansSchema,
  thermal: ThermalSchema,
  tuning: TuningSchema,
  sim: SimSchema,
});

export type Config = Static<typeof ConfigSchema>;
export type PoolConfig = Static<typeof PoolSchema>;
export type ChainConfig = Static<typeof ChainSchema>;

/** Paths whose values are secrets: redacted in logs and API replies. */
export const SECRET_KEYS = new Set(['password']);

export function isObjectSchema(s: TSchema): s is TSchema & { properties: Record<string, TSchema> } {
  return s.type === 'object' && typeof s.properties === 'object';
}
export function isArraySchema(s: TSchema): s is TSchema & { items: TSchema } {
  return s.type === 'array' && typeof s.items === 'object';
}
