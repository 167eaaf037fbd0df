// The asicd dashboard: reads the REST API once, then follows the WebSocket; pool actions for operators.
import { api, liveSocket, setToken, token } from './api.js';
import { PALETTE, timeChart } from './charts.js';
import * as fmt from './fmt.js';
import { chipFacts, chipTip, renderHeatmap, renderLegend } from './heatmap.js';
import { renderPools } from './pools.js';

const $ = (id) => document.getElementById(id);
const LIVE_WINDOW_S = 30 * 60;
const MAX_EVENTS = 100;
const MAX_LOG_LINES = 200;

const state = {
  role: 'viewer',
  name: '',
  boards: [],
  fans: undefined,
  pools: [],
  strategy: undefined,
  heatMode: 'rate',
  historyRangeS: 259_200,
  live: { t: [], h5s: [], h1m: [], h15m: [] },
  logLines: [],
  events: [],
};

/** Sets text and the raw number behind it (tests and screen readers read the raw one). */
function show(id, text, raw) {
  const el = typeof id === 'string' ? $(id) : id;
  el.textContent = text;
  if (raw !== undefined && raw !== null) el.dataset.value = String(raw);
}

function toast(text, bad = false) {
  const d = document.createElement('div');
  d.textContent = text;
  if (bad) d.className = 'bad';
  $('toast').append(d);
  setTimeout(() => d.remove(), bad ? 6000 : 3000);
}

/** Runs an operator action: the daemon's reply (or its error) is shown, then the pools are read again. */
export async function act(what, method, path, body) {
  try {
    const r = await api(method, path, body);
    toast(r?.message ?? `${what}: done`);
  } catch (err) {
    toast(`${what}: ${err.message}`, true);
  }
  await refreshPools();
}

/** Health answers 503 while degraded (for load balancers); its body is what the page shows either way. */
const readHealth = () => api('GET', '/api/v1/health', undefined, undefined, [503]);

// ---- summary and status ---------------------------------------------------------------------------------------

function renderSummary(s) {
  show('kpi-hashrate', fmt.hashrate(s.hashrate.h5s), s.hashrate.h5s);
  show('kpi-h1m', fmt.hashrate(s.hashrate.h1m), s.hashrate.h1m);
  show('kpi-h15m', fmt.hashrate(s.hashrate.h15m), s.hashrate.h15m);
  show('kpi-ideal', s.idealHashrateHs > 0 ? fmt.pct(s.hashrate.h1m / s.idealHashrateHs) : '—');
  show('kpi-power', fmt.watts(s.powerW), s.powerW);
  show('kpi-jth', s.jPerTh > 0 ? s.jPerTh.toFixed(1) : '—', s.jPerTh);
  show('kpi-accepted', fmt.int(s.accepted), s.accepted);
  show('kpi-rejected', fmt.int(s.rejected), s.rejected);
  show('kpi-stale', fmt.int(s.stale), s.stale);
  show('kpi-hw', fmt.int(s.hwErrors), s.hwErrors);
  show('kpi-best', fmt.difficulty(s.bestShare), s.bestShare);
  show('version', `v${s.version}`);
  show('uptime', `up ${fmt.duration(s.uptimeS)}`);
  const live = state.live;
  live.t.push(Date.now() / 1000);
  live.h5s.push(s.hashrate.h5s);
  live.h1m.push(s.hashrate.h1m);
  live.h15m.push(s.hashrate.h15m);
  const from = Date.now() / 1000 - LIVE_WINDOW_S;
  while (live.t.length && live.t[0] < from) for (const k of Object.keys(live)) live[k].shift();
  liveChart?.set([live.t, live.h5s, live.h1m, live.h15m]);
}

function renderStatus(health) {
  const el = $('status');
  const map = { ok: ['Mining', 'pill-ok'], paused: ['Paused', 'pill-info'], degraded: ['Degraded', 'pill-warn'] };
  const [text, cls] = map[health?.status] ?? [health?.status ?? 'unknown', 'pill-bad'];
  el.textContent = text;
  el.className = `pill ${cls}`;
  el.dataset.state = health?.status ?? 'unknown';
  const bad = (health?.components ?? []).filter((c) => !c.ok);
  $('health').textContent = bad.length
    ? `${bad.map((c) => `${c.name} ${c.state}`).join(' · ')}`
    : 'all components healthy';
}

// ---- boards, chips, fans ----------------------------------------------------------------------------------------

