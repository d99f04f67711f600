// The Debian package on booted Debian systems. `npm run deb` builds
// dist/etrn_<version>_all.deb; for Debian 12 (bookworm, Node.js 18) and
// Debian 13 (trixie) a root made by mmdebstrap from Debian's packages (with
// systemd, nodejs and postfix; scripts/debian-root.sh, cached per day)
// gets the package with `apt-get install`, an ETRN_HOSTS in /etc/default/etrn
// that names a scripted ETRN server on the host's loopback (the root shares
// the host's network), and boots with systemd as PID 1 (systemd-nspawn
// --boot). Units in the root (test/debian/boot-check.sh) record what
// happened and power off. Then, in the same root, sendmail-base is
// installed after and before ours (test/debian/divert-check.sh).
//
// Needs root, mmdebstrap, systemd-nspawn (systemd-container), debhelper,
// lintian and Debian's mirror: lab/install.sh installs the tools. A missing
// tool fails the test with the command to install it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { closeAll, deadPort, serve } from '../helpers/script-server.js';

// ETRN_DEBIAN_SUITES=bookworm runs one (for work on the test); default both.
const SUITES = (process.env.ETRN_DEBIAN_SUITES ?? 'bookworm,trixie').split(',').filter((s) => s !== '');
const CLIENTS = ['example.org', 'example.net'];
/** Bounds that only prove "no hang": several times what a run takes here. */
const BOOT_BOUND_MS = 15 * 60_000;

