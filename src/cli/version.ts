import { readFileSync } from 'node:fs';

/** The version in package.json, which sits three folders above dist/src/cli/. */
export function sigilVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
