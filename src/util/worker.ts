import { setFlagsFromString } from 'node:v8';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread from a module next to the caller (`import.meta.url`, file name without extension). The
 * built daemon runs `.js`; a run from the TypeScript sources (tests, benches under tsx) starts the `.ts` module
 * through tsx's loader, which a worker thread does not inherit from its parent.
 *
 * V8's heap flags override the constraints a new isolate is created with: while the daemon ran with the unit's
 * `--max-old-space-size` and `--max-semi-space-size`, a worker's `resourceLimits` were silently ignored and the worker
 * got the main thread's heap limits. Those two flags are cleared (0 = not set) before a worker with limits starts, so
 * its own apply; the main thread's heap was sized when it started and keeps its limits (test/worker-limits).
 */
export function startWorker(base: string, name: string, options: WorkerOptions): Worker {
  if (options.resourceLimits) setFlagsFromString('--max-old-space-size=0 --max-semi-space-size=0');
  if (base.endsWith('.ts')) {
    const url = new URL(`./${name}.ts`, base).href;
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(boot, { ...options, eval: true });
  }
  return new Worker(new URL(`./${name}.js`, base), options);
}
