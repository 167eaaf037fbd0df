import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/**
 * Replaces `file` so that a reader (or a crash at any instant) sees either the old or the new content, whole:
 * write a temp file in the same folder, fsync it, rename over the target, fsync the folder.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${counter++}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file may already be gone; the original is untouched either way
    }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/**
 * Removes temp files that a writer killed mid-write left beside `file` (`.name.PID.N.tmp`). The target itself is
 * always whole; only the litter goes. Returns how many were removed.
 */
export function sweepTempFiles(file: string): number {
  const dir = dirname(file);
  const prefix = `.${basename(file)}.`;
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const pid = Number(n.slice(prefix.length).split('.')[0]);
    if (pid === process.pid) continue;
    try {
      unlinkSync(join(dir, n));
      removed++;
    } catch {
      // already gone
    }
  }
  return removed;
}
