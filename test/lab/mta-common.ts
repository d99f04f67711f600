// Shared plumbing for the real-MTA labs (test/lab/sendmail.ts, exim.ts,
// opensmtpd.ts; postfix.ts shares only the lab lifecycle, LabLifecycle and
// withLabDir): each runs an MTA unpacked from Debian's .debs by
// lab/install-<name>.sh into ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/<name>
// (nothing installed system-wide), with a private configuration in a fresh
// temporary folder, on 127.0.0.1 and a port the OS picked.
//
// Every MTA runs inside its own UTS + mount namespace (unshare(1)), so that it
// can have a qualified host name and private /etc/hosts, nsswitch.conf and
// resolv.conf (and, for OpenSMTPD, its compiled-in /var paths) without
// touching the machine's. That namespace also gives stop() a reliable way to
// find every process the MTA forked: all of them share it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A running MTA under test. */
export interface MtaLab {
  /** 'sendmail', 'exim' or 'opensmtpd'. */
  name: string;
  /** The MTA's own version, e.g. "8.17.1.9". */
  version: string;
  host: '127.0.0.1';
  /** The SMTP port the MTA listens on (ETRN goes here). */
  port: number;
  /** The lab's private folder (configuration, queue, logs); removed by stop() unless ETRN_LAB_KEEP is set. */
  dir: string;
  /** Queues a message for `to` that stays queued until ETRN (no delivery attempt that could succeed). */
  queueMessage(to: string): Promise<void>;
  /** Ids of the messages still queued. */
  queueIds(): Promise<string[]>;
  /** Stops the MTA; resolves once none of its processes is left, then removes `dir`. */
  stop(): Promise<void>;
}

