// The npm package as `npm pack` makes it: what it ships (the command, the
// typed library, the man page, LICENSE; no tests, caches or source maps),
// and that installing the tarball copies it, runs no script, prints no
// warning and links the man page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../helpers/cli.js';

interface PackFile {
  path: string;
  mode: number;
}
interface Manifest {
  name: string;
  version: string;
  man?: string[];
  bin?: Record<string, string>;
  scripts?: Record<string, string>;
  main?: string;
  types?: string;
}

function npm(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.equal(r.error, undefined, `npm ${args.join(' ')}: ${String(r.error)}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The install-time scripts npm runs (and warns about) for a dependency. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare', 'preprepare', 'postprepare'];

describe('npm pack', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Manifest;
  let files: string[] = [];
  let work = '';

  before(() => {
    const r = npm(['pack', '--dry-run', '--json', '--ignore-scripts'], repoRoot);
    assert.equal(r.status, 0, r.stderr);
    const [result] = JSON.parse(r.stdout) as [{ files: PackFile[] }];
    files = result.files.map((f) => f.path).sort();
    work = mkdtempSync(join(tmpdir(), 'etrn-pack-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('ships the command, the bundle, the typed library, the man page and LICENSE', () => {
    for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/etrn.js', 'dist/bundle/main.js', 'man/etrn.8', 'dist/src/index.js', 'dist/src/index.d.ts']) {
      assert.ok(files.includes(f), `${f} is not in the tarball`);
    }
    assert.deepEqual(pkg.man, ['./man/etrn.8']);
    for (const f of [pkg.main, pkg.types, ...Object.values(pkg.bin ?? {})]) assert.ok(f && files.includes(f.replace(/^\.\//, '')), `${f} not shipped`);
  });

  test('ships no tests, caches, labs, benchmarks, sources or source maps', () => {
    const unwanted = files.filter((f) =>
      /^(dist\/test|dist\/bench|test|bench|lab|src|scripts|debian|\.cache|node_modules)\//.test(f) || f.endsWith('.map') || f.endsWith('.ts') && !f.endsWith('.d.ts'),
    );
    assert.deepEqual(unwanted, []);
  });

  test('the license file is the MIT license package.json names', () => {
    assert.equal((pkg as Manifest & { license: string }).license, 'MIT');
    assert.match(readFileSync(join(repoRoot, 'LICENSE'), 'utf8'), /^MIT License\n/);
  });

  test('the packed package.json has no install-time script; the clone keeps prepare', async () => {
    const mod = (await import(pathToFileURL(join(repoRoot, 'scripts/pack-manifest.mjs')).href)) as {
      packedManifest: (p: Manifest) => Manifest;
    };
    const packed = mod.packedManifest(pkg);
    assert.deepEqual(Object.keys(packed.scripts ?? {}).filter((s) => INSTALL_SCRIPTS.includes(s)), []);
    assert.ok(pkg.scripts?.prepare, 'a clone builds on npm ci through prepare');
    // ... and builds only what the command and the library need, not the tests.
    assert.equal(pkg.scripts.prepare, 'npm run build:cli');
    assert.match(pkg.scripts['build:cli'] ?? '', /^tsc -p tsconfig\.build\.json && node scripts\/build\.mjs$/);
    const build = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    assert.deepEqual(build.include, ['src/**/*.ts']);
  });

  test('installing the tarball copies it, runs nothing, warns nothing, links the command and the man page', () => {
    // The shipped files (as built now) in a directory of their own, packed
    // as prepack does it: manifest stripped, no build.
    const src = join(work, 'src');
    for (const f of files) {
      mkdirSync(dirname(join(src, f)), { recursive: true });
      cpSync(join(repoRoot, f), join(src, f));
    }
    const strip = spawnSync(process.execPath, [join(repoRoot, 'scripts/pack-manifest.mjs'), 'strip', src], { encoding: 'utf8' });
    assert.equal(strip.status, 0, strip.stderr);
    const pack = npm(['pack', '--ignore-scripts', '--pack-destination', work], src);
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = join(work, `${pkg.name}-${pkg.version}.tgz`);
    assert.ok(existsSync(tarball), pack.stdout);

    const prefix = join(work, 'global');
    const install = npm(['install', '-g', '--offline', '--no-audit', '--no-fund', '--cache', join(work, 'cache'), '--prefix', prefix, tarball], work);
    assert.equal(install.status, 0, install.stderr);
    assert.doesNotMatch(install.stderr, /warn/i, `npm warned:\n${install.stderr}`);
    const installed = join(prefix, 'lib/node_modules/etrn');
    assert.ok(lstatSync(installed).isDirectory() && !lstatSync(installed).isSymbolicLink(), 'the package is a copy, not a link');
    assert.ok(existsSync(join(prefix, 'share/man/man8/etrn.8')), `no man page linked: ${readdirSync(prefix).join(', ')}`);
    const version = spawnSync(join(prefix, 'bin/etrn'), ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), `etrn ${pkg.version}`);
  });
});