const BOARD_STATE = {
  mining: 'pill-ok',
  paused: 'pill-info',
  idle: 'pill-info',
  bringup: 'pill-info',
  init: 'pill-muted',
  stopped: 'pill-muted',
  cooling: 'pill-warn',
};

function boardCard(b) {
  const card = document.createElement('article');
  card.className = 'board';
  card.dataset.board = String(b.board);
  const head = document.createElement('div');
  head.className = 'board-head';
  const h = document.createElement('h3');
  h.textContent = `Board ${b.board}`;
  const id = document.createElement('span');
  id.className = 'muted';
  id.textContent = b.boardId ? `#${b.boardId}` : '';
  const pill = document.createElement('span');
  pill.className = `pill ${BOARD_STATE[b.state] ?? 'pill-bad'}`;
  pill.dataset.field = 'state';
  pill.textContent = b.state;
  head.append(h, id, pill);
  const ratio = b.idealHashrateHs > 0 ? b.hashrate.h1m / b.idealHashrateHs : 0;
  const bar = document.createElement('div');
  bar.className = 'bar';
  bar.title = `${fmt.pct(ratio)} of ideal`;
  const fill = document.createElement('span');
  fill.style.width = `${Math.min(100, ratio * 100)}%`;
  fill.style.background = ratio >= 0.9 ? 'var(--ok)' : ratio >= 0.7 ? 'var(--warn)' : 'var(--bad)';
  bar.append(fill);
  const dl = document.createElement('dl');
  const temps = b.temperatures ?? {};
  const tb = state.tuning?.boards?.find((x) => x.board === b.board);
  const tuner = tb ? `${tb.stage}${tb.progress > 0 && tb.progress < 1 ? ` ${fmt.pct(tb.progress)}` : ''}` : undefined;
  const rows = [
    ['Hash rate (1 min)', 'hashrate', fmt.hashrate(b.hashrate.h1m), b.hashrate.h1m],
    ['Ideal', 'idealHashrateHs', fmt.hashrate(b.idealHashrateHs), b.idealHashrateHs],
    [
      'Frequency',
      'frequencyMHz',
      `${fmt.int(b.frequencyMHz)} MHz`,
      b.frequencyMHz,
      b.throttled ? `throttled (wanted ${fmt.int(b.wantedFrequencyMHz)})` : '',
    ],
    ['Voltage', 'voltageMv', `${fmt.int(b.voltageMv)} mV`, b.voltageMv],
    ['Power', 'powerW', fmt.watts(b.powerW), b.powerW],
    [
      'Efficiency',
      'jPerTh',
      b.hashrate.h1m > 0 && b.powerW > 0 ? `${(b.powerW / (b.hashrate.h1m / 1e12)).toFixed(1)} J/TH` : '—',
    ],
    ['Hottest chip', 'maxChipC', fmt.celsius(temps.maxChipC), temps.maxChipC],
    ['Inlet / outlet', 'inletC', `${fmt.celsius(temps.inletC)} / ${fmt.celsius(temps.outletC)}`, temps.inletC],
    ['Chips', 'chips', `${b.chips} of ${b.chipsExpected}${b.silentChips ? ` · ${b.silentChips} silent` : ''}`, b.chips],
    ['HW errors', 'hwErrors', fmt.int(b.hwErrors), b.hwErrors],
    ['Tuner', 'tuner', typeof tuner === 'string' ? tuner : '—'],
  ];
  for (const [label, field, text, raw, tag] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.dataset.field = field;
    dd.textContent = text;
    if (raw !== undefined && raw !== null) dd.dataset.value = String(raw);
    if (tag) {
      const t = document.createElement('span');
      t.className = 'tag';
      t.textContent = tag;
      dd.append(t);
    }
    dl.append(dt, dd);
  }
  card.append(head, bar, dl);
  if (b.state !== 'mining' && b.stateReason) {
    const r = document.createElement('div');
    r.className = 'reason';
    r.textContent = b.stateReason;
    card.append(r);
  }
  return card;
}

function renderBoards() {
  const el = $('boards');
  el.replaceChildren(...state.boards.map(boardCard));
  renderHeatmap($('heatmap'), state.boards, state.heatMode);
  const hottest = Math.max(...state.boards.map((b) => b.temperatures?.maxChipC ?? Number.NaN).filter(Number.isFinite));
  show('kpi-hottest', fmt.celsius(hottest), Number.isFinite(hottest) ? hottest : undefined);
}

