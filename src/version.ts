import { readFileSync } from 'node:fs';

function readVersion(): string {
  // package.json sits two levels up from both src/ (tsx) and dist/ (built).
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export const VERSION = readVersion();
export const USER_AGENT = `asicd/${VERSION}`;
