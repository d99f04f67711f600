// The README's library examples compile under `tsc --strict` against the
// package's own published types (imported as 'etrn', the package's name), so
// the documented API and the exported one cannot drift apart.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../lab/mta-common.js';

/** The ```ts blocks of the README's "## Library" section. */
function libraryExamples(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Library\n');
  assert.ok(start >= 0, 'README has a "## Library" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Type-checks files that import 'etrn' (self-reference through package.json "exports"); returns tsc's result. */
function typecheck(name: string, sources: readonly string[]): { status: number | null; output: string } {
  // Inside the package folder, so that `import ... from 'etrn'` resolves to dist/src/index.d.ts.
  const dir = join(repoRoot, '.cache', `api-example-${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const files = sources.map((source, i) => {
      const file = join(dir, `example${i + 1}.ts`);
      writeFileSync(file, `${source}\nexport {};\n`);
      return file;
    });
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const args = ['--strict', '--noEmit', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node', '--skipLibCheck', ...files];
    const r = spawnSync(process.execPath, [tsc, ...args], { encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the README shows a typed example for run, plan/dry-run, ETRN_HOSTS, abort and deadline', () => {
  const examples = libraryExamples().join('\n');
  for (const name of ['etrn(', 'plan(', 'dryRunResult(', 'runPlan(', 'parseEtrnHosts(', 'AbortController', 'deadlineMs', 'EtrnResult', 'TlsMode', 'AuthOptions', 'version(']) {
    assert.ok(examples.includes(name), `an example uses ${name}`);
  }
});

test('every library example in the README compiles under tsc --strict', () => {
  const examples = libraryExamples();
  assert.ok(examples.length >= 4, `found ${examples.length} examples`);
  const r = typecheck('readme', examples);
  assert.equal(r.status, 0, `tsc failed:\n${r.output}`);
});

test('the check itself fails on an example that misuses the API', () => {
  const r = typecheck('broken', [`import { etrn } from 'etrn';\nconst n: number = (await etrn({ server: 'mx.example.net' })).sessions;\n`]);
  assert.notEqual(r.status, 0);
  assert.match(r.output, /not assignable/);
});
