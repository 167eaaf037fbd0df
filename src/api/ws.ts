import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import type { AlertEvent } from '../monitor/alerts/history.js';
import type { Share } from '../pool/work/work.js';
import { recentLogs } from '../util/log.js';
import { type Role, roleAtLeast } from './auth.js';
import type { ApiContext } from './context.js';
import { viewer } from './schemas.js';
import { tuningView } from './tuning.js';
import { boardView, chipViews, fansView, poolView } from './views.js';

export const TOPICS = ['summary', 'shares', 'pools', 'boards', 'logs', 'hardware', 'alerts', 'tuning'] as const;
type Topic = (typeof TOPICS)[number];

/** The least role each topic needs: the same as the REST route that serves the same data. */
export const TOPIC_ROLE: Record<Topic, Role> = {
  summary: 'viewer',
  shares: 'viewer',
  pools: 'viewer',
  boards: 'viewer',
  logs: 'operator',
  hardware: 'viewer',
  alerts: 'viewer',
  tuning: 'viewer',
};

/**
 * Messages a second one client may send (subscribe/unsubscribe), and its burst: each costs the mining thread a parse
 * and a reply, so a client past it is closed (1008) rather than answered as fast as it can send.
 */
export const WS_MESSAGES_PER_S = 5;
const WS_MESSAGE_BURST = 20;

/** A client that has this much unsent data is too slow and is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 1 << 20;

/**
 * Sends a turn of the event loop. A summary to 1,000 dashboards is 1,000 frames, ~10 ms of the mining thread in one
 * piece; in pieces of this many, the chains' replies and the pools' sockets are read between them. A few dashboards
 * still get each message at once.
 */
export const WS_SENDS_PER_TURN = 64;
/** Messages waiting for their turn; past this the backlog goes out at once, so memory stays bounded. */
const MAX_PENDING = 256;

/**
 * /api/v1/ws: clients send {"subscribe": [topics]} / {"unsubscribe": [topics]}; the server pushes
 * {"topic", "data"}. Summary at 1 Hz; shares, pool and board events as they happen; log lines; boards with their
 * chips and the fans ('hardware') every 2 s.
 */
