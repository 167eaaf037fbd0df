import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { Miner } from '../miner.js';
import type { Share } from '../pool/work/work.js';
import { recentLogs } from '../util/log.js';
import type { Role } from './auth.js';
import { boardView, poolView } from './views.js';

export const TOPICS = ['summary', 'shares', 'pools', 'boards', 'logs'] as const;
type Topic = (typeof TOPICS)[number];

/** A client that has this much unsent data is too slow and is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 1 << 20;

/**
 * /api/v1/ws: clients send {"subscribe": [topics]} / {"unsubscribe": [topics]}; the server pushes
 * {"topic", "data"}. Summary at 1 Hz; shares, pool and board events as they happen; log lines.
 */
export function registerWebSocket(app: FastifyInstance, miner: Miner, auth: { role: Role }): void {
  const clients = new Map<WebSocket, Set<Topic>>();
  let dropped = 0;

  const send = (topic: Topic, data: unknown) => {
    let payload: string | undefined;
    for (const [ws, topics] of clients) {
      if (!topics.has(topic)) continue;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        dropped++;
        ws.close(1013, 'too slow: dropped');
        clients.delete(ws);
        continue;
      }
      payload ??= JSON.stringify({ topic, data });
      ws.send(payload);
    }
  };

  const timer = setInterval(() => {
    if (clients.size) send('summary', miner.summary());
  }, 1000);
  const onShare = (share: Share, result: { accepted: boolean; reason?: string; lost?: boolean }) =>
    send('shares', { pool: Number(share.poolId), job: share.jobId, difficulty: share.difficulty, ...result });
  const onSwitch = (from: number | undefined, to: number | undefined, reason: string) =>
    send('pools', { event: 'switch', from, to, reason });
  const onHealth = (p: Parameters<typeof poolView>[0]) =>
    send('pools', { event: 'health', pool: poolView(p, miner.pools.current === p) });
  miner.pools.on('share', onShare);
  miner.pools.on('switch', onSwitch);
  miner.pools.on('health', onHealth);
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
    for (const off of boardListeners) off();
    unLogs();
    for (const ws of clients.keys()) ws.close(1001, 'server stopping');
  });

  app.get('/api/v1/ws', { websocket: true, config: auth, schema: { hide: true } }, (socket) => {
    const topics = new Set<Topic>();
    clients.set(socket, topics);
    socket.on('message', (raw: Buffer) => {
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
        for (const t of list as Topic[]) add ? topics.add(t) : topics.delete(t);
      }
      socket.send(JSON.stringify({ subscribed: [...topics] }));
    });
    socket.on('close', () => clients.delete(socket));
    socket.on('error', () => clients.delete(socket));
  });

  app.decorate('wsStats', () => ({ clients: clients.size, dropped }));
}
