// npm pack helper: the tarball is built (dist/ is in it), so its package.json
// must not carry the `prepare` script that builds a clone on `npm ci`: npm
// counts `prepare` as an install script of the tarball, would warn that it
// is not covered by allowScripts, and would try to build without the
// devDependencies. `prepack` runs `strip` (keeping the original in
// package.json.orig), `postpack` runs `restore`.
//   node scripts/pack-manifest.mjs strip|restore [DIR]
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The manifest as shipped: without the scripts that only serve a clone. */
export function packedManifest(pkg) {
  const { prepare: _prepare, ...scripts } = pkg.scripts ?? {};
  return { ...pkg, scripts };
}

function main([mode, dir = '.']) {
  const file = join(dir, 'package.json');
  const orig = `${file}.orig`;
  if (mode === 'strip') {
    const text = readFileSync(file, 'utf8');
    if (!existsSync(orig)) writeFileSync(orig, text);
    writeFileSync(file, `${JSON.stringify(packedManifest(JSON.parse(text)), null, 2)}\n`);
  } else if (mode === 'restore') {
    if (existsSync(orig)) renameSync(orig, file);
  } else {
    process.stderr.write('usage: node scripts/pack-manifest.mjs strip|restore [DIR]\n');
    process.exitCode = 64;
  }
}

// Run as a script, not when a test imports packedManifest.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main(process.argv.slice(2));