function renderFans() {
  const f = state.fans;
  if (!f) return;
  const el = $('fans');
  el.replaceChildren(
    ...f.fans.map((x) => {
      const row = document.createElement('div');
      row.className = `fan${x.failed ? ' failed' : ''}`;
      row.dataset.fan = String(x.fan);
      const name = document.createElement('span');
      name.textContent = `Fan ${x.fan}`;
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.title = `drive ${Math.round((x.pwm / 255) * 100)} %`;
      const fill = document.createElement('span');
      fill.style.width = `${Math.round((x.pwm / 255) * 100)}%`;
      bar.append(fill);
      const rpm = document.createElement('b');
      rpm.className = 'num';
      rpm.dataset.value = String(x.rpm);
      rpm.textContent = `${fmt.int(x.rpm)} rpm`;
      row.append(name, bar, rpm);
      return row;
    }),
  );
  const working = f.fans.length - f.failed.length;
  $('fan-state').textContent = f.noAirflow
    ? 'too few fans: boards held off'
    : `${working} of ${f.fans.length} working · drive ${Math.round((f.pwm / 255) * 100)} %`;
  show('kpi-fans', `${working}/${f.fans.length}`);
}

// ---- pools ----------------------------------------------------------------------------------------------------

async function refreshPools() {
  try {
    const [pools, strategy] = await Promise.all([api('GET', '/api/v1/pools'), api('GET', '/api/v1/strategy')]);
    state.pools = pools;
    state.strategy = strategy;
    drawPools();
  } catch (err) {
    if (err.status === 401) needLogin();
  }
}

function drawPools() {
  renderPools($('pools'), state.pools, state.role !== 'viewer', act);
  if (state.strategy) {
    const sel = $('strategy');
    if (document.activeElement !== sel) sel.value = state.strategy.strategy;
    $('strategy-ro').textContent = `strategy: ${state.strategy.strategy}`;
  }
  const cur = state.pools.find((p) => p.current);
  $('pool-now').textContent = cur ? `on ${cur.url}` : 'no pool';
}

// ---- history ----------------------------------------------------------------------------------------------------

let liveChart;
let histRate;
let histTemp;
let histShares;
let histShape = '';

async function refreshHistory() {
  const now = Math.floor(Date.now() / 1000);
  const h = await api('GET', `/api/v1/history?from=${now - state.historyRangeS}&points=720`);
  $('history-empty').hidden = h.t.length > 0;
  document.querySelector('.history-charts').hidden = h.t.length === 0;
  const shape = `${h.boards.length}/${h.pools.map((p) => p.pool).join('|')}`;
  if (shape !== histShape) {
    // the boards or pools changed: charts are rebuilt with their series
    histShape = shape;
    for (const c of [histRate, histTemp, histShares]) c?.plot.destroy();
    histRate = timeChart($('chart-hist-rate'), [
      { label: 'Hash rate', color: PALETTE[0], unit: 'hash', width: 2 },
      { label: 'Power', color: PALETTE[1], unit: 'watt' },
    ]);
    histTemp = timeChart(
      $('chart-hist-temp'),
      h.boards.map((b, i) => ({ label: `Board ${b.board}`, color: PALETTE[(i + 2) % PALETTE.length], unit: 'temp' })),
    );
    histShares = timeChart(
      $('chart-hist-shares'),
      h.pools.flatMap((p, i) => [
        { label: `${shortPool(p.pool)} accepted`, color: PALETTE[(i * 2 + 2) % PALETTE.length], unit: 'count' },
        { label: `${shortPool(p.pool)} rejected`, color: '#ff7b72', unit: 'count', dash: [4, 3] },
      ]),
    );
  }
  $('chart-hist-rate').dataset.points = String(h.t.length);
  $('chart-hist-rate').dataset.first = String(h.t[0] ?? '');
  histRate.set([h.t, h.hashrateHs, h.powerW]);
  histTemp.set([h.t, ...h.boards.map((b) => b.maxChipC)]);
  histShares.set([h.t, ...h.pools.flatMap((p) => [p.accepted, p.rejected])]);
  return h;
}

function shortPool(label) {
  const [url, user] = label.split(' ');
  return `${url.replace(/^stratum\+\w+:\/\//, '')} ${user ?? ''}`.trim();
}

// ---- tuning -----------------------------------------------------------------------------------------------------

