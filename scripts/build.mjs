// Builds the CLI bundle: one minified ESM entry (dist/bundle/main.js) plus
// lazily loaded chunks (TLS, SASL, discovery parsers), so that start-up
// reads as little code as possible. The typed library is built by tsc.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// ETRN_BUNDLE_OUTDIR: somewhere else than dist/bundle (npm run deb builds
// into its staging tree, so tests running from dist/bundle are not disturbed).
const outdir = process.env.ETRN_BUNDLE_OUTDIR || fileURLToPath(new URL('../dist/bundle', import.meta.url));

// Chunk names carry content hashes: start clean so no stale chunk is shipped.
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: { main: 'src/cli/main.ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  minify: true,
  splitting: true,
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  define: { __ETRN_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});
