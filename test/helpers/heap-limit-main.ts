// Starts test/helpers/heap-limit-worker.ts with resource limits and prints both threads' heap limits as JSON
// (test/worker-limits.test.ts runs it under the unit's kind of V8 heap flags).
import { getHeapStatistics } from 'node:v8';
import { startWorker } from '../../src/util/worker.js';

const mainBefore = getHeapStatistics().heap_size_limit / 2 ** 20;
const w = startWorker(import.meta.url, 'heap-limit-worker', {
  resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 3 },
});
w.once('message', (m: { heapLimitMb: number }) => {
  const mainAfter = getHeapStatistics().heap_size_limit / 2 ** 20;
  console.log(JSON.stringify({ worker: m.heapLimitMb, mainBefore, mainAfter }));
  void w.terminate();
});