/** The tuner's state (GET /api/v1/tuning, WebSocket `tuning`): mode, targets, each board's stage and progress. */
function drawTuning(t) {
  state.tuning = t;
  const badge = $('tuning-badge');
  badge.textContent = t.mode;
  badge.className = `pill ${t.mode === 'off' ? 'pill-muted' : 'pill-info'}`;
  const dl = document.createElement('dl');
  const rows = [
    ['Mode', t.mode],
    ['Power target', Number.isFinite(t.powerTargetW) ? fmt.watts(t.powerTargetW) : '—'],
    ['Hash-rate target', Number.isFinite(t.hashrateTargetThs) ? `${t.hashrateTargetThs} TH/s` : '—'],
    ['Highest HW-error rate', Number.isFinite(t.maxHwErrorRate) ? fmt.pct(t.maxHwErrorRate) : '—'],
  ];
  for (const b of t.boards ?? []) {
    const progress = Number.isFinite(b.progress) && b.progress > 0 && b.progress < 1 ? ` ${fmt.pct(b.progress)}` : '';
    const eff = b.jPerTh > 0 ? ` · ${b.jPerTh.toFixed(1)} J/TH` : '';
    rows.push([`Board ${b.board}`, `${b.stage}${progress}${eff}`]);
  }
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = String(v);
    if (k.startsWith('Board ')) dd.dataset.board = k.slice(6);
    dl.append(dt, dd);
  }
  $('tuning').replaceChildren(dl);
  const sel = $('tuning-mode');
  if (document.activeElement !== sel) sel.value = t.mode;
  $('tuning-form').hidden = false;
  if (state.boards.length) renderBoards();
}

async function renderTuning() {
  let spec;
  try {
    spec = await api('GET', '/api/v1/openapi.json');
  } catch {
    spec = undefined;
  }
  // only when the daemon has a tuning API; otherwise the place is kept and says so
  if (spec?.paths?.['/api/v1/tuning']) {
    try {
      drawTuning(await api('GET', '/api/v1/tuning'));
      return;
    } catch {
      // fall through to the note
    }
  }
  const p = document.createElement('p');
  p.textContent =
    'This daemon has no auto-tuning: boards run at their configured frequency and voltage. Mode, targets and the tuner stage per board show here when it has.';
  $('tuning').replaceChildren(p);
}

// ---- events and log ---------------------------------------------------------------------------------------------

const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function addLog(line) {
  const lvl = LEVELS[line.level] ?? String(line.level);
  const t = line.time ?? Date.now();
  const who = line.component ? `[${line.component}] ` : '';
  state.logLines.push(`${fmt.clock(t)} ${lvl.padEnd(5)} ${who}${line.msg ?? ''}`);
  if (state.logLines.length > MAX_LOG_LINES) state.logLines.shift();
  if (line.level >= 40) addEvent(lvl, `${who}${line.msg ?? ''}${line.reason ? `: ${line.reason}` : ''}`, t);
}

function addEvent(lvl, text, t = Date.now()) {
  // a message repeated soon after (numbers aside) is counted, not listed again
  const key = `${lvl} ${text.replace(/\d+/g, '#')}`;
  const same = state.events.slice(0, 8).find((e) => e.key === key);
  if (same) {
    same.count++;
    same.t = t;
    same.text = text;
  } else {
    state.events.unshift({ t, lvl, text, key, count: 1 });
    if (state.events.length > MAX_EVENTS) state.events.pop();
  }
  drawEvents();
}

function drawEvents() {
  const el = $('events');
  if (!state.events.length) return;
  el.replaceChildren(
    ...state.events.map((e) => {
      const li = document.createElement('li');
      const time = document.createElement('time');
      time.textContent = fmt.clock(e.t);
      const lvl = document.createElement('span');
      lvl.className = `lvl lvl-${e.lvl}`;
      lvl.textContent = e.lvl;
      const text = document.createElement('span');
      text.textContent = e.count > 1 ? `${e.text} (×${e.count})` : e.text;
      li.append(time, lvl, text);
      return li;
    }),
  );
}

let logDirty = false;
function drawLog() {
  if (!logDirty) return;
  logDirty = false;
  const el = $('log');
  const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
  el.textContent = state.logLines.join('\n');
  if (atEnd) el.scrollTop = el.scrollHeight;
}

// ---- login ------------------------------------------------------------------------------------------------------

function needLogin(message) {
  const dlg = $('login');
  $('login-error').hidden = !message;
  $('login-error').textContent = message ?? '';
  if (!dlg.open) dlg.showModal();
}

async function whoami(t) {
  return api('GET', '/api/v1/whoami', undefined, t);
}