function need(tool: string, pkg: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`]);
  assert.equal(r.status, 0, `${tool} not found: apt-get install ${pkg} (or run lab/install.sh as root)`);
}

function run(command: string, args: string[], what: string): string {
  const r = spawnSync(command, args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.error, undefined, `${what}: ${String(r.error)}`);
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

/** key=value lines as a map. */
function results(file: string): Map<string, string> {
  assert.ok(existsSync(file), `${file} was not written: the checks in the root did not run`);
  const map = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) map.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return map;
}

function get(map: Map<string, string>, key: string): string {
  const v = map.get(key);
  assert.ok(v !== undefined, `no ${key} in the results: ${JSON.stringify([...map])}`);
  return v;
}

/** Runs a command in the root without booting it. */
function inRoot(dir: string, args: string[], what: string): string {
  return run('systemd-nspawn', ['-q', '--register=no', '--keep-unit', '-D', dir, ...args], what);
}

/** Boots the root with systemd; resolves with its console output once it powered off. */
async function boot(dir: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('systemd-nspawn', ['--boot', '--register=no', '--keep-unit', '--console=pipe', '--link-journal=no', '-q', '-D', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), BOOT_BOUND_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

const unit = (text: string): string => `${text.trim()}\n`;

describe('Debian package on booted Debian roots', { concurrency: false }, () => {
  let deb = '';
  const dirs: string[] = [];

  before(() => {
    assert.equal(process.getuid?.(), 0, 'test/debian needs root (mmdebstrap, systemd-nspawn)');
    need('mmdebstrap', 'mmdebstrap');
    need('systemd-nspawn', 'systemd-container');
    need('dpkg-buildpackage', 'dpkg-dev');
    need('dh', 'debhelper');
    need('lintian', 'lintian');
    run('bash', ['scripts/build-deb.sh'], 'npm run deb');
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    deb = join(repoRoot, 'dist', `etrn_${version}_all.deb`);
    assert.ok(existsSync(deb), `${deb} was not built`);
  });

  after(async () => {
    await closeAll();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const suite of SUITES) {
    describe(suite, { concurrency: false }, () => {
      let dir = '';
      let server: Awaited<ReturnType<typeof serve>>;
      let releaseServer: Server;
      const etrns: { connection: number; line: string; at: bigint }[] = [];
      let releasedAt = 0n;
      const auths: { connection: number; plain: string }[] = [];
      let bootResults = new Map<string, string>();

      before(async () => {
        const tarball = run('bash', ['scripts/debian-root.sh', suite], `debian-root.sh ${suite}`).trim();
        dir = mkdtempSync(join(tmpdir(), `etrn-${suite}-`));
        dirs.push(dir);
        run('tar', ['-C', dir, '--numeric-owner', '-xf', tarball], `unpacking ${tarball}`);

        // The scripted ETRN server. It holds its reply to the first session's
        // ETRN until the root tells it that multi-user.target was reached:
        // if boot waited for etrn, etrn would time out and the run fail.
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        releaseServer = createServer((socket) => {
          releasedAt = process.hrtime.bigint();
          release();
          socket.resume();
          socket.on('error', () => undefined);
          socket.end();
        }).listen(0, '127.0.0.1');
        await once(releaseServer, 'listening');
        server = await serve(async (conn, index) => {
          conn.send('220 etrn-server.test ESMTP');
          for (;;) {
            const line = await conn.readLine();
            if (line === null) return;
            const verb = (line.split(' ')[0] ?? '').toUpperCase();
            if (verb === 'EHLO') conn.send('250-etrn-server.test', '250-AUTH PLAIN', '250 ETRN');
            else if (verb === 'AUTH') {
              let response = line.split(' ')[2];
              if (response === undefined) {
                conn.send('334 ');
                response = (await conn.readLine()) ?? '';
              }
              auths.push({ connection: index, plain: Buffer.from(response, 'base64').toString('utf8') });
              conn.send('235 2.7.0 Authentication successful');
            }
            else if (verb === 'HELO') conn.send('250 etrn-server.test');
            else if (verb === 'ETRN') {
              etrns.push({ connection: index, line, at: process.hrtime.bigint() });
              if (index === 0) await released;
              conn.send(`250 Queuing for node ${line.slice(5)} started`);
            } else if (verb === 'QUIT') {
              conn.send('221 bye');
              return;
            } else conn.send('502 5.5.2 not here');
          }
        });
        const releasePort = (releaseServer.address() as { port: number }).port;
        const postfixPort = await deadPort();

        copyFileSync(deb, join(dir, 'root/etrn.deb'));
        for (const f of ['boot-check.sh', 'divert-check.sh']) copyFileSync(join(repoRoot, 'test/debian', f), join(dir, 'root', f));
        writeFileSync(
          join(dir, 'etc/systemd/system/etrn-release.service'),
          unit(`
[Unit]
Description=test: tell the ETRN server that multi-user.target is reached
DefaultDependencies=no
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/bash -c 'echo multi-user >/dev/tcp/127.0.0.1/${releasePort}'
[Install]
WantedBy=multi-user.target`),
        );
        writeFileSync(
          join(dir, 'etc/systemd/system/etrn-check.service'),
          unit(`
[Unit]
Description=test: record what the boot did, then power off
DefaultDependencies=no
After=multi-user.target etrn.service etrn-release.service
SuccessAction=poweroff-force
FailureAction=poweroff-force
[Service]
Type=oneshot
ExecStart=/bin/sh /root/boot-check.sh
TimeoutStartSec=10min
[Install]
WantedBy=multi-user.target`),
        );
        writeFileSync(
          join(dir, 'root/prepare.sh'),
          unit(`
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q -o Dpkg::Use-Pty=0 /root/etrn.deb
# Postfix on loopback, on a port of its own (the root shares the host's network).
[ -e /etc/postfix/main.cf ] || cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
postconf -e inet_interfaces=127.0.0.1 inet_protocols=ipv4 myhostname=etrn-test.localdomain mydestination=localhost
sed -i 's/^smtp\\( *\\)inet /${postfixPort}\\1inet /' /etc/postfix/master.cf
grep -q '^${postfixPort} ' /etc/postfix/master.cf
cat >>/etc/default/etrn <<'END'
ETRN_HOSTS="127.0.0.1:${CLIENTS.join(',')}"
ETRN_OPTIONS="--port ${server.port} --local-port ${postfixPort} --timeout 120 -v"
END
systemctl enable etrn-release.service etrn-check.service
systemctl enable postfix.service
`),
        );
        inRoot(dir, ['/bin/sh', '/root/prepare.sh'], `preparing the ${suite} root`);

        const { code, output } = await boot(dir);
        bootResults = results(join(dir, 'root/results'));
        assert.equal(bootResults.get('done'), 'yes', `the checks did not finish (nspawn exit ${code}):\n${output.slice(-4000)}`);
      });

      test(`${suite}: Debian's nodejs is 18.19 or later and runs /usr/sbin/etrn; man 8 etrn is ours`, () => {
        const [major, minor] = get(bootResults, 'node_version').replace(/^v/, '').split('.').map(Number);
        assert.ok(major! > 18 || (major === 18 && minor! >= 19), `node ${get(bootResults, 'node_version')}`);
        assert.equal(get(bootResults, 'sbin_etrn'), '/usr/share/etrn/bin/etrn.js');
        assert.match(get(bootResults, 'etrn_version'), /^etrn \d+\.\d+\.\d+/);
        assert.match(get(bootResults, 'man_etrn'), /^\.TH ETRN 8 .*"etrn \d/);
        assert.equal(get(bootResults, 'etrn_enabled'), 'enabled');
      });

      test(`${suite}: at boot etrn waited for Postfix, then the server received the ETRN commands`, (t) => {
        const journal = readFileSync(join(dir, 'root/etrn-boot.journal'), 'utf8');
        for (const line of journal.trim().split('\n')) t.diagnostic(`journal: ${line}`);
        assert.equal(get(bootResults, 'etrn_result'), 'success', `etrn.service at boot:\n${journal}`);
        assert.equal(get(bootResults, 'etrn_status'), '0', journal);
        const boot = etrns.filter((e) => e.connection === 0);
        assert.deepEqual(
          boot.map((e) => e.line),
          CLIENTS.map((c) => `ETRN ${c}`),
          `ETRN commands of the boot session:\n${journal}`,
        );
        // The later of postfix.service and postfix@-.service (0: no such unit).
        const postfixUp = get(bootResults, 'postfix_active')
          .split(' ')
          .map((v) => BigInt(v))
          .reduce((a, b) => (b > a ? b : a), 0n);
        const etrnStart = BigInt(get(bootResults, 'etrn_start'));
        assert.ok(postfixUp > 0n && etrnStart >= postfixUp, `etrn started at ${etrnStart} µs, Postfix was up at ${postfixUp} µs`);
        // The same monotonic clock: the root runs on the host's kernel.
        assert.ok(boot[0]!.at / 1000n > postfixUp, 'the ETRN arrived before Postfix was up');
        // The boot check (-b) connected to Postfix before the first ETRN.
        const postfix = readFileSync(join(dir, 'root/postfix.journal'), 'utf8');
        assert.match(postfix, /connect from localhost\[127\.0\.0\.1\]/, `Postfix saw no connection from etrn -b:\n${postfix}`);
      });

      test(`${suite}: multi-user.target was reached without waiting for etrn`, () => {
        const multiUser = BigInt(get(bootResults, 'multi_user_active'));
        const etrnExit = BigInt(get(bootResults, 'etrn_exit'));
        assert.ok(multiUser > 0n && multiUser < etrnExit, `multi-user.target at ${multiUser} µs, etrn ended at ${etrnExit} µs`);
        assert.ok(releasedAt > 0n, 'etrn-release.service never reached the server');
      });

      test(`${suite}: etrn ran as a dynamic user, logging to the journal with facility mail`, () => {
        const uids = get(bootResults, 'etrn_uids').trim().split(' ');
        assert.ok(uids.length > 0 && uids.every((u) => Number(u) >= 61184 && Number(u) <= 65519), `etrn's UIDs: ${uids.join(',')}`);
        // The journal keeps facility 2 (mail) for the unit's own lines.
        assert.ok(get(bootResults, 'etrn_facilities').split(' ').includes('2'), `facilities: ${get(bootResults, 'etrn_facilities')}`);
      });

      test(`${suite}: a NetworkManager and a ppp link-up event each trigger a run`, () => {
        const journal = readFileSync(join(dir, 'root/etrn-all.journal'), 'utf8');
        for (const hook of ['nm', 'ppp']) {
          assert.equal(get(bootResults, `${hook}_hook_status`), '0', journal);
          assert.equal(get(bootResults, `${hook}_new_run`), 'yes', `${hook}: no new run of etrn.service\n${journal}`);
          assert.equal(get(bootResults, `${hook}_result`), 'success', journal);
        }
        const sessions = [...new Set(etrns.map((e) => e.connection))];
        // Boot, NetworkManager, ppp, then the AUTH run below.
        assert.equal(sessions.length, 4, `sessions with ETRN: boot, NetworkManager, ppp, AUTH; got ${JSON.stringify(etrns.map((e) => e.line))}`);
        assert.match(journal, /90-etrn: eth0 up: starting etrn\.service/);
        assert.match(journal, /ppp-etrn: ppp0 ip-up: starting etrn\.service/);
      });

      test(`${suite}: without ETRN_HOSTS the unit is skipped quietly`, () => {
        assert.equal(get(bootResults, 'skip_start_status'), '0');
        // systemd's word for "ExecCondition= said no": skipped, not failed.
        assert.equal(get(bootResults, 'skip_result'), 'exec-condition');
        assert.equal(get(bootResults, 'skip_etrn_lines'), '0');
      });

      test(`${suite}: with the AUTH drop-in, etrn gets the secret as the systemd credential etrn-password`, () => {
        const journal = readFileSync(join(dir, 'root/etrn-auth.journal'), 'utf8');
        assert.equal(get(bootResults, 'auth_start_status'), '0', journal);
        assert.equal(get(bootResults, 'auth_result'), 'success', journal);
        assert.deepEqual(
          auths.map((a) => a.plain),
          ['\0etrnuser\0cred-secret'],
          `AUTH seen by the server (only the AUTH run authenticates):\n${journal}`,
        );
        const authSession = auths[0]!.connection;
        assert.deepEqual(
          etrns.filter((e) => e.connection === authSession).map((e) => e.line),
          CLIENTS.map((c) => `ETRN ${c}`),
        );
      });

      test(`${suite}: sendmail-base's etrn is diverted either way round; remove keeps the conffile, purge leaves nothing`, () => {
        inRoot(dir, ['/bin/sh', '/root/divert-check.sh'], `divert checks in ${suite}`);
        const r = results(join(dir, 'root/divert-results'));
        const log = existsSync(join(dir, 'root/divert.log')) ? readFileSync(join(dir, 'root/divert.log'), 'utf8').slice(-3000) : '';
        assert.equal(get(r, 'done'), 'yes', log);
        const ours = [
          'diversion of /usr/sbin/etrn to /usr/sbin/etrn.sendmail by etrn',
          'diversion of /usr/share/man/man8/etrn.8.gz to /usr/share/man/man8/etrn.sendmail.8.gz by etrn',
        ]
          .sort()
          .map((l) => `${l};`)
          .join('');
        for (const state of ['sendmail_after', 'ours_after']) {
          assert.equal(get(r, `${state}_diversions`), ours, `${state}\n${log}`);
          assert.equal(get(r, `${state}_sbin`), '/usr/share/etrn/bin/etrn.js', state);
          assert.match(get(r, `${state}_sbin_sendmail_head`), /^#!.*perl/, `${state}: sendmail's etrn kept as etrn.sendmail`);
          assert.match(get(r, `${state}_man`), /^\.TH ETRN 8 .*"etrn \d/, `${state}: etrn(8) is ours`);
          assert.equal(get(r, `${state}_man_sendmail`), 'present', state);
        }
        assert.equal(get(r, 'sendmail_after_status'), '0', log);
        assert.equal(get(r, 'remove_status'), '0', log);
        assert.equal(get(r, 'removed_diversions'), '', 'diversions left after remove');
        assert.match(get(r, 'removed_sbin_head'), /^#!.*perl/, "after remove /usr/sbin/etrn is Sendmail's again");
        assert.doesNotMatch(get(r, 'removed_man'), /"etrn \d/, "after remove etrn(8) is Sendmail's again");
        assert.equal(get(r, 'removed_default'), 'present', 'apt-get remove keeps /etc/default/etrn');
        assert.equal(get(r, 'removed_dpkg'), 'rc ');
        assert.equal(get(r, 'ours_after_status'), '0', log);
        assert.equal(get(r, 'purge_status'), '0', log);
        assert.equal(get(r, 'purged_diversions'), '');
        assert.match(get(r, 'purged_sbin_head'), /^#!.*perl/);
        assert.equal(get(r, 'purged_default'), 'missing');
        assert.equal(get(r, 'purged_leftovers').trim(), '', 'files left after purge');
        assert.ok(!/^[ir]/.test(get(r, 'purged_dpkg')), `etrn after purge: ${get(r, 'purged_dpkg')}`);
      });

      after(() => {
        releaseServer?.close();
        rmSync(dir, { recursive: true, force: true });
      });
    });
  }
});