export interface MtaLabOptions {
  /** Port on 127.0.0.1 where the test sink listens (or will listen) for mail to `domain`. */
  sinkPort: number;
  /** Mail for this domain (and its subdomains) is routed to the sink. Default client.test. */
  domain?: string;
  /** Bound for each wait (startup, queueing, shutdown). Default 20 s. */
  timeoutMs?: number;
}

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The unpacked package tree of lab `name`; throws an actionable error when it is missing. */
export function labRoot(name: string, mustExist: readonly string[]): string {
  const cache = resolve(process.env.ETRN_LAB_CACHE ?? join(repoRoot, '.cache/lab'), name);
  const root = join(cache, 'root');
  const missing = [join(cache, 'installed.stamp'), ...mustExist.map((f) => join(root, f))].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(`${name} lab not installed: run \`sudo lab/install-${name}.sh\` (missing ${missing.join(', ')})`);
  }
  if (process.getuid?.() !== 0) throw new Error(`${name} lab must run as root (it uses unshare and binds port 127.0.0.1)`);
  return root;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? labEnv(),
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Runs and throws (with its output) unless it exits 0. */
export async function runOk(
  what: string,
  cmd: string,
  args: readonly string[],
  opts: Parameters<typeof run>[2] = {},
): Promise<Run> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${what}: ${cmd} ${args.join(' ')} exited ${r.code}: ${(r.stderr + r.stdout).trim()}`);
  }
  return r;
}

/** A small, predictable environment for the MTAs (no locale or proxy surprises). */
export function labEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C', TZ: 'UTC', ...extra };
}

/** A port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function reservePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  const address = server.address();
  await new Promise<void>((res) => server.close(() => res()));
  if (address === null || typeof address === 'string') throw new Error('reservePort: no address');
  return address.port;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns something other than undefined; throws what() after timeoutMs. */
export async function until<T>(
  what: () => string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(what());
    await sleep(everyMs);
  }
}

/** Connects, reads the 220 banner, says QUIT; resolves to the banner line, or undefined if nothing answers yet. */
export function probeBanner(port: number, timeoutMs = 5_000): Promise<string | undefined> {
  return new Promise((resolvePromise) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = '';
    let done = false;
    const finish = (banner: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (banner !== undefined) socket.end('QUIT\r\n');
      else socket.destroy();
      resolvePromise(banner);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      buffer += d;
      const m = /^(220[ -][^\r\n]*)\r?\n/.exec(buffer);
      if (m?.[1] !== undefined) finish(m[1]);
      else if (/^\d{3} /.test(buffer) && buffer.includes('\n')) finish(undefined);
    });
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
  });
}

export interface Namespace {
  /** Host name inside the namespace. */
  hostname: string;
  /** Wraps a command so that it runs inside a fresh namespace of this kind: [file, args]. */
  wrap(cmd: string, args: readonly string[]): [string, string[]];
}

/**
 * Prepares a private UTS + mount namespace recipe: host name `hostname`,
 * /etc/hosts naming it (and localhost) on 127.0.0.1, nsswitch.conf with
 * `hosts: files` only and a resolv.conf pointing at 127.0.0.1 (no DNS ever
 * leaves the machine), plus `extraMounts` (shell lines run inside the
 * namespace before the command, e.g. bind mounts over compiled-in paths).
 * The files live in `dir`; the machine's own are never touched.
 */
export async function makeNamespace(dir: string, hostname: string, extraMounts: readonly string[] = []): Promise<Namespace> {
  const short = hostname.split('.')[0] ?? hostname;
  await writeFile(join(dir, 'ns-hosts'), `127.0.0.1\t${hostname} ${short} localhost\n::1\tlocalhost ip6-localhost\n`);
  await writeFile(
    join(dir, 'ns-nsswitch.conf'),
    'passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\nservices: files\nprotocols: files\n',
  );
  await writeFile(join(dir, 'ns-resolv.conf'), '# etrn MTA lab: no DNS\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    'set -e',
    `hostname ${q(hostname)}`,
    `mount --bind ${q(join(dir, 'ns-hosts'))} /etc/hosts`,
    `mount --bind ${q(join(dir, 'ns-nsswitch.conf'))} /etc/nsswitch.conf`,
    `mount --bind ${q(join(dir, 'ns-resolv.conf'))} /etc/resolv.conf`,
    ...extraMounts,
    'exec "$@"',
  ].join('\n');
  return {
    hostname,
    wrap(cmd, args) {
      return ['unshare', ['--uts', '--mount', '--propagation', 'private', 'sh', '-c', script, 'mta-ns', cmd, ...args]];
    },
  };
}

export interface Daemon {
  child: ChildProcess;
  pid: number;
  /** Output of the daemon (and of the namespace set-up). */
  logFile: string;
  exited: () => boolean;
}

/** Starts `cmd` in its own process group (and session), output appended to logFile. */
export function spawnDaemon(file: string, args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): Daemon {
  const fd = openSync(logFile, 'a');
  let exited = false;
  try {
    const child = spawn(file, args, { env: env ?? labEnv(), detached: true, stdio: ['ignore', fd, fd] });
    child.on('exit', () => (exited = true));
    child.on('error', () => (exited = true));
    if (child.pid === undefined) throw new Error(`cannot start ${file}`);
    child.unref();
    return { child, pid: child.pid, logFile, exited: () => exited };
  } finally {
    closeSync(fd);
  }
}

/** The namespace inode of process `pid` (e.g. "uts:[4026532178]"), or undefined once it is gone. */
export async function nsOf(pid: number, kind = 'uts'): Promise<string | undefined> {
  return readlink(`/proc/${pid}/ns/${kind}`).catch(() => undefined);
}

/** Pids of the live (non-zombie) processes whose `kind` namespace is `ns`. */
export async function pidsInNamespace(ns: string, kind = 'uts'): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    if ((await nsOf(pid, kind)) !== ns) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    if (state !== undefined && state !== 'Z' && state !== 'X' && state !== '') pids.push(pid);
  }
  return pids;
}

/**
 * Stops a daemon started with spawnDaemon inside a private namespace:
 * SIGTERM to its process group, then (after graceMs) SIGKILL to everything
 * still in that namespace; resolves once nothing is left in it.
 */
export async function stopDaemon(daemon: Daemon, ns: string | undefined, timeoutMs: number, graceMs = 5_000): Promise<void> {
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-daemon.pid, sig);
    } catch {
      // group already gone
    }
  };
  signalGroup('SIGTERM');
  const left = async (): Promise<number[]> => {
    const pids = ns === undefined ? [] : await pidsInNamespace(ns);
    if (!daemon.exited() && !pids.includes(daemon.pid)) pids.push(daemon.pid);
    return pids;
  };
  try {
    await until(() => 'still running', graceMs, async () => ((await left()).length === 0 ? true : undefined));
    return;
  } catch {
    // fall through to SIGKILL
  }
  signalGroup('SIGKILL');
  for (const pid of await left()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // raced with its exit
    }
  }
  try {
    await until(() => 'still running', timeoutMs, async () => ((await left()).length === 0 ? true : undefined));
  } catch {
    throw new Error(`MTA processes survive SIGKILL: ${(await left()).join(' ')}`);
  }
}

/**
 * The life of one lab: its private folder `dir` (a fresh etrn-<name>-XXXXXX
 * in the system's temporary folder) and what stop() must end before it
 * removes that folder. withLabDir makes it, and stops it if the start fails.
 */
export class LabLifecycle {
  private stopped = false;
  private stopProcesses: () => Promise<void> = async () => undefined;

  constructor(
    /** The lab's name in messages ("<name> lab: ..."). */
    readonly name: string,
    readonly dir: string,
    /** Bound for each wait (startup, shutdown). */
    readonly timeoutMs: number,
  ) {}

  /** stop() will first await `stopProcesses`, which must resolve only once none of the lab's processes is left. */
  onStop(stopProcesses: () => Promise<void>): void {
    this.stopProcesses = stopProcesses;
  }

  /** stop() will stop `daemon` and everything in its namespace `ns` (once known), see stopDaemon. */
  own(daemon: Daemon, ns?: string): void {
    this.onStop(() => stopDaemon(daemon, ns, this.timeoutMs));
  }

  /**
   * Starts the lab's daemon `command` ([file, args], e.g. from Namespace.wrap;
   * output appended to <dir>/daemon.log), owns it, waits until it answers
   * with an SMTP banner on 127.0.0.1:port and then owns its namespace too.
   * `exited` gives the error message for a daemon that exited before it
   * answered; `alsoSee` names another log for the error when nothing answers.
   */
  async startDaemon(
    command: [string, string[]],
    port: number,
    o: { exited: (daemon: Daemon) => Promise<string>; alsoSee?: string },
  ): Promise<{ daemon: Daemon; banner: string }> {
    const daemon = spawnDaemon(...command, join(this.dir, 'daemon.log'));
    this.own(daemon);
    const see = o.alsoSee === undefined ? daemon.logFile : `${daemon.logFile}, ${o.alsoSee}`;
    const banner = await until(
      () => `${this.name} lab: no SMTP banner on 127.0.0.1:${port} within ${this.timeoutMs} ms (see ${see})`,
      this.timeoutMs,
      async () => {
        if (daemon.exited()) throw new Error(await o.exited(daemon));
        return probeBanner(port);
      },
      100,
    );
    this.own(daemon, await nsOf(daemon.pid));
    return { daemon, banner };
  }

  /** Stops what the lab runs, then removes `dir` unless ETRN_LAB_KEEP is set; any later call does nothing. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.stopProcesses();
    if (!process.env.ETRN_LAB_KEEP) await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Builds lab `name` in a fresh folder: `build` gets the LabLifecycle and
 * returns the lab, whose stop() is the lifecycle's. If `build` throws, what
 * it started is stopped and the folder removed (an error doing so is
 * dropped) before its error is thrown on.
 */
export async function withLabDir<T>(name: string, timeoutMs: number, build: (life: LabLifecycle) => Promise<T>): Promise<T> {
  const life = new LabLifecycle(name, await mkdtemp(join(tmpdir(), `etrn-${name}-`)), timeoutMs);
  try {
    return await build(life);
  } catch (e) {
    await life.stop().catch(() => undefined);
    throw e;
  }
}

/** The envelope and From: sender of the labs' test messages. */
export const labSender = 'sender@lab.test';

/** The test message lab `mta` (e.g. "Sendmail") queues for `to`: LF line ends, no final newline. */
export function labMessage(mta: string, to: string): string {
  return [
    `From: <${labSender}>`,
    `To: <${to}>`,
    `Subject: etrn ${mta.toLowerCase()} lab message to ${to}`,
    '',
    `Queued by the etrn ${mta} lab for ${to}.`,
  ].join('\n');
}

/**
 * Queues labMessage(mta, to) with `command`, a sendmail-compatible command
 * line (args appended): -odq queues only, no delivery attempt, so only a
 * queue run (ETRN) delivers it.
 */
export async function queueWithOdq(mta: string, command: (args: string[]) => [string, string[]], to: string, timeoutMs: number): Promise<void> {
  await runOk(`${mta.toLowerCase()} lab: queueMessage`, ...command(['-odq', '-f', labSender, '--', to]), {
    input: `${labMessage(mta, to)}\n`,
    timeoutMs,
  });
}

/** Submits one message over SMTP to 127.0.0.1:port (EHLO, MAIL, RCPT, DATA, QUIT); throws on any unexpected reply. */
export function smtpSubmit(port: number, from: string, to: string, body: string, timeoutMs = 20_000): Promise<string[]> {
  const steps: [string | undefined, string][] = [
    [undefined, '220'],
    ['EHLO submit.lab.test', '250'],
    [`MAIL FROM:<${from}>`, '250'],
    [`RCPT TO:<${to}>`, '250'],
    ['DATA', '354'],
    [`${body.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..')}\r\n.`, '250'],
    ['QUIT', '221'],
  ];
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    const replies: string[] = [];
    let buffer = '';
    let step = 0;
    const fail = (e: Error): void => {
      socket.destroy();
      reject(e);
    };
    socket.setEncoding('latin1');
    socket.setTimeout(timeoutMs, () => fail(new Error(`SMTP 127.0.0.1:${port}: timeout after ${replies.join(' | ')}`)));
    socket.on('error', fail);
    socket.on('close', () => {
      if (step < steps.length) fail(new Error(`SMTP 127.0.0.1:${port}: closed after ${replies.join(' | ')}`));
    });
    socket.on('data', (d: string) => {
      buffer += d;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line[3] === '-') continue;
        replies.push(line);
        const expected = steps[step]?.[1];
        if (expected === undefined || !line.startsWith(expected)) {
          fail(new Error(`SMTP 127.0.0.1:${port}: expected ${expected} after ${JSON.stringify(steps[step]?.[0] ?? 'connect')}, got ${JSON.stringify(line)}`));
          return;
        }
        step += 1;
        const next = steps[step];
        if (next === undefined) {
          socket.end();
          resolvePromise(replies);
          return;
        }
        socket.write(`${next[0] ?? ''}\r\n`);
      }
    });
  });
}
