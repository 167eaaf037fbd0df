import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread from a module next to the caller (`import.meta.url`, file name without extension). The
 * built daemon runs `.js`; a run from the TypeScript sources (tests, benches under tsx) starts the `.ts` module
 * through tsx's loader, which a worker thread does not inherit from its parent.
 */
export function startWorker(base: string, name: string, options: WorkerOptions): Worker {
  if (base.endsWith('.ts')) {
    const url = new URL(`./${name}.ts`, base).href;
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(boot, { ...options, eval: true });
  }
  return new Worker(new URL(`./${name}.js`, base), options);
}
