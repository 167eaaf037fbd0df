import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { COUNTER, type FromWorker, type ToWorker, type WorkerInit } from './cgminer-bridge.js';
import { MainLink } from './cgminer-link.js';
import { CgminerServer } from './cgminer-server.js';

// The cgminer API worker: owns the TCP server and every client connection, so parsing, limits, formatting and
// however many clients there are cost this thread, not the mining thread, which it reaches through a MainLink.

/**
 * This thread's nice value (Linux keeps one per thread; pid 0 names the calling thread): where the cores are
 * contended, the mining thread and the safety loop get them first, and the API takes what is left.
 */
export const WORKER_NICE = 10;
try {
  setPriority(0, WORKER_NICE);
} catch {
  // not permitted (some containers): the worker runs at the daemon's priority, still off the mining thread
}

const init = workerData as WorkerInit;
const counters = new Int32Array(init.counters);
const port = parentPort;
if (!port) throw new Error('the cgminer API worker runs as a worker thread');
const post = (m: FromWorker) => port.postMessage(m);

const link = new MainLink(post, counters, init.lifetimeMs);
const SLOT: Record<string, number> = COUNTER;
const server = new CgminerServer(
  { host: init.host, port: init.port, allow: init.allow, lifetimeMs: init.lifetimeMs },
  init.commands,
  link,
  (what, delta) => Atomics.add(counters, SLOT[what], delta),
);

port.on('message', (m: ToWorker) => {
  if (m.type === 'reads') link.onReads(m.replies);
  else if (m.type === 'result') link.onResult(m.id, m.reply);
  else if (m.type === 'ping') post({ type: 'pong', id: m.id });
  else if (m.type === 'stop')
    void server.stop().then(() => {
      post({ type: 'stopped' });
      port.close();
    });
});

server.start().then(
  () => post({ type: 'listening', port: server.port }),
  (err: NodeJS.ErrnoException) => {
    post({ type: 'listen-error', message: err.message, code: err.code });
    port.close();
  },
);
