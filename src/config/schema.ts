import {
  type SchemaOptions,
  type Static,
  type TLiteral,
  type TProperties,
  type TSchema,
  type TUnion,
  Type,
} from '@sinclair/typebox';
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
      maxLength: 300,
      description: 'stratum+tcp://host:port, or stratum+ssl:// (stratum+tls://) for TLS.',
      errorMessage: 'expected stratum+tcp:// or stratum+ssl://host:port',
    }),
    user: Type.String({ minLength: 1, maxLength: 256, description: 'Worker name (usually account.worker).' }),
    password: Type.String({
      default: 'x',
      maxLength: 256,
      description: 'Worker password. Never logged, never shown by the API.',
    }),
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
    submit_timeout_s: Type.Integer({
      default: 5,
      minimum: 1,
      maximum: 300,
      description:
        'A share unanswered this long (or request_timeout_s if shorter) means the pool swallows shares: it is left for the others, and shunned for 30 s, doubling to 10 min while it keeps doing so.',
    }),
    max_shares_per_s: Type.Number({
      default: 100,
      minimum: 0.01,
      maximum: 100000,
      description:
        'Difficulty floor: a pool asking for a difficulty that would give more shares a second than this at our hash rate is mined at the floor (shares still meet its target).',
    }),
    startup_grace_s: Type.Integer({
      default: 5,
      minimum: 0,
      maximum: 120,
      description:
        'Failover at start: wait up to this long for a higher-priority pool still connecting before mining on a lower one.',
    }),
    no_work_idle_s: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 3600,
      description: 'No usable pool this long: the boards idle, powered down, until a pool is usable again.',
    }),
    version_rolling: Type.Boolean({ default: true, description: 'Negotiate BIP310 version rolling.' }),
    version_mask: Type.String({
      default: '1fffe000',
      pattern: '^[0-9a-fA-F]{8}$',
      description: 'Version bits we ask to roll (hex).',
      errorMessage: 'expected 8 hex digits',
    }),
    prefer_version_rolling: Type.Boolean({
      default: false,
      description:
        'Rank a pool that refused version rolling after every pool that grants it: without it an L7 chip walks its job in ~0.14 ms and no host can feed it in time (docs/feed.md).',
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
        'A fan below this while driven at min_pwm or more has failed (for 3 s); the others then run at full speed.',
    }),
    min_working: Type.Integer({
      default: 1,
      minimum: 0,
      maximum: 8,
      description:
        'With fewer working fans than this (or fans that cannot be read for 2 s), every board is powered off until enough turn again. At most `count`; 0 only where the boards are cooled otherwise.',
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
        'Auto-tuning goal: off (configured frequency and voltage), efficiency (lowest J/TH), hashrate (reach hashrate_target_ths with the least power), power (the most hash rate within power_target_w). See docs/tuning.md.',
      errorMessage: 'expected one of off, efficiency, hashrate, power',
    }),
    power_target_w: Type.Integer({
      default: 3000,
      minimum: 100,
      maximum: 10000,
      description: 'Power mode: watts for the whole miner, shared across the boards that are mining.',
    }),
    hashrate_target_ths: Type.Number({
      default: 90,
      minimum: 1,
      maximum: 1000,
      description: 'Hashrate mode: TH/s for the whole miner, shared across the boards that are mining.',
    }),
    nonces_per_chip_s: Type.Number({
      default: 4,
      minimum: 0.1,
      maximum: 1000,
      description:
        'Nonces each chip should report a second (sets TICKET_ZEROS): more measures chips faster, fewer spares the link.',
    }),
    measure_nonces_per_chip_s: Type.Number({
      default: 64,
      minimum: 1,
      maximum: 1000,
      description:
        'Nonces each chip reports a second while the tuner tests it: a step needs ~490 replies (max_hw_error_rate 0.002), so this sets how long a step takes.',
    }),
    max_hw_error_rate: Type.Number({
      default: 0.002,
      minimum: 0,
      maximum: 0.1,
      description: 'Highest share of bad nonces a tuned chip may show (tested at 95 % confidence against 4 × this).',
    }),
    settle_s: Type.Integer({
      default: 45,
      minimum: 5,
      maximum: 600,
      description: 'Time for temperatures to settle after the tuner changes a board, before it measures power.',
    }),
    retune_inlet_delta_c: Type.Number({
      default: 10,
      minimum: 1,
      maximum: 50,
      description: 'A tuned board is tuned again when its inlet temperature moves this far from where it was tuned.',
    }),
  },
  { default: {}, description: 'Auto-tuning: per-chip frequency and per-board voltage (docs/tuning.md).' },
);

const HistorySchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Keep hash rate, power, temperatures and shares per pool in `<state_dir>/history.bin`.',
    }),
    interval_s: Type.Integer({ default: 60, minimum: 1, maximum: 3600, description: 'One sample this often.' }),
    days: Type.Integer({
      default: 3,
      minimum: 1,
      maximum: 14,
      description: 'Keep samples this long (at most 20160 samples, 14 days at one a minute).',
    }),
  },
  { default: {}, description: 'History for the dashboard and GET /api/v1/history, kept across restarts.' },
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

/** One alert rule: how long its condition must hold, how soon it may fire again, what it says. */
function alertRule<T extends TProperties = Record<never, never>>(
  what: string,
  d: { forS: number; cooldownS: number; severity: 'warning' | 'critical'; message: string; resolve: string },
  threshold?: T,
) {
  return Type.Object(
    {
      enabled: Type.Boolean({ default: true, description: 'Evaluate this rule.' }),
      ...(threshold ?? ({} as T)),
      for_s: Type.Integer({
        default: d.forS,
        minimum: 0,
        maximum: 86400,
        description: 'The condition must hold this long before the alert fires.',
      }),
      cooldown_s: Type.Integer({
        default: d.cooldownS,
        minimum: 0,
        maximum: 604800,
        description: 'After firing, the same alert (rule and subject) fires again at the earliest this much later.',
      }),
      severity: oneOf(['warning', 'critical'], {
        default: d.severity,
        description: 'Carried to notifiers and MQTT.',
        errorMessage: 'expected warning or critical',
      }),
      message: Type.String({
        default: d.message,
        maxLength: 500,
        description: 'Text when it fires; {subject}, {value}, {threshold} and {reason} are filled in.',
      }),
      resolve_message: Type.String({
        default: d.resolve,
        maxLength: 500,
        description: 'Text when it resolves (same placeholders).',
      }),
    },
    { default: {}, description: what },
  );
}

const AlertsSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Evaluate alert rules once a second.' }),
    history_max: Type.Integer({
      default: 500,
      minimum: 10,
      maximum: 10000,
      description: 'Alert events kept in <state_dir>/alerts.json (oldest dropped first).',
    }),
    miner_name: Type.String({
      default: '',
      maxLength: 64,
      description: 'Name in notifications and MQTT; empty = the host name.',
    }),
    chip_temp: alertRule(
      'A chip hotter than above_c.',
      {
        forS: 30,
        cooldownS: 900,
        severity: 'warning',
        message: '{subject}: chip at {value} °C, above {threshold} °C',
        resolve: '{subject}: chips back below {threshold} °C ({value} °C)',
      },
      { above_c: Type.Number({ default: 90, minimum: 40, maximum: 120, description: 'Chip temperature limit.' }) },
    ),
    board_temp: alertRule(
      'A board (inlet or outlet PCB sensor) hotter than above_c.',
      {
        forS: 30,
        cooldownS: 900,
        severity: 'warning',
        message: '{subject}: board at {value} °C, above {threshold} °C',
        resolve: '{subject}: board back below {threshold} °C ({value} °C)',
      },
      { above_c: Type.Number({ default: 80, minimum: 30, maximum: 120, description: 'Board sensor limit.' }) },
    ),
    hashrate_low: alertRule(
      'A mining board making less than below_percent of its ideal hash rate (1 minute average).',
      {
        forS: 600,
        cooldownS: 3600,
        severity: 'warning',
        message: '{subject}: hash rate {value} % of ideal, below {threshold} %',
        resolve: '{subject}: hash rate back to {value} % of ideal',
      },
      {
        below_percent: Type.Number({ default: 80, minimum: 1, maximum: 100, description: 'Share of ideal, in %.' }),
      },
    ),
    pool_dead: alertRule('An enabled pool that is dead (not connected or silent).', {
      forS: 120,
      cooldownS: 1800,
      severity: 'warning',
      message: '{subject} is dead: {reason}',
      resolve: '{subject} is alive again',
    }),
    pool_rejecting: alertRule('A pool rejecting shares (pool.reject_limit in a row).', {
      forS: 60,
      cooldownS: 1800,
      severity: 'warning',
      message: '{subject} rejects shares: {reason}',
      resolve: '{subject} accepts shares again',
    }),
    no_pool: alertRule('No pool to mine on: every enabled pool dead or rejecting.', {
      forS: 60,
      cooldownS: 900,
      severity: 'critical',
      message: 'no pool alive: mining stopped',
      resolve: 'mining on {reason} again',
    }),
    board_lost: alertRule('A board that stopped answering (chain link or MCU lost).', {
      forS: 10,
      cooldownS: 900,
      severity: 'critical',
      message: '{subject} lost: {reason}',
      resolve: '{subject} answers again',
    }),
    fan_failed: alertRule('A fan turning slower than fans.min_rpm while driven.', {
      forS: 0,
      cooldownS: 900,
      severity: 'critical',
      message: '{subject} failed ({value} rpm)',
      resolve: '{subject} turns again ({value} rpm)',
    }),
    safety_cutoff: alertRule('A board powered off for safety (temperature, MCU trip, fans).', {
      forS: 0,
      cooldownS: 300,
      severity: 'critical',
      message: '{subject} powered off: {reason}',
      resolve: '{subject} back on after the safety cut-off',
    }),
    tuner_failed: alertRule('Auto-tuning failed on a board.', {
      forS: 0,
      cooldownS: 3600,
      severity: 'warning',
      message: '{subject}: tuning failed: {reason}',
      resolve: '{subject}: tuning recovered',
    }),
  },
  { default: {}, description: 'Alert rules (see docs/alerts.md). History in <state_dir>/alerts.json.' },
);

