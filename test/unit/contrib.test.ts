// Tests for the service integration files in contrib/: the systemd units
// (parsed, and checked by systemd-analyze when it is installed) and the
// NetworkManager and ppp hooks (syntax-checked, then run with stub
// systemctl/etrn/logger commands that record how they were called).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

const SERVICE = join(repoRoot, 'contrib/systemd/etrn.service');
const TIMER = join(repoRoot, 'contrib/systemd/etrn.timer');
const NM_HOOK = join(repoRoot, 'contrib/networkmanager/90-etrn');
const PPP_HOOK = join(repoRoot, 'contrib/ppp/ip-up.d/etrn');
const HOOKS = [NM_HOOK, PPP_HOOK];

/** A unit file as section → key → values (a key may repeat; an empty assignment resets the list). */
type Unit = Map<string, Map<string, string[]>>;

/** A simple INI parse of a systemd unit file: comments, sections, Key=Value, backslash continuation. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = unit.get(header[1]!) ?? new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(section && eq > 0, `line ${i + 1} is neither a section nor Key=Value: ${line}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    section.set(key, value === '' ? [] : [...(section.get(key) ?? []), value]);
  }
  return unit;
}

function values(unit: Unit, section: string, key: string): string[] {
  return unit.get(section)?.get(key) ?? [];
}
/** The words of every value of `key` (After=a b, After=c → [a, b, c]). */
function words(unit: Unit, section: string, key: string): string[] {
  return values(unit, section, key).flatMap((v) => v.split(/\s+/));
}

