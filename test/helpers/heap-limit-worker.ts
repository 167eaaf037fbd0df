// A worker that reports its own heap limits (test/worker-limits.test.ts).
import { getHeapStatistics } from 'node:v8';
import { parentPort } from 'node:worker_threads';

parentPort?.postMessage({ heapLimitMb: getHeapStatistics().heap_size_limit / 2 ** 20 });