const NotifySchema = Type.Object(
  {
    webhook_url: Type.String({
      default: '',
      maxLength: 2000,
      pattern: '^(https?://\\S+)?$',
      description: 'POST every alert event as JSON here; empty = off. Secret: redacted in logs and API replies.',
      errorMessage: 'expected an http:// or https:// URL, or empty',
    }),
    webhook_hmac_secret: Type.String({
      default: '',
      maxLength: 256,
      description: 'Sign webhook bodies: X-Asicd-Signature-256: sha256=HMAC-SHA256(secret, body) in hex. Secret.',
    }),
    telegram_bot_token: Type.String({
      default: '',
      maxLength: 200,
      pattern: '^([0-9]+:[A-Za-z0-9_-]+)?$',
      description: 'Telegram bot token (123456:ABC…) for sendMessage; empty = off. Secret.',
      errorMessage: 'expected a bot token like 123456:ABC-DEF…, or empty',
    }),
    telegram_chat_id: Type.String({
      default: '',
      maxLength: 100,
      description: 'Telegram chat: a numeric id or @channelname.',
    }),
    telegram_api_url: Type.String({
      default: 'https://api.telegram.org',
      pattern: '^https?://\\S+$',
      description: 'Telegram Bot API server (a local Bot API server can stand in).',
      errorMessage: 'expected an http:// or https:// URL',
    }),
    discord_webhook_url: Type.String({
      default: '',
      maxLength: 2000,
      pattern: '^(https?://\\S+)?$',
      description: 'Discord webhook (…/api/webhooks/ID/TOKEN); empty = off. Secret.',
      errorMessage: 'expected an http:// or https:// URL, or empty',
    }),
    min_severity: oneOf(['warning', 'critical'], {
      default: 'warning',
      description: 'Send only alerts at least this severe.',
      errorMessage: 'expected warning or critical',
    }),
    queue_max: Type.Integer({
      default: 100,
      minimum: 1,
      maximum: 10000,
      description:
        'Messages waiting per notifier (besides the one being sent); beyond it the oldest waiting is dropped (and counted).',
    }),
    retries: Type.Integer({
      default: 5,
      minimum: 0,
      maximum: 20,
      description:
        'Attempts after the first, with exponential backoff from 2 s (at most 5 min; a 429 Retry-After is honoured).',
    }),
    timeout_s: Type.Integer({ default: 10, minimum: 1, maximum: 120, description: 'Per request.' }),
  },
  { default: {}, description: 'Where alert events are sent (see docs/alerts.md). Sending never blocks mining.' },
);

const MqttSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'Bridge telemetry and commands to an MQTT broker.' }),
    url: Type.String({
      default: 'mqtts://127.0.0.1:8883',
      // no user:password@: the URL is not a secret, so it would show in GET /api/v1/config
      pattern: '^(mqtt|mqtts|ws|wss)://[^\\s@/]+(/[^\\s@]*)?$',
      description: 'Broker: mqtt:// (plain), mqtts:// (TLS), ws:// or wss://. Credentials go in username and password.',
      errorMessage:
        'expected mqtt://, mqtts://, ws:// or wss://host:port, without user:password@ (use username, password)',
    }),
    username: Type.String({ default: '', maxLength: 200, description: 'Broker user.' }),
    password: Type.String({ default: '', maxLength: 200, description: 'Broker password. Secret.' }),
    tls_ca_file: Type.String({ default: '', description: 'PEM file of the CA that signs the broker (mqtts, wss).' }),
    tls_insecure: Type.Boolean({ default: false, description: "Skip verifying the broker's certificate." }),
    topic_prefix: Type.String({
      default: 'asicd',
      minLength: 1,
      maxLength: 100,
      pattern: '^[^#+\\s]+$',
      description: 'Topics are <topic_prefix>/<node_id>/…',
      errorMessage: 'expected a topic without +, # or spaces',
    }),
    node_id: Type.String({
      default: '',
      maxLength: 64,
      pattern: '^[A-Za-z0-9_-]*$',
      description: 'This miner in topics and Home Assistant ids; empty = the host name (cleaned).',
      errorMessage: 'expected letters, digits, _ and -',
    }),
    interval_s: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 3600,
      description: 'Telemetry period (summary, boards, pools).',
    }),
    command_role: oneOf(['none', 'viewer', 'operator', 'admin'], {
      default: 'none',
      description:
        'Role granted to commands on <prefix>/<node>/cmd/#: operator allows pause, resume, switch_pool and tuning_mode as over REST; none or viewer refuses them. Restrict who may publish there with a broker ACL.',
      errorMessage: 'expected none, viewer, operator or admin',
    }),
    discovery: Type.Boolean({ default: true, description: 'Publish Home Assistant MQTT discovery (retained).' }),
    discovery_prefix: Type.String({
      default: 'homeassistant',
      minLength: 1,
      maxLength: 100,
      pattern: '^[^#+\\s]+$',
      description: "Home Assistant's discovery prefix.",
      errorMessage: 'expected a topic without +, # or spaces',
    }),
    queue_max: Type.Integer({
      default: 1000,
      minimum: 10,
      maximum: 100000,
      description: 'Messages held while the broker is away; beyond it telemetry is dropped (and counted).',
    }),
  },
  { default: {}, description: 'MQTT bridge with Home Assistant discovery (see docs/mqtt.md).' },
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
  history: HistorySchema,
  sim: SimSchema,
  alerts: AlertsSchema,
  notify: NotifySchema,
  mqtt: MqttSchema,
});

export type Config = Static<typeof ConfigSchema>;
export type PoolConfig = Static<typeof PoolSchema>;
export type ChainConfig = Static<typeof ChainSchema>;
export type AlertsConfig = Static<typeof AlertsSchema>;
export type NotifyConfig = Static<typeof NotifySchema>;
export type MqttConfig = Static<typeof MqttSchema>;

/** Paths whose values are secrets: redacted in logs and API replies. */
export const SECRET_KEYS = new Set([
  'password',
  'webhook_url',
  'webhook_hmac_secret',
  'telegram_bot_token',
  'discord_webhook_url',
]);

export function isObjectSchema(s: TSchema): s is TSchema & { properties: Record<string, TSchema> } {
  return s.type === 'object' && typeof s.properties === 'object';
}
export function isArraySchema(s: TSchema): s is TSchema & { items: TSchema } {
  return s.type === 'array' && typeof s.items === 'object';
}

/** A copy of `value` (a config or part of one) with every non-empty secret replaced by `mark`. */
export function redactSecrets<T>(value: T, mark = '[REDACTED]'): T {
  return walkSecrets(value, (s) => (s ? mark : s)) as T;
}

/** Every non-empty secret in a config, for the log scrubber. */
export function secretValues(value: unknown): string[] {
  const out: string[] = [];
  walkSecrets(value, (s) => {
    if (s) out.push(s);
    return s;
  });
  return out;
}

function walkSecrets(v: unknown, fn: (secret: string) => string, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => walkSecrets(x, fn));
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walkSecrets(x, fn, k)]));
  return typeof v === 'string' && SECRET_KEYS.has(key) ? fn(v) : v;
}
