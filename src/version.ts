import { readFileSync } from 'node:fs';

function readVersion(): string {
  // package.json sits one level up from src/ (tsx) and dist/ (built), two from the daemon's bundle in dist/bundle/
  let text: string | undefined;
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      text = readFileSync(new URL(rel, import.meta.url), 'utf8');
      if ((JSON.parse(text) as { name?: string }).name === 'asicd') break;
    } catch {
      text = undefined;
    }
  }
  if (!text) throw new Error('asicd: package.json not found beside the program');
  return (JSON.parse(text) as { version: string }).version;
}

export const VERSION = readVersion();
export const USER_AGENT = `asicd/${VERSION}`;
