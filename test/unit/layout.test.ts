// The README's Layout table, held against the code: each folder of src/
// imports only the folders the table allows, and the run's folder is
// reached through its index from outside.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';

const src = resolve(repoRoot, 'src');

/** The top-level module or folder each relative import of a file in src/FOLDER names. */
function importsOf(folder: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const file of readdirSync(join(src, folder)).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(src, folder, file), 'utf8');
    const targets = new Set<string>();
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'\.\.\/([a-z-]+)(?:\/([a-z-]+))?\.?[a-z]*'/g)) targets.add(m[1]!);
    found.set(file, targets);
  }
  return found;
}

const allowed: Record<string, readonly string[]> = {
  protocol: ['errors', 'escape'],
  names: ['errors', 'escape'],
  config: ['errors', 'escape', 'names'],
  transport: ['errors', 'names', 'protocol'],
  run: ['config', 'errors', 'escape', 'names', 'protocol', 'result', 'transport'],
  cli: ['config', 'errors', 'escape', 'names', 'protocol', 'result', 'run', 'version'],
};

describe('layout (README "Layout")', () => {
  test('every folder of src/ is in the table', () => {
    const folders = readdirSync(src, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    assert.deepEqual(folders, Object.keys(allowed).sort());
  });
  for (const [folder, may] of Object.entries(allowed)) {
    test(`src/${folder}/ imports only ${may.join(', ')}`, () => {
      for (const [file, targets] of importsOf(folder)) {
        for (const t of targets) assert.ok(may.includes(t), `src/${folder}/${file} imports ../${t}`);
      }
    });
  }
  test('the README table names the same folders and imports', () => {
    const readme = readFileSync(resolve(repoRoot, 'README.md'), 'utf8');
    for (const [folder, may] of Object.entries(allowed)) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`src/${folder}/\``));
      assert.ok(row, `README Layout has a row for src/${folder}/`);
      if (folder !== 'cli') for (const m of may) assert.match(row, new RegExp(`\`${m}\``), `src/${folder}/ row names ${m}`);
    }
  });
  test('outside src/run/, only its index is imported', () => {
    for (const folder of Object.keys(allowed).filter((f) => f !== 'run')) {
      for (const file of readdirSync(join(src, folder)).filter((f) => f.endsWith('.ts'))) {
        const text = readFileSync(join(src, folder, file), 'utf8');
        for (const m of text.matchAll(/'\.\.\/run\/([a-z-]+)\.js'/g)) assert.equal(m[1], 'index', `src/${folder}/${file} imports run/${m[1]}`);
      }
    }
    const index = readFileSync(join(src, 'index.ts'), 'utf8');
    for (const m of index.matchAll(/'\.\/run\/([a-z-]+)\.js'/g)) assert.equal(m[1], 'index');
  });
});