describe('contrib/systemd/etrn.service', () => {
  const unit = parseUnit(readFileSync(SERVICE, 'utf8'));

  test('is a oneshot service running "etrn --defaults" by absolute path', () => {
    assert.deepEqual(values(unit, 'Service', 'Type'), ['oneshot']);
    assert.deepEqual(values(unit, 'Service', 'ExecStart'), ['/usr/bin/etrn --defaults']);
    assert.ok(words(unit, 'Service', 'ExecStart').includes('--defaults'));
  });

  test('waits for the network and the local MTA', () => {
    const afters = words(unit, 'Unit', 'After');
    for (const wanted of ['network-online.target', 'postfix.service', 'sendmail.service', 'exim4.service']) {
      assert.ok(afters.includes(wanted), `After= lacks ${wanted}: ${afters.join(' ')}`);
    }
    assert.ok(words(unit, 'Unit', 'Wants').includes('network-online.target'));
    // Requires= would stop etrn when an MTA it does not use is missing.
    assert.deepEqual(values(unit, 'Unit', 'Requires'), []);
  });

  test('logs to the journal as "etrn"', () => {
    assert.deepEqual(values(unit, 'Service', 'StandardOutput'), ['journal']);
    assert.deepEqual(values(unit, 'Service', 'SyslogIdentifier'), ['etrn']);
  });

  test('is hardened, but keeps what etrn needs', () => {
    const service = (key: string) => values(unit, 'Service', key);
    assert.deepEqual(service('NoNewPrivileges'), ['yes']);
    assert.deepEqual(service('ProtectSystem'), ['strict']);
    assert.deepEqual(service('ProtectHome'), ['yes']);
    assert.deepEqual(service('PrivateTmp'), ['yes']);
    // No capabilities at all (an empty CapabilityBoundingSet= line).
    assert.ok(unit.get('Service')?.has('CapabilityBoundingSet'));
    assert.deepEqual(service('CapabilityBoundingSet'), []);
    assert.deepEqual(words(unit, 'Service', 'RestrictAddressFamilies').sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
    // A transient user could not read sendmail.cf's class files or a root-only password file.
    assert.deepEqual(service('DynamicUser'), []);
    // V8's JIT needs writable and executable memory.
    assert.deepEqual(service('MemoryDenyWriteExecute'), []);
    // Filtered system calls fail with EPERM instead of killing node.
    assert.ok(service('SystemCallFilter').length > 0);
    assert.deepEqual(service('SystemCallErrorNumber'), ['EPERM']);
  });

  test('is started at boot', () => {
    assert.deepEqual(values(unit, 'Install', 'WantedBy'), ['multi-user.target']);
  });

  test('does not hold up boot: not ordered before multi-user.target', () => {
    // Without DefaultDependencies=no the target would add After=etrn.service.
    assert.deepEqual(values(unit, 'Unit', 'DefaultDependencies'), ['no']);
    assert.ok(!words(unit, 'Unit', 'Before').includes('multi-user.target'));
    assert.ok(words(unit, 'Unit', 'Conflicts').includes('shutdown.target'));
  });
});

describe('contrib/systemd/etrn.timer', () => {
  const unit = parseUnit(readFileSync(TIMER, 'utf8'));

  test('triggers etrn.service after boot and then periodically', () => {
    assert.deepEqual(values(unit, 'Timer', 'Unit'), ['etrn.service']);
    assert.equal(values(unit, 'Timer', 'OnBootSec').length, 1);
    assert.equal(values(unit, 'Timer', 'OnUnitActiveSec').length, 1);
    assert.deepEqual(values(unit, 'Install', 'WantedBy'), ['timers.target']);
  });

  test('Persistent= is only used with OnCalendar= (systemd ignores it otherwise)', () => {
    const persistent = values(unit, 'Timer', 'Persistent');
    const calendar = values(unit, 'Timer', 'OnCalendar');
    assert.ok(persistent.length === 0 || calendar.length > 0, `Persistent=${persistent.join(',')} without OnCalendar=`);
    // The shipped timer is monotonic (OnBootSec=, OnUnitActiveSec=): no Persistent= at all.
    assert.deepEqual(calendar, []);
    assert.deepEqual(persistent, []);
  });
});

describe('contrib/systemd: systemd-analyze', () => {
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  const available = analyze.status === 0;
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'etrn-units-'));
    // verify checks that ExecStart= names an executable: point it at a stub.
    const stub = join(dir, 'etrn');
    writeFileSync(stub, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    writeFileSync(join(dir, 'etrn.service'), readFileSync(SERVICE, 'utf8').replaceAll('/usr/bin/etrn', stub));
    writeFileSync(join(dir, 'etrn.timer'), readFileSync(TIMER, 'utf8'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // lab/install.sh installs systemd-analyze; its absence is a failure, not a skip.
  test('systemd-analyze is installed (lab/install.sh)', () => {
    assert.ok(available, 'systemd-analyze is missing: run `bash lab/install.sh`');
  });

  test('systemd-analyze verify accepts both units', () => {
    // --man=no: the etrn man page need not be installed on the test host.
    const run = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, 'etrn.service'), join(dir, 'etrn.timer')], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr.trim(), '', run.stderr);
  });

  test('systemd-analyze security rates the service "OK" or better', () => {
    const run = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', join(dir, 'etrn.service')], {
      encoding: 'utf8',
    });
    const level = /Overall exposure level for etrn\.service: ([\d.]+)/.exec(run.stdout);
    assert.ok(level, `systemd-analyze security --offline gave no rating: ${run.stderr.trim().split('\n')[0]}`);
    // 0 is best, 10 worst; up to 3.9 is "OK". Today it is 2.0.
    assert.ok(Number(level[1]) < 4, `exposure ${level[1]}`);
  });
});

