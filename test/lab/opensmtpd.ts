// A real OpenSMTPD 6.8 for end-to-end tests, run from the unpacked Debian
// package that lab/install-opensmtpd.sh leaves in
// ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/opensmtpd (no system-wide install).
//
// OpenSMTPD does not implement ETRN: it answers every ETRN with
// "500 5.5.1 Invalid command: Command unrecognized" and does not list ETRN in
// its EHLO reply, which is what the tests need it for.
//
// Debian's smtpd has its spool (/var/spool/smtpd), control socket
// (/var/run/smtpd.sock) and chroot (/var/lib/opensmtpd/empty) compiled in, so
// it runs in a private UTS + mount namespace where the lab folder's spool/ and
// run/ are bound over /var/spool and /run and a tmpfs is mounted on /var/lib;
// the machine's own folders are never touched. `smtpd -d` stays in the
// foreground. Mail for <domain> is relayed to smtp://127.0.0.1:<sinkPort>.
import { chmod, mkdir, readdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  labMessage,
  labRoot,
  labSender,
  makeNamespace,
  reservePort,
  run,
  runOk,
  smtpSubmit,
  withLabDir,
  type MtaLab,
  type MtaLabOptions,
} from './mta-common.js';

const HOSTNAME = 'opensmtpd.lab.test';
const SMTPD = 'usr/sbin/smtpd';

async function accountsExist(): Promise<boolean> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  return ['opensmtpd', 'opensmtpq'].every((u) => passwd.split('\n').some((l) => l.startsWith(`${u}:`)));
}

export interface OpensmtpdLabOptions extends MtaLabOptions {
  /** Offer STARTTLS with this certificate (Debian's 6.8 then fails every handshake). */
  tls?: { certFile: string; keyFile: string };
}

export async function startOpensmtpd(opts: OpensmtpdLabOptions): Promise<MtaLab> {
  const root = labRoot('opensmtpd', [SMTPD]);
  if (!(await accountsExist())) {
    throw new Error('opensmtpd lab not installed: run `sudo lab/install-opensmtpd.sh` (no opensmtpd/opensmtpq users)');
  }
  const domain = opts.domain ?? 'client.test';
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const smtpd = join(root, SMTPD);

  return withLabDir('opensmtpd', timeoutMs, async (life) => {
    const { dir } = life;
    await chmod(dir, 0o755); // the unprivileged smtpd processes must reach spool/
    const spool = join(dir, 'spool'); // becomes /var/spool; smtpd creates smtpd/ in it
    const runDir = join(dir, 'run'); // becomes /run (= /var/run): smtpd.sock, smtpd.pid
    await mkdir(spool, { mode: 0o755 });
    await mkdir(runDir, { mode: 0o755 });
    const port = await reservePort();
    const conf = join(dir, 'smtpd.conf');
    const pki: string[] = [];
    if (opts.tls) {
      // smtpd wants the key owned by root and not readable by others.
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      await copyFile(opts.tls.certFile, cert);
      await copyFile(opts.tls.keyFile, key);
      await chmod(key, 0o600);
      pki.push(`pki ${HOSTNAME} cert "${cert}"`, `pki ${HOSTNAME} key "${key}"`);
    }
    await writeFile(
      conf,
      [
        '# etrn test lab: relays mail for the test domain to the sink',
        ...pki,
        `table domains { "${domain}" }`,
        `listen on 127.0.0.1 port ${port}${opts.tls ? ` tls pki ${HOSTNAME}` : ''}`,
        `action "to_sink" relay host smtp://127.0.0.1:${opts.sinkPort}`,
        'match from any for domain <domains> action "to_sink"',
        '',
      ].join('\n'),
    );
    const namespace = await makeNamespace(dir, HOSTNAME, [
      `mount --bind '${spool}' /var/spool`,
      `mount --bind '${runDir}' /run`,
      'mount -t tmpfs -o mode=755 etrn-lab /var/lib',
      'mkdir -p /var/lib/opensmtpd/empty',
    ]);
    const inNs = (args: string[]): [string, string[]] => namespace.wrap(smtpd, args);
    await runOk('opensmtpd lab: smtpd -n (config check)', ...inNs(['-n', '-f', conf]), { timeoutMs });

    const { daemon } = await life.startDaemon(inNs(['-d', '-f', conf]), port, {
      exited: async (d) => {
        const why = await readFile(d.logFile, 'utf8').catch(() => '');
        return `opensmtpd lab: smtpd -d exited at start: ${why.trim()}`;
      },
    });
    // The banner carries no version ("220 opensmtpd.lab.test ESMTP OpenSMTPD");
    // `smtpd -d` logs "info: OpenSMTPD 6.8.0p2 starting", `smtpd -h` "version: OpenSMTPD 6.8.0p2".
    const started = await readFile(daemon.logFile, 'utf8').catch(() => '');
    const helped = await run(smtpd, ['-h'], { timeoutMs }).catch(() => ({ stdout: '', stderr: '' }));
    const version = /OpenSMTPD (\S+)/.exec(`${started}\n${helped.stderr}${helped.stdout}`)?.[1] ?? 'unknown';

    const lab: MtaLab = {
      name: 'opensmtpd',
      version,
      host: '127.0.0.1',
      port,
      dir,
      async queueMessage(to) {
        // Over SMTP: smtpd tries the (down) sink at once and keeps it queued
        // with its own backoff (minutes, not hours: OpenSMTPD has no ETRN anyway).
        await smtpSubmit(port, labSender, to, labMessage('OpenSMTPD', to), timeoutMs);
      },
      async queueIds() {
        const queue = join(spool, 'smtpd/queue');
        const ids: string[] = [];
        for (const bucket of await readdir(queue).catch(() => [] as string[])) {
          ids.push(...(await readdir(join(queue, bucket)).catch(() => [] as string[])));
        }
        return ids.sort();
      },
      stop: () => life.stop(),
    };
    return lab;
  });
}
