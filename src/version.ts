// The package version: inlined by the bundler (scripts/build.mjs), read
// from package.json when running from tsc output.
import { readFileSync } from 'node:fs';

declare const __ETRN_VERSION__: string | undefined;

export function version(): string {
  if (typeof __ETRN_VERSION__ === 'string') return __ETRN_VERSION__;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
