import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const SHARED = join(ROOT, '..', 'shared');

export function tempDir(prefix = 'asicd-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
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
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, file), ...args], {
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
