// A real Postfix for end-to-end tests, run from the unpacked Debian package
// that lab/install-postfix.sh leaves in ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/postfix
// (no system-wide install). Each lab gets a private config, queue and log
// under a fresh temporary folder and its own SMTP port on 127.0.0.1.
//
// The lab relays two domains to a test sink on 127.0.0.1:<sinkPort>:
//   - etrnDomain (default client.test): in fast_flush_domains, so ETRN for it
//     answers "250 Queuing started" and delivers its deferred mail;
//   - otherDomain (default other.test): relayed but not fast-flush eligible,
//     so ETRN for it answers "459 <other.test>: service unavailable".
// All retry timers are 1h, so once a message has deferred (sink down), only
// ETRN (or the lab stopping) makes anything happen to it.
// With `tls`, smtpd offers STARTTLS (security level may) with the given
// certificate, and tlsmgr(8) runs (smtpd asks it for PRNG seed and its
// session cache); smtpd_tls_loglevel 1 logs each TLS session.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { repoRoot, reservePort, until, withLabDir, type Run } from './mta-common.js';

export interface PostfixLab {
  host: '127.0.0.1';
  /** The SMTP port Postfix listens on (ETRN goes here). */
  port: number;
  /** Postfix's mail_version, e.g. "3.7.11". */
  version: string;
  /** The lab's private folder: etc/ (main.cf, master.cf), spool/, data/, log/maillog. */
  dir: string;
  /** Submits a message over SMTP and waits until its first delivery attempt has deferred it. */
  queueMessage(to: string, subject?: string): Promise<void>;
  /** Queue ids of the messages still in the queue (any queue: incoming, active, deferred, hold). */
  queueIds(): Promise<string[]>;
  /** The queue as `postqueue -j` reports it. */
  queue(): Promise<QueueEntry[]>;
  /** Everything Postfix logged so far (maillog_file). */
  logText(): Promise<string>;
  /** Stops Postfix, waits until none of its processes is left, removes `dir`. */
  stop(): Promise<void>;
}

export interface QueueEntry {
  queue_name: string;
  queue_id: string;
  sender: string;
  recipients: { address: string; delay_reason?: string }[];
}

export interface PostfixLabOptions {
  /** Port on 127.0.0.1 where the test sink listens (or will listen). */
  sinkPort: number;
  /** Relayed and fast-flush (ETRN) eligible. Default client.test. */
  etrnDomain?: string;
  /** Relayed but NOT fast-flush eligible. Default other.test. */
  otherDomain?: string;
  /** Bound for each wait (startup, deferral, shutdown). Default 20 s. */
  timeoutMs?: number;
  /**
   * Offer STARTTLS (smtpd_tls_security_level = may) with this certificate and
   * key (PEM). They are copied into the lab's etc/ (key mode 0600, owned by
   * root: smtpd reads it as root before it drops privileges). Default: no TLS.
   */
  tls?: { certFile: string; keyFile: string };
  /**
   * smtpd recipient access table (address → action, e.g. "REJECT" or
   * "450 4.2.0 try later"), checked after the relay restrictions. Default none.
   */
  recipientAccess?: Record<string, string>;
  /**
   * `prepare` runs once the lab folder exists, before Postfix starts, and may
   * return more main.cf lines (after the lab's own: a later line wins) and
   * NAME=value entries for import_environment (Cyrus SASL's SASL_PATH).
   */
  prepare?: (dir: string, ids: { postfixUid: number; postfixGid: number }) => Promise<{ mainCf?: readonly string[]; importEnvironment?: readonly string[] }>;
}

const NOT_INSTALLED = 'Postfix lab not installed: run `sudo lab/install-postfix.sh`';
const HOSTNAME = 'etrn-lab.test';

function paths() {
  const cache = resolve(process.env.ETRN_LAB_CACHE ?? join(repoRoot, '.cache/lab'), 'postfix');
  const root = join(cache, 'root');
  return {
    cache,
    stamp: join(cache, 'installed.stamp'),
    root,
    sbin: join(root, 'usr/sbin'),
    lib: join(root, 'usr/lib/postfix'),
    daemons: join(root, 'usr/lib/postfix/sbin'),
    share: join(root, 'usr/share/postfix'),
  };
}