export const wsRoutes: FastifyPluginAsync<ApiContext> = async (app, { miner }) => {
  const clients = new Map<WebSocket, Set<Topic>>();
  let dropped = 0;

  // Each message keeps the clients it is for; messages go out in order, so each client gets them in order too.
  const pending: { topic: Topic; payload: string; to: WebSocket[]; next: number }[] = [];
  let drainScheduled = false;
  const drain = (budget: number) => {
    while (budget > 0 && pending.length) {
      const m = pending[0];
      while (budget > 0 && m.next < m.to.length) {
        const ws = m.to[m.next++];
        // gone, or unsubscribed while the message waited
        if (!clients.get(ws)?.has(m.topic)) continue;
        if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
          dropped++;
          ws.close(1013, 'too slow: dropped');
          clients.delete(ws);
          continue;
        }
        ws.send(m.payload);
        budget--;
      }
      if (m.next >= m.to.length) pending.shift();
    }
    if (pending.length && !drainScheduled) {
      drainScheduled = true;
      setImmediate(() => {
        drainScheduled = false;
        drain(WS_SENDS_PER_TURN);
      });
    }
  };
  const send = (topic: Topic, data: unknown) => {
    const to: WebSocket[] = [];
    for (const [ws, topics] of clients) if (topics.has(topic)) to.push(ws);
    if (!to.length) return;
    pending.push({ topic, payload: JSON.stringify({ topic, data }), to, next: 0 });
    if (pending.length > MAX_PENDING) drain(Number.POSITIVE_INFINITY);
    else if (!drainScheduled) drain(WS_SENDS_PER_TURN);
  };

  let ticks = 0;
  // tuning: pushed at most once a second, when a board's stage or setting moved
  let tuningMoved = false;
  const onTuning = () => {
    tuningMoved = true;
  };
  miner.tuner.on('change', onTuning);
  const timer = setInterval(() => {
    if (!clients.size) return;
    send('summary', miner.summary());
    if (tuningMoved) send('tuning', tuningView(miner));
    tuningMoved = false;
    // every board with its chips and the fans, for the dashboard: every 2 s (a few tens of kB)
    if (ticks++ % 2 === 0 && [...clients.values()].some((t) => t.has('hardware'))) {
      send('hardware', {
        boards: miner.chains.map((c) => ({ ...boardView(c), chipList: chipViews(c) })),
        fans: fansView(miner),
      });
    }
  }, 1000);
  const onShare = (share: Share, result: { accepted: boolean; reason?: string; lost?: boolean }) =>
    send('shares', { pool: Number(share.poolId), job: share.jobId, difficulty: share.difficulty, ...result });
  const onSwitch = (from: number | undefined, to: number | undefined, reason: string) =>
    send('pools', { event: 'switch', from, to, reason });
  const onHealth = (p: Parameters<typeof poolView>[0]) =>
    send('pools', {
      event: 'health',
      pool: poolView(p, miner.pools.current === p, miner.pools.poolSettings.version_rolling),
    });
  miner.pools.on('share', onShare);
  miner.pools.on('switch', onSwitch);
  miner.pools.on('health', onHealth);
  const onAlert = (e: AlertEvent) => send('alerts', e);
  miner.alerts.on('alert', onAlert);
  const boardListeners = miner.chains.map((c) => {
    const fn = () => send('boards', boardView(c));
    c.on('state', fn);
    return () => c.off('state', fn);
  });
  const unLogs = recentLogs.subscribe((line) => {
    if (clients.size) send('logs', JSON.parse(line));
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    miner.pools.off('share', onShare);
    miner.pools.off('switch', onSwitch);
    miner.pools.off('health', onHealth);
    miner.tuner.off('change', onTuning);
    miner.alerts.off('alert', onAlert);
    for (const off of boardListeners) off();
    unLogs();
    pending.length = 0;
    // a close handshake waits up to 30 s for a client that may never answer: say goodbye, then cut the line
    const leaving = [...clients.keys()];
    for (const ws of leaving) ws.close(1001, 'server stopping');
    if (leaving.length) await new Promise<void>((r) => setTimeout(r, 200));
    for (const ws of leaving) ws.terminate();
  });

  app.get('/api/v1/ws', { websocket: true, config: viewer, schema: { hide: true } }, (socket, req) => {
    const role: Role = req.caller?.role ?? 'viewer';
    const topics = new Set<Topic>();
    clients.set(socket, topics);
    const bucket = { tokens: WS_MESSAGE_BURST, atMs: Date.now() };
    socket.on('message', (raw: Buffer) => {
      const now = Date.now();
      bucket.tokens = Math.min(WS_MESSAGE_BURST, bucket.tokens + ((now - bucket.atMs) / 1000) * WS_MESSAGES_PER_S);
      bucket.atMs = now;
      if (bucket.tokens < 1) {
        clients.delete(socket);
        socket.close(1008, 'too many messages');
        return;
      }
      bucket.tokens--;
      let msg: unknown;
      try {
        msg = JSON.parse(raw.toString('utf8'));
      } catch {
        socket.send(JSON.stringify({ error: 'expected JSON: {"subscribe": ["summary", …]}' }));
        return;
      }
      const m = msg as { subscribe?: unknown; unsubscribe?: unknown };
      for (const [key, add] of [
        ['subscribe', true],
        ['unsubscribe', false],
      ] as const) {
        const list = m[key];
        if (list === undefined) continue;
        if (!Array.isArray(list) || !list.every((t) => (TOPICS as readonly unknown[]).includes(t))) {
          socket.send(JSON.stringify({ error: `${key}: expected an array of ${TOPICS.join(', ')}` }));
          continue;
        }
        for (const t of list as Topic[]) {
          if (!add) topics.delete(t);
          else if (roleAtLeast(role, TOPIC_ROLE[t])) topics.add(t);
          else socket.send(JSON.stringify({ error: `${t}: this topic needs the ${TOPIC_ROLE[t]} role` }));
        }
      }
      socket.send(JSON.stringify({ subscribed: [...topics] }));
    });
    socket.on('close', () => clients.delete(socket));
    socket.on('error', () => clients.delete(socket));
  });

  app.decorate('wsStats', () => ({ clients: clients.size, dropped }));
};
