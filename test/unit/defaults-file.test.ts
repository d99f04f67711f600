// Unit tests for reading ETRN_HOSTS from a defaults file
// (src/config/defaults-file.ts), with real files in a temporary directory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_DEFAULTS_FILE,
  loadEtrnHostsFile,
  readEtrnHostsFile,
} from '../../src/config/defaults-file.js';
import { ConfigError } from '../../src/errors.js';

let dir = '';
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etrn-defaults-'));
  // Searchable by others, so the unprivileged child below fails on the file itself.
  await chmod(dir, 0o755);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(text: string, mode = 0o644): Promise<string> {
  const path = join(dir, `default-${counter++}`);
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

/** Asserts that `promise` rejects with ConfigError naming `path` (and `line`), matching `pattern`. */
async function assertConfigError(promise: Promise<unknown>, path: string, pattern: RegExp, line?: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_CONFIG');
    assert.equal(error.file, path);
    assert.equal(error.line, line);
    assert.ok(error.message.startsWith(line === undefined ? `${path}: ` : `${path}:${line}: `), error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('readEtrnHostsFile', () => {
  test('the default file is /etc/default/sendmail', () => {
    assert.equal(DEFAULT_DEFAULTS_FILE, '/etc/default/sendmail');
  });

  test('returns ETRN_HOSTS with the line of its assignment and the parser warnings', async () => {
    const path = await file('# defaults\nMODE=-bd\necho not here\nETRN_HOSTS="s1:c1.1,c1.2 s2:c2.1"\n');
    const got = await readEtrnHostsFile(path);
    assert.equal(got.value, 's1:c1.1,c1.2 s2:c2.1');
    assert.equal(got.line, 4);
    assert.equal(got.warnings.length, 1);
    assert.deepEqual({ file: got.warnings[0]?.file, line: got.warnings[0]?.line }, { file: path, line: 3 });
  });

  test('an ETRN_HOSTS that is never set is undefined, at line 0', async () => {
    const got = await readEtrnHostsFile(await file('MODE=-bd\n#ETRN_HOSTS="s1"\n'));
    assert.equal(got.value, undefined);
    assert.equal(got.line, 0);
  });

  test('an ETRN_HOSTS set to "" is the empty string, not undefined', async () => {
    const got = await readEtrnHostsFile(await file('ETRN_HOSTS=""\n'));
    assert.equal(got.value, '');
    assert.equal(got.line, 1);
  });

  test('the process environment does not leak into the value', async () => {
    process.env.ETRN_HOSTS = 'from-the-environment';
    try {
      const got = await readEtrnHostsFile(await file('A=1\n'));
      assert.equal(got.value, undefined);
      const expanded = await readEtrnHostsFile(await file('ETRN_HOSTS="$ETRN_HOSTS s9"\n'));
      assert.equal(expanded.value, ' s9');
    } finally {
      delete process.env.ETRN_HOSTS;
    }
  });

  test('a missing file is a ConfigError: no such file', async () => {
    const path = join(dir, 'does-not-exist');
    await assertConfigError(readEtrnHostsFile(path), path, /cannot read defaults file: no such file$/);
  });

  test('a directory is a ConfigError: is a directory', async () => {
    const path = join(dir, 'a-directory');
    await mkdir(path);
    await assertConfigError(readEtrnHostsFile(path), path, /cannot read defaults file: is a directory, not a regular file$/);
  });

  test('an unreadable file is a ConfigError: permission denied', async () => {
    const path = await file('ETRN_HOSTS=s1\n', 0o600);
    if (process.getuid?.() !== 0) {
      await chmod(path, 0o000);
      await assertConfigError(readEtrnHostsFile(path), path, /cannot read defaults file: permission denied$/);
      return;
    }
    // root reads any file, so read it from a child running as nobody.
    const moduleUrl = new URL('../../src/config/defaults-file.js', import.meta.url).href;
    const script = [
      `const { readEtrnHostsFile } = await import(${JSON.stringify(moduleUrl)});`,
      `try { await readEtrnHostsFile(${JSON.stringify(path)}); console.log('read'); }`,
      'catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, file: e.file, line: e.line ?? null })); }',
    ].join('\n');
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      uid: 65534,
      gid: 65534,
      cwd: '/',
      encoding: 'utf8',
    });
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout), {
      code: 'ERR_CONFIG',
      message: `${path}: cannot read defaults file: permission denied`,
      file: path,
      line: null,
    });
  });

  test('a malformed file is a ConfigError at its line', async () => {
    const path = await file('MODE=-bd\nETRN_HOSTS="s1:c1\nOPTIONS=\n');
    await assertConfigError(readEtrnHostsFile(path), path, /unterminated double quote/, 2);
    const sub = await file('A=1\n\nETRN_HOSTS="$(cat /etc/etrn-hosts)"\n');
    await assertConfigError(readEtrnHostsFile(sub), sub, /command substitution/, 3);
  });
});

describe('loadEtrnHostsFile', () => {
  test('parses ETRN_HOSTS into groups', async () => {
    const path = await file('ETRN_HOSTS="server.domain.com:client1.domain.com,client2.domain.com server2.domain.com"\n');
    const got = await loadEtrnHostsFile(path);
    assert.equal(got.line, 1);
    assert.deepEqual(got.groups, [
      {
        server: 'server.domain.com',
        nodes: ['client1.domain.com', 'client2.domain.com'],
        text: 'server.domain.com:client1.domain.com,client2.domain.com',
      },
      { server: 'server2.domain.com', nodes: [], text: 'server2.domain.com' },
    ]);
  });

  test('an unset ETRN_HOSTS gives no groups', async () => {
    const got = await loadEtrnHostsFile(await file('MODE=-bd\n'));
    assert.equal(got.value, undefined);
    assert.deepEqual(got.groups, []);
  });

  test('a malformed ETRN_HOSTS is a ConfigError at the line of its assignment, naming the group', async () => {
    const path = await file('# x\nMODE=-bd\nETRN_HOSTS="s1:c1 \\\n  s2:"\n');
    await assertConfigError(loadEtrnHostsFile(path), path, /ETRN_HOSTS group "s2:" has an empty client list$/, 3);
  });

  test('an invalid client name in the file is a ConfigError too (exit 78, not 64)', async () => {
    const path = await file('ETRN_HOSTS=s1:bad_name.example\n');
    await assertConfigError(loadEtrnHostsFile(path), path, /invalid name "bad_name\.example".*ETRN_HOSTS group "s1:bad_name\.example"/, 1);
  });
});