function setRole(who) {
  state.role = who.role;
  state.name = who.name;
  document.body.classList.toggle('can-act', who.role !== 'viewer');
  const el = $('who');
  const name = document.createElement('span');
  name.className = 'who-name';
  name.textContent = `${who.name} · `;
  el.replaceChildren(name);
  const b = document.createElement('b');
  b.textContent = who.role;
  el.append(b);
  $('login-btn').textContent = token() ? 'Log out' : 'Log in';
}

// ---- start ------------------------------------------------------------------------------------------------------

let socket;

/** Counts pushes applied, so a reader (a test, a screen reader script) can tell fresh data from old. */
function bump(what) {
  const k = `${what}Seq`;
  document.body.dataset[k] = String(Number(document.body.dataset[k] ?? '0') + 1);
}

function onMessage(topic, data) {
  if (topic === 'summary') {
    renderSummary(data);
    bump('summary');
  } else if (topic === 'hardware') {
    state.boards = data.boards;
    state.fans = data.fans;
    renderBoards();
    renderFans();
    bump('hardware');
  } else if (topic === 'tuning') drawTuning(data);
  else if (topic === 'pools') {
    if (data?.event === 'switch')
      addEvent(
        'info',
        `pools: switched ${data.from ?? 'none'} → ${data.to ?? 'none'}${data.reason ? `: ${data.reason}` : ''}`,
      );
    else if (data?.event === 'health' && data.pool && data.pool.status !== 'alive')
      addEvent(
        'warn',
        `pool ${data.pool.pool} ${data.pool.status}${data.pool.lastError ? `: ${data.pool.lastError}` : ''}`,
      );
    void refreshPools();
  } else if (topic === 'boards') {
    // board state changes carry the safety reasons (cooling, lost, held off): events every role sees
    if (data && typeof data.board === 'number')
      addEvent(
        data.state === 'mining' ? 'info' : 'warn',
        `board ${data.board} ${data.state}${data.stateReason ? `: ${data.stateReason}` : ''}`,
      );
    void readHealth().then(renderStatus, () => {});
  } else if (topic === 'logs') {
    addLog(data);
    logDirty = true;
  }
}

async function loadAll() {
  const [summary, health, boards, fans] = await Promise.all([
    api('GET', '/api/v1/summary'),
    readHealth(),
    api('GET', '/api/v1/boards'),
    api('GET', '/api/v1/fans'),
  ]);
  state.boards = await Promise.all(
    boards.map(async (b) => ({ ...b, chipList: await api('GET', `/api/v1/boards/${b.board}/chips`) })),
  );
  state.fans = fans;
  renderStatus(health);
  renderBoards();
  renderFans();
  await refreshPools();
  // seed the live chart with the last half hour of 1-minute means
  const now = Math.floor(Date.now() / 1000);
  const h = await api('GET', `/api/v1/history?from=${now - LIVE_WINDOW_S}&points=60`);
  h.t.forEach((t, i) => {
    state.live.t.push(t);
    state.live.h5s.push(null);
    state.live.h1m.push(h.hashrateHs[i]);
    state.live.h15m.push(null);
  });
  renderSummary(summary);
  await refreshHistory();
  if (state.role !== 'viewer') {
    const lines = await api('GET', '/api/v1/logs?lines=150');
    for (const l of lines) addLog(l);
    logDirty = true;
  }
}

async function start() {
  liveChart ??= timeChart(
    $('chart-live'),
    [
      { label: '5 s', color: 'rgba(247,147,26,.55)', unit: 'hash', width: 1 },
      { label: '1 min', color: PALETTE[0], unit: 'hash', width: 2.2 },
      { label: '15 min', color: PALETTE[1], unit: 'hash', width: 1.6 },
    ],
    240,
  );
  renderLegend($('heat-legend'), state.heatMode);
  let who;
  try {
    who = await whoami();
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      setToken('');
      needLogin(token() ? 'That token was not accepted.' : undefined);
      return;
    }
    throw err;
  }
  setRole(who);
  await loadAll();
  await renderTuning();
  // the log is an operator's read (as GET /api/v1/logs); viewers get the events from board and pool changes
  const topics = () => [
    'summary',
    'pools',
    'boards',
    'hardware',
    ...(state.tuning ? ['tuning'] : []),
    ...(state.role === 'viewer' ? [] : ['logs']),
  ];
  if (state.role === 'viewer') $('log').textContent = 'The log needs an operator token.';
  socket = liveSocket(topics, onMessage, (open) => {
    $('ws-state').textContent = open ? 'live' : 'reconnecting…';
    document.body.dataset.live = open ? 'yes' : 'no';
  });
  setInterval(drawLog, 500);
  setInterval(() => void refreshPools(), 5000);
  setInterval(() => void refreshHistory().catch(() => {}), 60_000);
  setInterval(() => void readHealth().then(renderStatus, () => {}), 5000);
  document.body.dataset.ready = 'yes';
}

