// The Debian package's own files, without building it: etrn.service's
// start-up promises (checked statically here, on booted systems in
// test/debian/) and scripts/start-up.sh, which the unit runs, with a stub
// etrn that records its arguments.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

/** Key=Value lines of a unit, per section; repeated keys collect. */
function unitValues(text: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    const key = `${section}.${line.slice(0, eq)}`;
    values.set(key, [...(values.get(key) ?? []), line.slice(eq + 1)]);
  }
  return values;
}

describe('debian/etrn.service', () => {
  const unit = unitValues(readFileSync(join(repoRoot, 'debian/etrn.service'), 'utf8'));
  const words = (key: string): string[] => (unit.get(key) ?? []).flatMap((v) => v.split(/\s+/));

  test('is wanted by multi-user.target but not ordered before it (boot does not wait)', () => {
    assert.deepEqual(unit.get('Install.WantedBy'), ['multi-user.target']);
    // Without this the target would add After=etrn.service by default.
    assert.deepEqual(unit.get('Unit.DefaultDependencies'), ['no']);
    assert.ok(!words('Unit.Before').includes('multi-user.target'));
    assert.ok(words('Unit.Conflicts').includes('shutdown.target') && words('Unit.Before').includes('shutdown.target'));
  });

  test('runs once after the network and the local MTA, skipped without ETRN_HOSTS', () => {
    assert.deepEqual(unit.get('Service.Type'), ['oneshot']);
    for (const after of ['network-online.target', 'postfix.service', 'sendmail.service', 'exim4.service']) assert.ok(words('Unit.After').includes(after), after);
    assert.deepEqual(unit.get('Service.ExecCondition'), ['/usr/share/etrn/start-up --check']);
    assert.deepEqual(unit.get('Service.ExecStart'), ['/usr/share/etrn/start-up']);
    assert.deepEqual(unit.get('Service.EnvironmentFile'), ['-/etc/default/etrn']);
  });

  test('runs as a dynamic user, logs with facility mail', () => {
    assert.deepEqual(unit.get('Service.DynamicUser'), ['yes']);
    assert.deepEqual(unit.get('Service.SyslogFacility'), ['mail']);
    assert.equal(unit.get('Service.User'), undefined);
  });

  test('the AUTH drop-in hands over the secret as the credential etrn reads', () => {
    const dropIn = unitValues(readFileSync(join(repoRoot, 'debian/etrn-auth.conf'), 'utf8'));
    assert.deepEqual(dropIn.get('Service.LoadCredential'), ['etrn-password:/etc/etrn/password']);
  });
});

describe('scripts/start-up.sh (/usr/share/etrn/start-up)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etrn-start-up-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'calls');
  const stub = join(dir, 'etrn-stub');
  writeFileSync(stub, `#!/bin/sh\nprintf '%s|' "$@" >>'${log}'\necho >>'${log}'\nexit \${STUB_STATUS:-0}\n`, { mode: 0o755 });

  function startUp(args: string[], files: Record<string, string>, env: Record<string, string> = {}) {
    rmSync(log, { force: true });
    const paths = Object.entries(files).map(([name, text]) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    });
    const r = spawnSync('/bin/sh', [join(repoRoot, 'scripts/start-up.sh'), ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETRN: stub, ETRN_DEFAULTS_FILES: `${paths.join(' ')} ${join(dir, 'absent')}`, ...env },
    });
    let calls: string[] = [];
    try {
      calls = readFileSync(log, 'utf8').trim().split('\n');
    } catch {
      calls = [];
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls };
  }

  test('--check: yes only when some file sets a non-empty ETRN_HOSTS', () => {
    const cases: [string, number][] = [
      ['ETRN_HOSTS="mx.example.net:example.org"\n', 0],
      ["export ETRN_HOSTS='mx.example.net'\n", 0],
      ['ETRN_HOSTS=mx.example.net\n', 0],
      ['  ETRN_HOSTS=" mx.example.net"\n', 0],
      ['#ETRN_HOSTS="mx.example.net"\n', 1],
      ['ETRN_HOSTS=""\n', 1],
      ['ETRN_HOSTS=\n', 1],
      ['ETRN_OPTIONS="--retries 3"\n', 1],
      ['ATRN_HOSTS="odmr.example.net:example.org"\n', 0],
      ['ATRN_HOSTS=""\n', 1],
    ];
    for (const [text, status] of cases) {
      const r = startUp(['--check'], { 'default-etrn': text });
      assert.equal(r.status, status, JSON.stringify(text));
      assert.equal(r.stdout + r.stderr, '', 'the check is quiet');
      assert.deepEqual(r.calls, [], 'the check runs nothing');
    }
  });

  test('runs etrn --defaults FILE $ETRN_OPTIONS for each file that sets ETRN_HOSTS, in order', () => {
    const r = startUp([], { 'default-etrn': 'ETRN_HOSTS="a.example:b.example"\n', 'default-sendmail': 'ETRN_HOSTS="c.example"\n' }, { ETRN_OPTIONS: '--retries 3  -v' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [
      `--defaults|${join(dir, 'default-etrn')}|--retries|3|-v|`,
      `--defaults|${join(dir, 'default-sendmail')}|--retries|3|-v|`,
    ]);
  });

  test('a file that sets ATRN_HOSTS runs etrn --atrn --defaults FILE $ATRN_OPTIONS (after the ETRN run of that file)', () => {
    const r = startUp([], { 'default-etrn': 'ETRN_HOSTS="a.example"\nATRN_HOSTS="odmr.example:b.example"\n' }, { ETRN_OPTIONS: '-v', ATRN_OPTIONS: '--auth-user site' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [`--defaults|${join(dir, 'default-etrn')}|-v|`, `--atrn|--defaults|${join(dir, 'default-etrn')}|--auth-user|site|`]);
  });

  test('ETRN_OPTIONS is split into words without pathname expansion', () => {
    const r = startUp([], { 'default-etrn': 'ETRN_HOSTS="a.example"\n' }, { ETRN_OPTIONS: '--helo *' });
    assert.deepEqual(r.calls, [`--defaults|${join(dir, 'default-etrn')}|--helo|*|`]);
  });

  test("the exit status is the first run's failure", () => {
    const r = startUp([], { 'default-etrn': 'ETRN_HOSTS="a.example"\n' }, { STUB_STATUS: '75' });
    assert.equal(r.status, 75);
  });

  test('nothing to do: says so, exits 0', () => {
    const r = startUp([], { 'default-etrn': '# nothing\n' });
    assert.equal(r.status, 0);
    assert.deepEqual(r.calls, []);
    assert.match(r.stdout, /nothing to do/);
  });
});