interface Ids {
  postfixUid: number;
  postfixGid: number;
  postdropGid: number;
}

async function accountIds(): Promise<Ids | undefined> {
  const find = (text: string, name: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}:`));
    const id = line?.split(':')[2];
    return id === undefined ? undefined : Number(id);
  };
  const passwd = await readFile('/etc/passwd', 'utf8');
  const group = await readFile('/etc/group', 'utf8');
  const postfixUid = find(passwd, 'postfix');
  const postfixGid = find(group, 'postfix');
  const postdropGid = find(group, 'postdrop');
  if (postfixUid === undefined || postfixGid === undefined || postdropGid === undefined) return undefined;
  return { postfixUid, postfixGid, postdropGid };
}

/**
 * Runs a program to its end. With `onExit`, resolves when the process exits
 * rather than when its output pipes close: `master -w` exits once the daemon
 * is up, but the daemon holds the inherited pipes open for seconds.
 */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, onExit = false): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on(onExit ? 'exit' : 'close', (code) => {
      clearTimeout(timer);
      if (onExit) {
        child.stdout.destroy();
        child.stderr.destroy();
      }
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export { reservePort };

/** Pids of live (non-zombie) processes in session `sid` (master calls setsid(), its children inherit it). */
async function sessionPids(sid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid pgrp session ...; comm may hold spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== undefined && fields[0] !== 'Z' && fields[0] !== 'X' && Number(fields[3]) === sid) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

/**
 * Stops the master of the lab whose configuration is in `etc` as `postfix
 * stop` does (SIGTERM; master then stops its children), SIGKILLs what of its
 * session outlives timeoutMs, and resolves once nothing of it is left.
 * `known`: master's pid, if `master -w` said it started; else the pid file
 * tells, as a master that daemonized even though `master -w` failed or timed
 * out still left it.
 */
async function stopMaster(known: number | undefined, etc: string, spool: string, timeoutMs: number): Promise<void> {
  const sid =
    known ??
    (await readFile(join(spool, 'pid/master.pid'), 'utf8').then(
      (t) => Number(t.trim()) || undefined,
      () => undefined,
    ));
  if (sid === undefined) return;
  const cmdline = await readFile(`/proc/${sid}/cmdline`, 'utf8').catch(() => '');
  if (cmdline.includes(etc)) {
    try {
      process.kill(sid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  try {
    await until(() => 'gone', timeoutMs, async () => ((await sessionPids(sid)).length === 0 ? true : undefined));
  } catch {
    for (const pid of await sessionPids(sid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // raced with its exit
      }
    }
    await until(() => `Postfix processes of session ${sid} survive SIGKILL`, timeoutMs, async () =>
      (await sessionPids(sid)).length === 0 ? true : undefined,
    );
  }
}

export async function startPostfix(opts: PostfixLabOptions): Promise<PostfixLab> {
  const p = paths();
  const etrnDomain = opts.etrnDomain ?? 'client.test';
  const otherDomain = opts.otherDomain ?? 'other.test';
  const timeoutMs = opts.timeoutMs ?? 20_000;
  if (!existsSync(p.stamp) || !existsSync(join(p.daemons, 'master')) || !existsSync(join(p.sbin, 'postqueue'))) {
    throw new Error(`${NOT_INSTALLED} (nothing in ${p.cache})`);
  }
  const ids = await accountIds();
  if (ids === undefined) throw new Error(`${NOT_INSTALLED} (no postfix user or postfix/postdrop group)`);
  if (process.getuid?.() !== 0) throw new Error('Postfix lab must run as root (master(8) starts as root)');

  return withLabDir('postfix', timeoutMs, async (life) => {
    const { dir } = life;
    await chmod(dir, 0o755); // the postfix user must reach spool/
    const etc = join(dir, 'etc');
    const spool = join(dir, 'spool');
    const data = join(dir, 'data');
    const logDir = join(dir, 'log');
    const maillog = join(logDir, 'maillog');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C',
      LD_LIBRARY_PATH: p.lib,
      MAIL_CONFIG: etc,
    };
    const postconf = (...args: string[]) => run(join(p.sbin, 'postconf'), ['-c', etc, ...args], env, timeoutMs);
    const postqueue = (...args: string[]) => run(join(p.sbin, 'postqueue'), ['-c', etc, ...args], env, timeoutMs);
    let masterPid: number | undefined;
    life.onStop(() => stopMaster(masterPid, etc, spool, timeoutMs));

    await mkdir(etc);
    await mkdir(logDir);
    for (const f of ['dynamicmaps.cf', 'makedefs.out']) await copyFile(join(p.share, f), join(etc, f));
    // The queue layout of postfix-files (what `postfix check` would create).
    await mkdir(spool, { mode: 0o755 });
    await mkdir(data, { mode: 0o700 });
    await chown(data, ids.postfixUid, ids.postfixGid);
    for (const q of ['active', 'bounce', 'corrupt', 'defer', 'deferred', 'flush', 'hold', 'incoming', 'private', 'saved', 'trace']) {
      await mkdir(join(spool, q), { mode: 0o700 });
      await chown(join(spool, q), ids.postfixUid, 0);
    }
    await mkdir(join(spool, 'maildrop'));
    await chown(join(spool, 'maildrop'), ids.postfixUid, ids.postdropGid);
    await chmod(join(spool, 'maildrop'), 0o1730);
    await mkdir(join(spool, 'public'));
    await chown(join(spool, 'public'), ids.postfixUid, ids.postdropGid);
    await chmod(join(spool, 'public'), 0o710);
    await mkdir(join(spool, 'pid'), { mode: 0o755 });

    const tlsLines: string[] = [];
    if (opts.tls) {
      const certFile = join(etc, 'smtpd-cert.pem');
      const keyFile = join(etc, 'smtpd-key.pem');
      await copyFile(opts.tls.certFile, certFile);
      await copyFile(opts.tls.keyFile, keyFile);
      await chown(certFile, 0, 0);
      await chown(keyFile, 0, 0);
      await chmod(certFile, 0o644);
      await chmod(keyFile, 0o600);
      tlsLines.push(
        'smtpd_tls_security_level = may',
        `smtpd_tls_cert_file = ${certFile}`,
        `smtpd_tls_key_file = ${keyFile}`,
        'smtpd_tls_loglevel = 1',
      );
    }

    const extra = (await opts.prepare?.(dir, ids)) ?? {};
    const sinkNexthop = `smtp:[127.0.0.1]:${opts.sinkPort}`;
    await writeFile(join(etc, 'transport'), `${etrnDomain} ${sinkNexthop}\n${otherDomain} ${sinkNexthop}\n`);
    const accessLines: string[] = [];
    if (opts.recipientAccess) {
      const table = Object.entries(opts.recipientAccess).map(([address, action]) => `${address} ${action}\n`);
      await writeFile(join(etc, 'recipient_access'), table.join(''));
      accessLines.push(`smtpd_recipient_restrictions = check_recipient_access texthash:${join(etc, 'recipient_access')}`);
    }
    const mainCf = [
      'compatibility_level = 3.6',
      `myhostname = ${HOSTNAME}`, // the machine's host name may have no dot
      `mydomain = ${HOSTNAME}`,
      'myorigin = $myhostname',
      'mydestination =',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      // Everything from the unpacked package, except config, queue and data.
      `config_directory = ${etc}`,
      `meta_directory = ${etc}`,
      `shlib_directory = ${p.lib}`,
      `daemon_directory = ${p.daemons}`,
      `command_directory = ${p.sbin}`,
      `queue_directory = ${spool}`,
      `data_directory = ${data}`,
      `sendmail_path = ${join(p.sbin, 'sendmail')}`,
      `newaliases_path = ${join(p.sbin, 'sendmail')}`,
      `mailq_path = ${join(p.sbin, 'sendmail')}`,
      `manpage_directory = ${join(p.root, 'usr/share/man')}`,
      // Postfix programs scrub their environment: keep the library path.
      `import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME LD_LIBRARY_PATH=${p.lib}${(extra.importEnvironment ?? []).map((e) => ` ${e}`).join('')}`,
      'export_environment = TZ MAIL_CONFIG LANG LD_LIBRARY_PATH',
      `maillog_file = ${maillog}`,
      `maillog_file_prefixes = ${logDir}`,
      'alias_maps =',
      'alias_database =',
      'local_recipient_maps =',
      'biff = no',
      // ETRN: etrnDomain is fast-flush eligible, otherDomain only relayed.
      `relay_domains = ${etrnDomain}, ${otherDomain}`,
      `fast_flush_domains = ${etrnDomain}`,
      `transport_maps = texthash:${join(etc, 'transport')}`,
      'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
      'smtpd_etrn_restrictions = permit_mynetworks, reject',
      // Only ETRN may trigger delivery of deferred mail.
      'queue_run_delay = 1h',
      'minimal_backoff_time = 1h',
      'maximal_backoff_time = 1h',
      // No DNS anywhere.
      'smtp_dns_support_level = disabled',
      'smtp_host_lookup = native',
      'smtpd_peername_lookup = no',
      ...tlsLines,
      ...accessLines,
      ...(extra.mainCf ?? []),
      '',
    ].join('\n');
    await writeFile(join(etc, 'main.cf'), mainCf);

    const version = (await postconf('-d', '-h', 'mail_version')).stdout.trim();
    if (!version) throw new Error(`${NOT_INSTALLED} (postconf does not run)`);

    // Start master directly (as `postfix start` does after its checks, which
    // cost seconds of shell here). `master -w` returns once the daemon is up.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await reservePort();
      await writeFile(join(etc, 'master.cf'), masterCf(port, opts.tls !== undefined));
      // Postfix loads a table or main.cf only once its mtime is over a second
      // old ("pausing to let ... cool down", 300 ms at a time): backdate them.
      const past = new Date(Date.now() - 60_000);
      for (const f of ['main.cf', 'master.cf', 'transport', ...(opts.recipientAccess ? ['recipient_access'] : [])]) {
        await utimes(join(etc, f), past, past);
      }
      const started = await run(join(p.daemons, 'master'), ['-c', etc, '-w'], env, timeoutMs, true);
      if (started.code === 0) break;
      const log = await readFile(maillog, 'utf8').catch(() => '');
      if (attempt >= 3 || !/bind .*Address already in use/.test(log)) {
        throw new Error(`Postfix lab: master did not start (exit ${started.code}): ${started.stderr.trim()}\n${log}`);
      }
    }
    const pidText = await readFile(join(spool, 'pid/master.pid'), 'utf8');
    masterPid = Number(pidText.trim());

    // Ready once smtpd answers with its banner.
    await until(() => `Postfix lab: no SMTP banner on 127.0.0.1:${port}`, timeoutMs, async () => {
      try {
        const s = await smtpSession(port, timeoutMs);
        s.close();
        return true;
      } catch {
        return undefined;
      }
    });

    const queue = async (): Promise<QueueEntry[]> => {
      const r = await postqueue('-j');
      if (r.code !== 0) throw new Error(`postqueue -j failed (${r.code}): ${r.stderr.trim()}`);
      return r.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as QueueEntry);
    };

    const lab: PostfixLab = {
      host: '127.0.0.1',
      port,
      version,
      dir,
      queue,
      async queueIds() {
        return (await queue()).map((e) => e.queue_id);
      },
      async queueMessage(to, subject = `etrn lab message to ${to}`) {
        const s = await smtpSession(port, timeoutMs);
        let id: string;
        try {
          await s.command(`EHLO submit.${HOSTNAME}`, 250);
          await s.command('MAIL FROM:<sender@etrn-lab.test>', 250);
          await s.command(`RCPT TO:<${to}>`, 250);
          await s.command('DATA', 354);
          const body = [
            'From: <sender@etrn-lab.test>',
            `To: <${to}>`,
            `Subject: ${subject}`,
            '',
            `Queued by the etrn Postfix lab for ${to}.`,
            '.',
          ].join('\r\n');
          const reply = await s.command(body, 250);
          const m = /queued as ([0-9A-Za-z]+)/.exec(reply);
          if (!m?.[1]) throw new Error(`Postfix lab: no queue id in ${JSON.stringify(reply)}`);
          id = m[1];
          await s.command('QUIT', 221);
        } finally {
          s.close();
        }
        // The first delivery attempt (sink down) must have deferred it, and
        // qmgr must have moved it to the deferred queue, before ETRN can
        // bring it back.
        await until(
          () => `Postfix lab: message ${id} to ${to} was not deferred within ${timeoutMs} ms`,
          timeoutMs,
          async () => {
            const entry = (await queue()).find((e) => e.queue_id === id);
            if (entry === undefined) {
              throw new Error(`Postfix lab: message ${id} to ${to} left the queue before deferring (is the sink already up?)`);
            }
            return entry.queue_name === 'deferred' ? true : undefined;
          },
          100,
        );
      },
      logText() {
        return readFile(maillog, 'utf8').catch(() => '');
      },
      stop: () => life.stop(),
    };
    return lab;
  });
}

function masterCf(port: number, tls = false): string {
  // Every service with chroot n: the queue folder is not a chroot jail.
  const services = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup    unix  n - n 60    1 pickup',
    'cleanup   unix  n - n -     0 cleanup',
    'qmgr      unix  n - n 300   1 qmgr',
    'rewrite   unix  - - n -     - trivial-rewrite',
    'bounce    unix  - - n -     0 bounce',
    'defer     unix  - - n -     0 bounce',
    'trace     unix  - - n -     0 bounce',
    'verify    unix  - - n -     1 verify',
    'flush     unix  n - n 1000? 0 flush',
    'proxymap  unix  - - n -     - proxymap',
    'proxywrite unix - - n -     1 proxymap',
    'smtp      unix  - - n -     - smtp',
    'relay     unix  - - n -     - smtp',
    'showq     unix  n - n -     - showq',
    'error     unix  - - n -     - error',
    'retry     unix  - - n -     - error',
    'discard   unix  - - n -     - discard',
    'anvil     unix  - - n -     1 anvil',
    'scache    unix  - - n -     1 scache',
    'postlog   unix-dgram n - n - 1 postlogd',
    ...(tls ? ['tlsmgr    unix  - - n 1000? 1 tlsmgr'] : []),
  ];
  return `${services.join('\n')}\n`;
}

interface SmtpSession {
  /** Sends `line` and returns the whole reply; throws unless its code is `expect`. */
  command(line: string, expect: number): Promise<string>;
  close(): void;
}

/** A minimal SMTP client session: connects and reads the 220 banner. */
function smtpSession(port: number, timeoutMs: number): Promise<SmtpSession> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('latin1');
    socket.setTimeout(timeoutMs);
    let buffer = '';
    let waiter: { resolve: (r: string) => void; reject: (e: Error) => void } | undefined;
    let failure: Error | undefined;
    const fail = (e: Error): void => {
      failure ??= e;
      const w = waiter;
      waiter = undefined;
      w?.reject(e);
    };
    const pump = (): void => {
      if (!waiter) return;
      const lines = buffer.split('\r\n');
      const last = lines.findIndex((l) => /^\d{3}( |$)/.test(l));
      if (last < 0 || last === lines.length - 1) return;
      const reply = lines.slice(0, last + 1).join('\n');
      buffer = lines.slice(last + 1).join('\r\n');
      const w = waiter;
      waiter = undefined;
      w.resolve(reply);
    };
    const nextReply = (): Promise<string> =>
      new Promise((res, rej) => {
        if (failure) return rej(failure);
        waiter = { resolve: res, reject: rej };
        pump();
      });
    socket.on('data', (d: string) => {
      buffer += d;
      pump();
    });
    socket.on('error', fail);
    socket.on('timeout', () => {
      fail(new Error(`SMTP 127.0.0.1:${port}: timeout`));
      socket.destroy();
    });
    socket.on('close', () => fail(new Error(`SMTP 127.0.0.1:${port}: connection closed`)));
    const session: SmtpSession = {
      async command(line, expect) {
        socket.write(`${line}\r\n`);
        const reply = await nextReply();
        if (!reply.startsWith(String(expect))) {
          throw new Error(`SMTP ${JSON.stringify(line.split('\r\n')[0])}: expected ${expect}, got ${JSON.stringify(reply)}`);
        }
        return reply;
      },
      close() {
        socket.destroy();
      },
    };
    nextReply().then((banner) => {
      if (banner.startsWith('220')) resolvePromise(session);
      else {
        socket.destroy();
        reject(new Error(`SMTP 127.0.0.1:${port}: banner ${JSON.stringify(banner)}`));
      }
    }, reject);
  });
}