describe('contrib hooks: syntax and safety', () => {
  for (const hook of HOOKS) {
    const name = hook.slice(repoRoot.length + 1);

    test(`${name}: sh -n accepts it`, () => {
      const run = spawnSync('sh', ['-n', hook], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
    });

    test(`${name}: is an executable POSIX sh script without eval or sourcing`, () => {
      const text = readFileSync(hook, 'utf8');
      assert.ok(text.startsWith('#!/bin/sh\n'));
      assert.ok((statSync(hook).mode & 0o111) !== 0, 'not executable');
      const code = text
        .split('\n')
        .filter((l) => !l.trim().startsWith('#'))
        .join('\n');
      assert.doesNotMatch(code, /\beval\b/);
      assert.doesNotMatch(code, /(^|[;&|]\s*)\.\s+\S/m, 'sources a file');
      assert.doesNotMatch(code, /\bsource\b/);
    });

    test(`${name}: names the paths the tests replace exactly once`, () => {
      const text = readFileSync(hook, 'utf8');
      assert.equal(text.split('\ndefaults_file=/etc/default/etrn\n').length, 2);
      assert.equal(text.split('\nsystemd_dir=/run/systemd/system\n').length, 2);
    });
  }
});

/** What one run of a hook did: its exit status and the commands the stubs recorded. */
interface HookRun {
  status: number | null;
  stderr: string;
  calls: string[];
}

interface HookSetup {
  /** Create the stand-in for /run/systemd/system. */
  systemd: boolean;
  /** Provide a stub for each of these commands. */
  commands?: readonly ('systemctl' | 'etrn' | 'logger')[];
  /** Content of the stand-in for /etc/default/etrn; undefined: no file. */
  defaults?: string;
  /** Exit status of the systemctl stub. */
  systemctlStatus?: number;
  env?: Record<string, string>;
  /** Empty files to create in the hook's working directory. */
  files?: readonly string[];
}

describe('contrib hooks: behaviour', () => {
  let root = '';
  let counter = 0;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'etrn-hooks-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** Where `command` is installed on this host, for the few real tools the hooks use. */
  function which(command: string): string {
    const run = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${command} not found`);
    return run.stdout.trim();
  }

  /**
   * Runs `hook` with `args` in a sandbox: a PATH holding only sed, tail and
   * the requested stubs, and a copy of the hook whose defaults file and
   * systemd directory point into the sandbox. Waits until `expected` calls
   * were recorded (the direct etrn run is in the background), or a moment
   * when none are expected.
   */
  async function runHook(hook: string, args: readonly string[], setup: HookSetup, expected: number): Promise<HookRun> {
    const dir = join(root, `run-${counter++}`);
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['sed', 'tail']) symlinkSync(which(tool), join(bin, tool));
    const record = join(dir, 'calls');
    for (const command of setup.commands ?? ['systemctl', 'etrn', 'logger']) {
      const body = [
        '#!/bin/sh',
        `{ printf '%s' ${command}; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\\n'; } >>"$ETRN_TEST_RECORD"`,
        // logger reads its message from stdin when none is given.
        command === 'logger' ? `while IFS= read -r l; do printf '  | %s\\n' "$l" >>"$ETRN_TEST_RECORD"; done` : '',
        command === 'etrn' ? 'echo "etrn says hello"' : '',
        command === 'systemctl' ? `exit ${setup.systemctlStatus ?? 0}` : 'exit 0',
      ].join('\n');
      writeFileSync(join(bin, command), `${body}\n`, { mode: 0o755 });
    }
    const systemdDir = join(dir, 'run-systemd-system');
    if (setup.systemd) mkdirSync(systemdDir);
    const defaults = join(dir, 'default-etrn');
    if (setup.defaults !== undefined) writeFileSync(defaults, setup.defaults);
    for (const name of setup.files ?? []) writeFileSync(join(dir, name), '');
    const copy = join(dir, 'hook');
    writeFileSync(
      copy,
      readFileSync(hook, 'utf8')
        .replace('\ndefaults_file=/etc/default/etrn\n', `\ndefaults_file='${defaults}'\n`)
        .replace('\nsystemd_dir=/run/systemd/system\n', `\nsystemd_dir='${systemdDir}'\n`),
      { mode: 0o755 },
    );
    const run = spawnSync('/bin/sh', [copy, ...args], {
      cwd: dir,
      env: { PATH: bin, ETRN_TEST_RECORD: record, ...setup.env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
    const read = () => (existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter((l) => l !== '') : []);
    // Everything but the direct etrn run (no systemd) happens before the hook exits.
    if (!setup.systemd) {
      const deadline = Date.now() + (expected === 0 ? 300 : 5000);
      while (Date.now() < deadline && (expected === 0 || read().length < expected)) {
        await new Promise((r) => setTimeout(r, 25));
      }
      // A little longer, so an unexpected extra call would show.
      await new Promise((r) => setTimeout(r, 100));
    }
    return { status: run.status, stderr: run.stderr, calls: read() };
  }

  const STARTED = 'systemctl [start] [--no-block] [etrn.service]';
  const RAN = 'etrn [--defaults]';
  const noteOf = (calls: string[]) => calls.filter((c) => c.startsWith('logger ') && c.includes('] [')).join('\n');

  describe('NetworkManager 90-etrn', () => {
    test('"up" with systemd starts etrn.service without waiting, and logs it', async () => {
      const got = await runHook(NM_HOOK, ['eth0', 'up'], { systemd: true }, 2);
      assert.equal(got.status, 0, got.stderr);
      assert.deepEqual(got.calls, [`logger [-t] [etrn] [-p] [daemon.info] [hook: eth0 up: starting etrn.service]`, STARTED]);
    });

    test('"vpn-up" starts etrn.service too', async () => {
      const got = await runHook(NM_HOOK, ['tun0', 'vpn-up'], { systemd: true }, 2);
      assert.equal(got.status, 0);
      assert.ok(got.calls.includes(STARTED), got.calls.join('\n'));
    });

    for (const [iface, action] of [
      ['eth0', 'down'],
      ['eth0', 'pre-up'],
      ['eth0', 'dhcp4-change'],
      ['tun0', 'vpn-down'],
      ['', 'connectivity-change'],
      ['none', 'hostname'],
    ] as const) {
      test(`"${action}" does nothing and exits 0`, async () => {
        const got = await runHook(NM_HOOK, [iface, action], { systemd: true }, 0);
        assert.equal(got.status, 0);
        assert.deepEqual(got.calls, []);
      });
    }

    test('no arguments at all: nothing, exit 0', async () => {
      const got = await runHook(NM_HOOK, [], { systemd: true }, 0);
      assert.equal(got.status, 0);
      assert.deepEqual(got.calls, []);
    });

    test('without systemd, "up" runs etrn --defaults itself, its output going to logger', async () => {
      const got = await runHook(NM_HOOK, ['ppp0', 'up'], { systemd: false }, 4);
      assert.equal(got.status, 0, got.stderr);
      assert.ok(!got.calls.some((c) => c.startsWith('systemctl')), got.calls.join('\n'));
      assert.ok(got.calls.includes(RAN), got.calls.join('\n'));
      assert.ok(got.calls.includes('logger [-t] [etrn] [-p] [daemon.info]'), got.calls.join('\n'));
      assert.ok(got.calls.includes('  | etrn says hello'), got.calls.join('\n'));
      assert.match(noteOf(got.calls), /ppp0 up: running etrn --defaults/);
    });

    test('without systemd, "down" runs nothing', async () => {
      const got = await runHook(NM_HOOK, ['ppp0', 'down'], { systemd: false }, 0);
      assert.equal(got.status, 0);
      assert.deepEqual(got.calls, []);
    });

    test('without logger, etrn still runs and notes go to stderr', async () => {
      const got = await runHook(NM_HOOK, ['ppp0', 'up'], { systemd: false, commands: ['etrn'] }, 1);
      assert.equal(got.status, 0);
      assert.deepEqual(got.calls, [RAN]);
      assert.match(got.stderr, /hook: ppp0 up: running etrn --defaults/);
    });

    test('neither systemd nor etrn: logs that nothing was done, exit 0', async () => {
      const got = await runHook(NM_HOOK, ['eth0', 'up'], { systemd: false, commands: ['logger'] }, 1);
      assert.equal(got.status, 0);
      assert.match(noteOf(got.calls), /neither systemd nor etrn found/);
    });

    test('a failing systemctl (masked unit) is logged; etrn is not run behind its back; exit 0', async () => {
      const got = await runHook(NM_HOOK, ['eth0', 'up'], { systemd: true, systemctlStatus: 1 }, 3);
      assert.equal(got.status, 0);
      assert.ok(got.calls.includes(STARTED));
      assert.ok(!got.calls.includes(RAN), got.calls.join('\n'));
      assert.match(noteOf(got.calls), /systemctl start etrn\.service failed/);
    });

    describe('ETRN_INTERFACES in /etc/default/etrn', () => {
      const cases: [string, string, boolean][] = [
        ['ETRN_INTERFACES="ppp0 wwan*"\n', 'ppp0', true],
        ['ETRN_INTERFACES="ppp0 wwan*"\n', 'wwan1', true],
        ['ETRN_INTERFACES="ppp0 wwan*"\n', 'eth0', false],
        ['ETRN_INTERFACES="ppp0 wwan*"\n', 'ppp01', false],
        ["export ETRN_INTERFACES='eth1'\n", 'eth1', true],
        ["export ETRN_INTERFACES='eth1'\n", 'eth0', false],
        ['ETRN_INTERFACES=eth1 # the uplink\n', 'eth1', true],
        ['ETRN_INTERFACES=eth1;\n', 'eth1', true],
        ['ETRN_INTERFACES=eth1 # the uplink\n', 'the', false],
        ['ETRN_INTERFACES=eth0\nETRN_INTERFACES=eth1\n', 'eth1', true],
        ['ETRN_INTERFACES=eth0\nETRN_INTERFACES=eth1\n', 'eth0', false],
        ['# ETRN_INTERFACES=eth1\n', 'eth0', true],
        ['ETRN_INTERFACES=""\n', 'eth0', true],
        ['OTHER=1\n', 'eth0', true],
      ];
      for (const [defaults, iface, starts] of cases) {
        test(`${JSON.stringify(defaults.trim())}: ${iface} ${starts ? 'starts' : 'does not start'} etrn`, async () => {
          const got = await runHook(NM_HOOK, [iface, 'up'], { systemd: true, defaults }, starts ? 2 : 0);
          assert.equal(got.status, 0);
          assert.equal(got.calls.includes(STARTED), starts, got.calls.join('\n'));
          if (!starts) assert.deepEqual(got.calls, []);
        });
      }

      test('the file is read, not run: a command substitution in it is not executed', async () => {
        const got = await runHook(
          NM_HOOK,
          ['eth0', 'up'],
          { systemd: true, defaults: 'ETRN_INTERFACES="$(touch pwned)"\nETRN_INTERFACES=`touch pwned2`\n' },
          0,
        );
        assert.equal(got.status, 0);
        assert.deepEqual(got.calls, []);
        assert.equal(existsSync(join(root, `run-${counter - 1}`, 'pwned')), false);
        assert.equal(existsSync(join(root, `run-${counter - 1}`, 'pwned2')), false);
      });

      test('patterns are not expanded against files in the current directory', async () => {
        // With pathname expansion "eth*" would become "eth-file" and not match eth0.
        const got = await runHook(NM_HOOK, ['eth0', 'up'], { systemd: true, defaults: 'ETRN_INTERFACES="eth*"\n', files: ['eth-file'] }, 2);
        assert.ok(got.calls.includes(STARTED));
      });

      test('an unreadable or missing file means any interface', async () => {
        const got = await runHook(NM_HOOK, ['anything0', 'up'], { systemd: true }, 2);
        assert.ok(got.calls.includes(STARTED));
      });
    });
  });

  describe('ppp ip-up.d/etrn', () => {
    test('called by pppd with arguments: starts etrn.service for the interface', async () => {
      const got = await runHook(PPP_HOOK, ['ppp0', '/dev/ttyS0', '38400', '192.0.2.10', '192.0.2.1', 'provider'], { systemd: true }, 2);
      assert.equal(got.status, 0, got.stderr);
      assert.deepEqual(got.calls, ['logger [-t] [etrn] [-p] [daemon.info] [ppp-hook: ppp0 ip-up: starting etrn.service]', STARTED]);
    });

    test("called by Debian's run-parts without arguments: reads PPP_IFACE", async () => {
      const got = await runHook(PPP_HOOK, [], { systemd: true, env: { PPP_IFACE: 'ppp1' }, defaults: 'ETRN_INTERFACES=ppp1\n' }, 2);
      assert.equal(got.status, 0);
      assert.match(noteOf(got.calls), /ppp1 ip-up: starting/);
      assert.ok(got.calls.includes(STARTED));
    });

    test('without systemd, runs etrn --defaults itself', async () => {
      const got = await runHook(PPP_HOOK, ['ppp0', 'ttyS0', '38400', '192.0.2.10', '192.0.2.1', ''], { systemd: false }, 4);
      assert.equal(got.status, 0);
      assert.ok(got.calls.includes(RAN), got.calls.join('\n'));
      assert.ok(!got.calls.some((c) => c.startsWith('systemctl')));
    });

    test('an interface outside ETRN_INTERFACES does nothing', async () => {
      const got = await runHook(PPP_HOOK, ['ppp2', 'ttyS0'], { systemd: true, defaults: 'ETRN_INTERFACES="ppp0 ppp1"\n' }, 0);
      assert.equal(got.status, 0);
      assert.deepEqual(got.calls, []);
    });

    test('no interface at all does nothing', async () => {
      const got = await runHook(PPP_HOOK, [], { systemd: true }, 0);
      assert.equal(got.status, 0);
      assert.deepEqual(got.calls, []);
    });
  });
});

