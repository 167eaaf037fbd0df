import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
/** Test vectors and contract excerpts, kept inside the repository so a bare clone passes its own tests. */
export const FIXTURES = join(ROOT, 'test', 'fixtures');

// Benches reuse these helpers; only a test file (run by tap, or directly) gets tap's root teardown, so a bench
// prints no TAP output of its own.
const underTap = process.env.TAP === '1' || /\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? '');
const cleanups: (() => unknown)[] = [];
let cleanupRegistered = false;

/**
 * Runs `fn` when the test file's tests have ended, passed or failed, newest first (processes and servers stop
 * before their temp folders go). The safety net for resources a failing test never reached the end to release:
 * without it a leftover socket or child keeps the file running until the runner's timeout.
 */
export async function atFileEnd(fn: () => unknown): Promise<void> {
  if (!underTap) return;
  cleanups.push(fn);
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  const { default: tap } = await import('tap');
  tap.teardown(async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch {
        // already stopped or removed: nothing left to release
      }
    }
  });
}

/**
 * Throws a clear error when an external tool a test needs is missing, instead of the test failing on an empty
 * result. `aptPackage` is the Debian package that carries it (`.ci/run` installs them all).
 */
export function requireTool(command: string, aptPackage: string, args = ['--version']): void {
  const r = spawnSync(command, args, { stdio: 'ignore' });
  if (r.error)
    throw new Error(
      `${command} is needed by this test but could not be run (${r.error.message}); install it: apt-get install ${aptPackage} (see .ci/run)`,
    );
}

/** A new temp folder, removed with everything in it when the test file ends. */
export function tempDir(prefix = 'asicd-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  void atFileEnd(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `stop` made safe to call twice: once by the test, once more by the file-end safety net. */
export function once(stop: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= stop();
    return done;
  };
}

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout contains `text` (or rejects after `ms`). */
  waitFor: (text: string | RegExp, ms?: number) => Promise<void>;
}

/** Runs a TypeScript entry point of ours in a child node, through tsx. */
export function spawnTs(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  return spawnProcess(process.execPath, ['--import', 'tsx', join(ROOT, file), ...args], env);
}

/** Runs any command with the same output capture, waiting and file-end cleanup as spawnTs. */
export function spawnProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('exit', (code, signal) => res({ code, signal }));
  });
  void atFileEnd(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // SIGTERM first so a child stops its own children (socat) and removes what it made; SIGKILL if it hangs
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
    await exit;
    clearTimeout(killer);
  });
  const waitFor = (text: string | RegExp, ms = 15000) =>
    new Promise<void>((res, rej) => {
      const hit = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      const timer = setTimeout(
        () => rej(new Error(`timed out waiting for ${text}; stdout:\n${out}\nstderr:\n${err}`)),
        ms,
      );
      const check = () => {
        if (hit()) {
          clearTimeout(timer);
          res();
        } else waiters.push(check);
      };
      check();
      void exit.then(() => {
        if (!hit()) {
          clearTimeout(timer);
          rej(new Error(`process exited before ${text}; stdout:\n${out}\nstderr:\n${err}`));
        }
      });
    });
  return { child, stdout: () => out, stderr: () => err, exit, waitFor };
}

/** Runs the CLI to completion. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnTs('src/cli.ts', args, env);
  const { code } = await p.exit;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