// ---- controls ---------------------------------------------------------------------------------------------------

$('heat-mode').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-mode]');
  if (!b) return;
  state.heatMode = b.dataset.mode;
  for (const x of $('heat-mode').children) x.setAttribute('aria-selected', String(x === b));
  renderLegend($('heat-legend'), state.heatMode);
  renderHeatmap($('heatmap'), state.boards, state.heatMode);
});

$('history-range').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-range]');
  if (!b) return;
  state.historyRangeS = Number(b.dataset.range);
  for (const x of $('history-range').children) x.setAttribute('aria-selected', String(x === b));
  void refreshHistory();
});

// chip numbers on hover (mouse) or tap (touch)
const tip = $('tip');
function showTip(cell) {
  const board = state.boards.find((b) => String(b.board) === cell.dataset.board);
  if (!board) return;
  const f = chipFacts(board)[Number(cell.dataset.chip)];
  const title = document.createElement('b');
  title.textContent = `Board ${board.board} · chip ${cell.dataset.chip}${f ? ` · addr 0x${f.address.toString(16).padStart(2, '0')}` : ''}`;
  const table = document.createElement('table');
  for (const [k, v] of chipTip(f)) {
    const tr = document.createElement('tr');
    const a = document.createElement('td');
    a.textContent = k;
    const b = document.createElement('td');
    b.textContent = v;
    tr.append(a, b);
    table.append(tr);
  }
  tip.replaceChildren(title, table);
  tip.hidden = false;
  const r = cell.getBoundingClientRect();
  const w = tip.offsetWidth;
  const h = tip.offsetHeight;
  tip.style.left = `${Math.max(8, Math.min(window.innerWidth - w - 8, r.left + r.width / 2 - w / 2))}px`;
  tip.style.top = `${r.top - h - 8 < 8 ? r.bottom + 8 : r.top - h - 8}px`;
}
$('heatmap').addEventListener('pointerover', (ev) => {
  const cell = ev.target.closest('.chip');
  if (cell) showTip(cell);
});
$('heatmap').addEventListener('click', (ev) => {
  const cell = ev.target.closest('.chip');
  if (cell) showTip(cell);
});
$('heatmap').addEventListener('pointerleave', () => {
  tip.hidden = true;
});
document.addEventListener('scroll', () => {
  tip.hidden = true;
});

$('strategy-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void act('strategy', 'PUT', '/api/v1/strategy', { strategy: $('strategy').value });
});

$('tuning-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    await api('PUT', '/api/v1/tuning', { mode: $('tuning-mode').value });
    toast(`tuning: ${$('tuning-mode').value}`);
    drawTuning(await api('GET', '/api/v1/tuning'));
  } catch (err) {
    toast(`tuning: ${err.message}`, true);
  }
});

$('add-pool').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = { url: String(f.get('url')).trim(), user: String(f.get('user')).trim() };
  const pw = String(f.get('password') ?? '');
  if (pw) body.password = pw;
  const prio = String(f.get('priority') ?? '');
  if (prio !== '') body.priority = Number(prio);
  void act('add pool', 'POST', '/api/v1/pools', body).then(() => ev.target.reset());
});

$('login-btn').addEventListener('click', () => {
  if (token()) {
    setToken('');
    location.reload();
    return;
  }
  needLogin();
});
$('login-cancel').addEventListener('click', () => $('login').close());
$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const t = $('token').value.trim();
  try {
    const who = await whoami(t);
    setToken(t, $('remember').checked);
    $('login').close();
    $('token').value = '';
    const first = document.body.dataset.ready !== 'yes';
    setRole(who);
    if (first) await start();
    else {
      drawPools();
      socket?.restart();
      await loadAll();
    }
    toast(`logged in as ${who.name} (${who.role})`);
  } catch (err) {
    $('login-error').hidden = false;
    $('login-error').textContent = err.status === 401 ? 'That token was not accepted.' : err.message;
  }
});

start().catch((err) => toast(`could not load: ${err.message}`, true));
