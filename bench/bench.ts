// npm run bench (issue 7): how fast etrn is, measured side by side in one run
// and reported as medians over repeated runs. Not a test: it fails only when
// a run goes wrong (a non-zero exit, a missing ETRN, a time limit), never
// because a target is missed; targets are reported with their margins.
//
//   1. start-up: `node bin/etrn.js --version` (and a dry run, which loads the
//      library) against `node -e 0`;
//   2. one server that waits 50 ms before every reply (a child process),
//      N = 1, 10, 50 nodes: etrn with the default --per-session 8 and with
//      --per-session 100 (one session), against the protocol minimum and
//      against fetchmail's ETRN mode on the same server;
//   3. the real Sendmail lab (test/lab/sendmail.ts), 20 nodes: default
//      --per-session 8 against --per-session 100, run once and bounded
//      (Sendmail's tarpit: from the 8th ETRN in a session on, it sleeps
//      before replying, 1 s and then doubling);
//   4. --etrn-hosts with 10, 100 and 500 servers (127.0.x.y, one child
//      process listening on all of them, 100 ms per reply), one node each,
//      -j 100 and the default -j 16, with the peak RSS of etrn.
//
// Usage: node dist/bench/bench.js [--out FILE] [--reps N] [--startup-reps N]
//        [--ref-reps N] [--only startup,session,sendmail,hosts]
//   --out: where the JSON goes (default bench/results.json); the markdown
//   report goes to stdout, progress to stderr. --reps (7): runs per
//   measurement; --startup-reps (11): for start-up and the cheap Sendmail
//   runs; --ref-reps (3): for the slow -j 16 reference runs.
// Needs root (Sendmail lab, fetchmail in a private namespace, installs) and
// a built tree (npm run build). Contacts only loopback addresses. Every
// process it starts is stopped before it exits, also on SIGINT/SIGTERM.
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { labEnv, makeNamespace, repoRoot } from '../test/lab/mta-common.js';
import { startSendmail } from '../test/lab/sendmail.js';
import { startSink } from '../test/lab/sink.js';
import type { ServerConfig, ServerStats, ToChild, ToParent } from './smtp-server.js';

const here = dirname(fileURLToPath(import.meta.url));
const etrnBin = join(repoRoot, 'bin/etrn.js');
const node = process.execPath;
const HELO = 'bench.example';
/** The whole bench is stopped past this, whatever it is doing (it should take under 5 minutes). */
const BENCH_LIMIT_MS = 12 * 60_000;
const benchStart = performance.now();

// ---------------------------------------------------------------- processes

/** Live child processes; each leads its own process group (spawned detached). */
const children = new Set<ChildProcess>();
/** Stops things that are not plain children (the Sendmail lab, the sink), newest first. */
const cleanups: (() => Promise<void>)[] = [];

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function cleanupAll(): Promise<void> {
  for (const child of children) killGroup(child);
  for (const cleanup of cleanups.splice(0).reverse()) {
    await within(cleanup().catch((e: unknown) => console.error(`bench: cleanup: ${(e as Error).message}`)), 30_000);
  }
  for (const child of children) killGroup(child);
}

process.on('exit', () => {
  for (const child of children) killGroup(child);
});
/** Set on SIGINT/SIGTERM: nothing new is started while everything is being stopped. */
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    console.error(`\nbench: ${signal}: stopping every process started`);
    void cleanupAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

/** Waits for `promise`, or `ms` at most; leaves no timer behind to hold the process. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
/** CLOCK_MONOTONIC in ms, the same clock as the server child's. */
const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

class BenchError extends Error {}

function checkBudget(): void {
  if (stopping) throw new BenchError('interrupted');
  if (performance.now() - benchStart > BENCH_LIMIT_MS) {
    throw new BenchError(`the bench has run for over ${BENCH_LIMIT_MS / 60_000} minutes; stopped`);
  }
}

interface Timed {
  /** Wall time from spawn to exit, ms. */
  readonly ms: number;
  readonly startMs: number;
  readonly exitMs: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** stderr lines with their arrival time (monotonic ms), when asked for. */
  readonly stderrLines: { t: number; line: string }[];
}

interface RunOptions {
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeStderr?: boolean;
}

/** Runs a command in its own process group, timing it from spawn to exit; kills the group at the time limit. */
function runTimed(file: string, args: readonly string[], options: RunOptions): Promise<Timed> {
  checkBudget();
  return new Promise((resolvePromise, reject) => {
    const startMs = monoMs();
    const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.add(child);
    let exitMs = 0;
    let timedOut = false;
    let stdout = '';
    let stderr = '';
    let partial = '';
    const stderrLines: { t: number; line: string }[] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!options.timeStderr) return;
      const t = monoMs();
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) stderrLines.push({ t, line });
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeoutMs);
    child.on('exit', () => (exitMs = monoMs()));
    child.on('error', (error) => {
      clearTimeout(timer);
      children.delete(child);
      reject(new BenchError(`cannot run ${file}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (exitMs === 0) exitMs = monoMs();
      resolvePromise({ ms: exitMs - startMs, startMs, exitMs, code, signal, timedOut, stdout, stderr, stderrLines });
    });
  });
}

function describeRun(what: string, r: Timed): string {
  const how = r.timedOut ? 'was killed at its time limit' : r.signal ? `died of ${r.signal}` : `exited ${r.code}`;
  const output = `${r.stderr}${r.stdout}`.trim().split('\n').slice(-6).join('\n    ');
  return `${what} ${how}${output ? `:\n    ${output}` : ''}`;
}

// ---------------------------------------------------------------- server child

interface BenchServer {
  readonly port: number;
  readonly bootPort: number | null;
  /** Counters since the last call (then reset). */
  stats(): Promise<ServerStats>;
  /** Waits until no connection is open, then resets the counters. */
  quiesce(): Promise<void>;
  close(): Promise<void>;
}

/** Starts bench/smtp-server.js in a child process and waits until it listens. */
async function startServer(config: ServerConfig): Promise<BenchServer> {
  checkBudget();
  const child = fork(join(here, 'smtp-server.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const waiters: ((m: ToParent) => void)[] = [];
  let failure: string | null = null;
  child.on('message', (m: ToParent) => {
    if (m.type === 'error') failure = m.message;
    waiters.shift()?.(m);
  });
  child.on('error', (error) => {
    failure ??= error.message;
    for (const w of waiters.splice(0)) w({ type: 'error', message: failure });
  });
  child.on('exit', (code, signal) => {
    failure ??= `server child exited (${signal ?? code})`;
    for (const w of waiters.splice(0)) w({ type: 'error', message: failure });
  });
  const next = (timeoutMs: number, what: string): Promise<ToParent> =>
    new Promise((resolvePromise, reject) => {
      if (failure) return reject(new BenchError(`bench server: ${failure}`));
      const timer = setTimeout(() => reject(new BenchError(`bench server: no answer to ${what} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push((m) => {
        clearTimeout(timer);
        if (m.type === 'error') reject(new BenchError(`bench server: ${m.message}`));
        else resolvePromise(m);
      });
    });
  const ask = async <T extends ToParent['type']>(cmd: ToChild, type: T, timeoutMs = 10_000): Promise<Extract<ToParent, { type: T }>> => {
    if (!child.connected) throw new BenchError(`bench server: ${failure ?? 'its IPC channel is closed'}`);
    const answer = next(timeoutMs, cmd.cmd);
    child.send(cmd);
    const m = await answer;
    if (m.type !== type) throw new BenchError(`bench server: expected ${type}, got ${m.type}`);
    return m as Extract<ToParent, { type: T }>;
  };
  const ready = await next(20_000, 'start-up');
  if (ready.type !== 'ready') throw new BenchError(`bench server: expected ready, got ${ready.type}`);
  return {
    port: ready.port,
    bootPort: ready.bootPort,
    stats: async () => (await ask({ cmd: 'stats' }, 'stats')).stats,
    quiesce: async () => {
      await ask({ cmd: 'idle' }, 'idle');
      await ask({ cmd: 'stats' }, 'stats');
    },
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      if (child.connected) child.send({ cmd: 'close' } satisfies ToChild);
      await within(exited, 5_000);
      killGroup(child);
    },
  };
}

// ---------------------------------------------------------------- numbers

interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: number[];
}

function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median), min: round(sorted[0]!), max: round(sorted[sorted.length - 1]!), samples: samples.map((x) => round(x)) };
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
const ms = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)}`);
const ratio = (a: number, b: number): number => round(a / b, 2);
const range = (s: Summary): string => `${ms(s.min)}–${ms(s.max)}`;
const nodesFor = (n: number, domain = 'bench.example'): string[] => Array.from({ length: n }, (_, i) => `n${i + 1}.${domain}`);

// ---------------------------------------------------------------- tools

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Installs a Debian package when `present()` says its program is missing (root only; apt's lock waited for). */
async function ensurePackage(pkg: string, present: () => boolean): Promise<void> {
  if (present()) return;
  if (process.getuid?.() !== 0) throw new BenchError(`${pkg} is not installed; as root: apt-get install ${pkg}`);
  console.error(`bench: installing ${pkg} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): Promise<Timed> =>
    runTimed('apt-get', ['install', '-y', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', pkg], { env, timeoutMs: 600_000 });
  let r = await install();
  if (r.code !== 0 || !present()) {
    await runTimed('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update'], { env, timeoutMs: 300_000 });
    r = await install();
  }
  if (r.code !== 0 || !present()) throw new BenchError(describeRun(`apt-get install ${pkg}`, r));
}

/** Installs the Sendmail lab (lab/install-sendmail.sh) when it is missing. */
async function ensureSendmailLab(): Promise<void> {
  const cache = resolve(process.env.ETRN_LAB_CACHE ?? join(repoRoot, '.cache/lab'), 'sendmail');
  if (existsSync(join(cache, 'installed.stamp'))) return;
  console.error('bench: installing the Sendmail lab (lab/install-sendmail.sh)');
  const r = await runTimed('bash', [join(repoRoot, 'lab/install-sendmail.sh')], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new BenchError(describeRun('lab/install-sendmail.sh', r));
}

/** Warns when the CLI bundle is older than a source file (the bench measures dist/bundle, not src). */
async function staleBundleWarning(): Promise<string | null> {
  const bundle = join(repoRoot, 'dist/bundle/main.js');
  if (!existsSync(bundle)) throw new BenchError('dist/bundle/main.js is missing: run `npm run build` first');
  const built = statSync(bundle).mtimeMs;
  const sources = (await readdir(join(repoRoot, 'src'), { recursive: true })).map((f) => join(repoRoot, 'src', f));
  const newer = sources.filter((f) => statSync(f).isFile() && statSync(f).mtimeMs > built);
  return newer.length > 0 ? `dist/bundle is older than ${newer.length} file(s) in src/ (e.g. ${newer[0]!.slice(repoRoot.length + 1)}): run \`npm run build\`` : null;
}

// ---------------------------------------------------------------- 1. start-up

interface StartupResult {
  readonly reps: number;
  readonly rows: { name: string; command: string; wall: Summary; ratio: number }[];
  readonly nodeMs: number;
  readonly etrnMs: number;
  readonly ratio: number;
}

async function benchStartup(reps: number): Promise<StartupResult> {
  const variants = [
    { name: 'node -e 0', args: ['-e', '0'], check: (out: string) => out === '' },
    { name: 'etrn --version', args: [etrnBin, '--version'], check: (out: string) => /^etrn \S+\n$/.test(out) },
    {
      name: 'etrn -n (dry run: loads the library)',
      args: [etrnBin, '-n', '--helo', HELO, '127.0.0.1:2525', 'n1.bench.example'],
      check: (out: string) => out.includes('ETRN n1.bench.example'),
    },
  ];
  const samples = variants.map(() => [] as number[]);
  for (let rep = -1; rep < reps; rep++) {
    // Interleaved, so that drift in the machine's speed touches every variant alike; rep -1 warms the caches.
    for (const [i, v] of variants.entries()) {
      const r = await runTimed(node, v.args, { timeoutMs: 20_000 });
      if (r.code !== 0 || !v.check(r.stdout)) throw new BenchError(describeRun(v.name, r));
      if (rep >= 0) samples[i]!.push(r.ms);
    }
  }
  const walls = samples.map(summarize);
  const nodeMs = walls[0]!.median;
  return {
    reps,
    rows: variants.map((v, i) => ({ name: v.name, command: ['node', ...v.args.map((a) => a.replace(repoRoot + '/', ''))].join(' '), wall: walls[i]!, ratio: ratio(walls[i]!.median, nodeMs) })),
    nodeMs,
    etrnMs: walls[1]!.median,
    ratio: ratio(walls[1]!.median, nodeMs),
  };
}

// ---------------------------------------------------------------- 2. one slow server

const SESSION_DELAY_MS = 50;

interface SessionRow {
  readonly nodes: number;
  readonly client: string;
  readonly sessions: number;
  readonly wall: Summary;
  /** (N+3)×delay + node start-up, as the issue states it; and (N+2)×delay + start-up, what etrn waits for. */
  readonly minIssueMs: number;
  readonly minWaitedMs: number;
  readonly vsIssue: number;
  readonly vsWaited: number;
  /** Spawn to the server's accept, and the server's receipt of QUIT to the process's exit (medians). */
  readonly spawnToConnectMs: number;
  readonly quitToExitMs: number;
  /** Client turnaround per reply (server's reply written → client's next command), and the server's own pause per reply (medians, ms). */
  readonly turnMs: number;
  readonly serverPauseMs: number;
  /** For fetchmail: the median minus the private namespace's own cost. */
  readonly netMs?: number;
}

interface SessionResult {
  readonly reps: number;
  readonly delayMs: number;
  readonly nodeStartupMs: number;
  readonly namespaceOverhead: Summary;
  readonly fetchmailVersion: string;
  readonly rows: SessionRow[];
}

interface Fetchmail {
  /** [file, args] that run fetchmail with `args` inside the namespace. */
  readonly wrap: (args: string[]) => [string, string[]];
  /** The same namespace around /bin/true, to measure what it costs by itself. */
  readonly wrapTrue: () => [string, string[]];
  readonly env: NodeJS.ProcessEnv;
  /** fetchmail's HOME: pid file and id file go there. */
  readonly home: string;
  readonly version: string;
}

async function fetchmailSetup(): Promise<Fetchmail> {
  await ensurePackage('fetchmail', () => onPath('fetchmail'));
  const dir = await mkdtemp(join(tmpdir(), 'etrn-bench-fetchmail-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const home = join(dir, 'home');
  await mkdir(home, { mode: 0o700 });
  // fetchmail takes its EHLO name from the host name and may resolve it: run
  // it in a private UTS + mount namespace whose host name is in its own
  // /etc/hosts, with "hosts: files" and no DNS server, so nothing but
  // loopback is ever asked.
  const ns = await makeNamespace(dir, 'fetchmail.bench.test');
  const env = labEnv({ HOME: home, FETCHMAILHOME: home });
  const version = (await runTimed('fetchmail', ['--version'], { env, timeoutMs: 10_000 })).stdout.match(/release (\S+?)[+ ]/)?.[1] ?? 'unknown';
  return { wrap: (args) => ns.wrap('fetchmail', args), wrapTrue: () => ns.wrap('/bin/true', []), env, home, version };
}

async function benchSession(reps: number, nodeStartupMs: number): Promise<SessionResult> {
  const fm = await fetchmailSetup();
  const server = await startServer({ delayMs: SESSION_DELAY_MS, hosts: ['127.0.0.1'], bootResponder: false });
  cleanups.push(() => server.close());
  const target = `127.0.0.1:${server.port}`;

  // What the namespace wrapper costs by itself (unshare, sh, three bind mounts).
  const [nsTrue, nsTrueArgs] = fm.wrapTrue();
  const nsSamples: number[] = [];
  for (let rep = -1; rep < reps; rep++) {
    const r = await runTimed(nsTrue, nsTrueArgs, { env: fm.env, timeoutMs: 10_000 });
    if (r.code !== 0) throw new BenchError(describeRun('the namespace wrapper (unshare)', r));
    if (rep >= 0) nsSamples.push(r.ms);
  }
  const namespaceOverhead = summarize(nsSamples);

  interface Client {
    name: string;
    run: (nodes: string[]) => Promise<Timed>;
    sessions: (n: number) => number;
    checkOutput: (r: Timed, n: number) => boolean;
  }
  const accepted = (r: Timed): number => r.stdout.split('\n').filter((l) => l.includes(': accepted: 250')).length;
  const etrnClient = (name: string, extra: string[], perSession: number): Client => ({
    name,
    run: (nodes) => runTimed(node, [etrnBin, '--helo', HELO, ...extra, target, ...nodes], { timeoutMs: 60_000 }),
    sessions: (n) => Math.ceil(n / perSession),
    checkOutput: (r, n) => r.code === 0 && accepted(r) === n,
  });
  const clients: Client[] = [
    etrnClient('etrn (default --per-session 8)', [], 8),
    etrnClient('etrn --per-session 100', ['--per-session', '100'], 100),
    {
      name: `fetchmail ${fm.version} --protocol ETRN`,
      run: (nodes) => {
        const [file, args] = fm.wrap([
          '--nosyslog', '--nodetach', '--silent',
          '--pidfile', join(fm.home, 'fetchmail.pid'), '--idfile', join(fm.home, 'fetchids'),
          '--protocol', 'ETRN', '--service', String(server.port), '--timeout', '30',
          '--fetchdomains', nodes.join(','), '127.0.0.1',
        ]);
        return runTimed(file, args, { env: fm.env, timeoutMs: 60_000 });
      },
      sessions: () => 1,
      checkOutput: (r) => r.code === 0,
    },
  ];

  const rows: SessionRow[] = [];
  for (const n of [1, 10, 50]) {
    const nodes = nodesFor(n);
    const walls = clients.map(() => [] as number[]);
    const connects = clients.map(() => [] as number[]);
    const tails = clients.map(() => [] as number[]);
    const turns = clients.map(() => [] as number[]);
    const pauses = clients.map(() => [] as number[]);
    for (let rep = n === 1 ? -1 : 0; rep < reps; rep++) {
      for (const [i, c] of clients.entries()) {
        await server.quiesce();
        const r = await c.run(nodes);
        const st = await server.stats();
        const sessions = c.sessions(n);
        if (!c.checkOutput(r, n) || (st.verbs.ETRN ?? 0) !== n || st.connections !== sessions) {
          throw new BenchError(
            `${describeRun(`${c.name} with ${n} node(s)`, r)}\n    server saw ${st.connections} connection(s) (expected ${sessions}), ${st.verbs.ETRN ?? 0} ETRN (expected ${n})`,
          );
        }
        if (rep < 0) continue;
        walls[i]!.push(r.ms);
        if (st.firstAcceptMs !== null) connects[i]!.push(st.firstAcceptMs - r.startMs);
        if (st.lastQuitMs !== null) tails[i]!.push(r.exitMs - st.lastQuitMs);
        if (st.turnMedianMs !== null) turns[i]!.push(st.turnMedianMs);
        if (st.waitMedianMs !== null) pauses[i]!.push(st.waitMedianMs);
      }
    }
    const minIssueMs = (n + 3) * SESSION_DELAY_MS + nodeStartupMs;
    const minWaitedMs = (n + 2) * SESSION_DELAY_MS + nodeStartupMs;
    for (const [i, c] of clients.entries()) {
      const wall = summarize(walls[i]!);
      rows.push({
        nodes: n,
        client: c.name,
        sessions: c.sessions(n),
        wall,
        minIssueMs,
        minWaitedMs,
        vsIssue: ratio(wall.median, minIssueMs),
        vsWaited: ratio(wall.median, minWaitedMs),
        spawnToConnectMs: summarize(connects[i]!).median,
        quitToExitMs: summarize(tails[i]!).median,
        turnMs: round(summarize(turns[i]!).median, 2),
        serverPauseMs: round(summarize(pauses[i]!).median, 2),
        ...(c.name.startsWith('fetchmail') ? { netMs: round(wall.median - namespaceOverhead.median) } : {}),
      });
    }
  }
  await server.close();
  return { reps, delayMs: SESSION_DELAY_MS, nodeStartupMs, namespaceOverhead, fetchmailVersion: fm.version, rows };
}

// ---------------------------------------------------------------- 3. Sendmail

const SENDMAIL_LIMIT_MS = 150_000;

interface SendmailResult {
  readonly version: string;
  readonly nodes: number;
  readonly reps: number;
  readonly defaultWall: Summary;
  /** Default runs that took a second or more (Sendmail's ETRN slowdown can hit the 8th ETRN of a session). */
  readonly defaultSlowRuns: number;
  readonly perSession100: {
    readonly ms: number | null;
    readonly killed: boolean;
    readonly exitCode: number | null;
    readonly accepted: number;
    /** Time from sending each ETRN to its reply, in order (ms); the last may be unanswered (null). */
    readonly etrnReplyMs: (number | null)[];
    readonly error: string | null;
  };
}

async function benchSendmail(reps: number): Promise<SendmailResult> {
  await ensureSendmailLab();
  const sink = await startSink();
  cleanups.push(() => sink.close());
  const lab = await startSendmail({ sinkPort: sink.port });
  cleanups.push(() => lab.stop());
  const nodes = nodesFor(20, 'client.test');
  const target = `127.0.0.1:${lab.port}`;
  const accepted = (r: Timed): number => r.stdout.split('\n').filter((l) => l.includes(': accepted: 250')).length;

  const walls: number[] = [];
  for (let rep = -1; rep < reps; rep++) {
    const r = await runTimed(node, [etrnBin, '--helo', HELO, target, ...nodes], { timeoutMs: 60_000 });
    if (r.code !== 0 || accepted(r) !== nodes.length) throw new BenchError(describeRun('etrn against the Sendmail lab (20 nodes)', r));
    if (rep >= 0) walls.push(r.ms);
  }

  // Once, bounded: Sendmail slows every ETRN after the 8th in one session.
  console.error(`bench: Sendmail, one session of 20 ETRN (--per-session 100): up to ${SENDMAIL_LIMIT_MS / 1000} s`);
  const r = await runTimed(node, [etrnBin, '-v', '--helo', HELO, '--per-session', '100', target, ...nodes], {
    timeoutMs: SENDMAIL_LIMIT_MS,
    timeStderr: true,
  });
  const etrnReplyMs: (number | null)[] = [];
  let sentAt: number | null = null;
  for (const { t, line } of r.stderrLines) {
    if (line.startsWith('-> ETRN ')) {
      if (sentAt !== null) etrnReplyMs.push(null);
      sentAt = t;
    } else if (line.startsWith('<- ') && sentAt !== null) {
      etrnReplyMs.push(round(t - sentAt));
      sentAt = null;
    }
  }
  if (sentAt !== null) etrnReplyMs.push(null);
  const error = r.stderr.split('\n').find((l) => l.startsWith('etrn: ') && !l.endsWith('not sent')) ?? null;
  await lab.stop();
  await sink.close();
  return {
    version: lab.version,
    nodes: nodes.length,
    reps,
    defaultWall: summarize(walls),
    defaultSlowRuns: walls.filter((w) => w >= 1000).length,
    perSession100: { ms: r.timedOut ? null : round(r.ms), killed: r.timedOut, exitCode: r.code, accepted: accepted(r), etrnReplyMs, error },
  };
}

// ---------------------------------------------------------------- 4. --etrn-hosts

const HOSTS_DELAY_MS = 100;

interface HostsRow {
  readonly servers: number;
  readonly jobs: number | null;
  readonly mode: string;
  readonly runs: number;
  readonly wall: Summary;
  /** ceil(servers / jobs) waves × 3 replies × delay + node start-up. */
  readonly idealMs: number;
  readonly vsOne: number;
  readonly rssMb: Summary;
  readonly maxConcurrent: number;
  readonly spawnToConnectMs: number;
  readonly turnMs: number;
}

interface HostsResult {
  readonly delayMs: number;
  /** Peak RSS of `node -e 0`, for reference (MB, median). */
  readonly nodeRssMb: number;
  readonly reps: number;
  readonly refReps: number;
  readonly rows: HostsRow[];
}

async function benchHosts(reps: number, refReps: number, nodeStartupMs: number): Promise<HostsResult> {
  await ensurePackage('time', () => existsSync('/usr/bin/time'));
  const addresses = Array.from({ length: 500 }, (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
  const server = await startServer({ delayMs: HOSTS_DELAY_MS, hosts: addresses, bootResponder: true });
  cleanups.push(() => server.close());
  const dir = await mkdtemp(join(tmpdir(), 'etrn-bench-rss-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const rssFile = join(dir, 'rss');
  const peakRss = async (): Promise<number> => {
    const kb = Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop());
    if (!Number.isFinite(kb) || kb <= 0) throw new BenchError('/usr/bin/time wrote no peak RSS');
    return kb / 1024;
  };
  const nodeRss: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await runTimed('/usr/bin/time', ['-f', '%M', '-o', rssFile, node, '-e', '0'], { timeoutMs: 20_000 });
    if (r.code !== 0) throw new BenchError(describeRun('/usr/bin/time node -e 0', r));
    nodeRss.push(await peakRss());
  }

  interface Case {
    servers: number;
    jobs: number | null;
    mode: string;
    runs: number;
    args: string[];
    bootChecks: number;
  }
  const spec = (count: number): string => addresses.slice(0, count).map((a, i) => `${a}:n${i + 1}.bench.example`).join(' ');
  const hostsCase = (servers: number, jobs: number, runs: number): Case => ({
    servers,
    jobs,
    mode: '--etrn-hosts',
    runs,
    args: ['--etrn-hosts', spec(servers), '--port', String(server.port), '--local-port', String(server.bootPort), '--helo', HELO, '-j', String(jobs)],
    bootChecks: 1,
  });
  const cases: Case[] = [
    { servers: 1, jobs: null, mode: 'command line', runs: reps, args: ['--helo', HELO, `${addresses[0]}:${server.port}`, 'n1.bench.example'], bootChecks: 0 },
    hostsCase(1, 100, reps),
    ...[10, 100, 500].map((n) => hostsCase(n, 100, reps)),
    ...[10, 100, 500].map((n) => hostsCase(n, 16, refReps)),
  ];
  const walls = cases.map(() => [] as number[]);
  const rss = cases.map(() => [] as number[]);
  const concurrency = cases.map(() => 0);
  const connects = cases.map(() => [] as number[]);
  const turns = cases.map(() => [] as number[]);
  for (let rep = -1; rep < reps; rep++) {
    for (const [i, c] of cases.entries()) {
      if (rep >= c.runs || (rep < 0 && c.servers > 1)) continue;
      await server.quiesce();
      const r = await runTimed('/usr/bin/time', ['-f', '%M', '-o', rssFile, node, etrnBin, ...c.args], { timeoutMs: 120_000 });
      const st = await server.stats();
      const label = `etrn ${c.mode} with ${c.servers} server(s)${c.jobs ? ` -j ${c.jobs}` : ''}`;
      if (r.code !== 0 || (st.verbs.ETRN ?? 0) !== c.servers || st.connections !== c.servers || st.bootConnections !== c.bootChecks) {
        throw new BenchError(
          `${describeRun(label, r)}\n    server saw ${st.connections} connection(s), ${st.verbs.ETRN ?? 0} ETRN, ${st.bootConnections} boot check(s) (expected ${c.servers}, ${c.servers}, ${c.bootChecks})`,
        );
      }
      const mb = await peakRss();
      if (rep < 0) continue;
      walls[i]!.push(r.ms);
      rss[i]!.push(mb);
      concurrency[i] = Math.max(concurrency[i]!, st.maxActive);
      if (st.firstAcceptMs !== null) connects[i]!.push(st.firstAcceptMs - r.startMs);
      if (st.turnMedianMs !== null) turns[i]!.push(st.turnMedianMs);
    }
  }
  await server.close();
  const one = summarize(walls[1]!).median;
  return {
    delayMs: HOSTS_DELAY_MS,
    nodeRssMb: round(summarize(nodeRss).median),
    reps,
    refReps,
    rows: cases.map((c, i) => {
      const wall = summarize(walls[i]!);
      const waves = Math.ceil(c.servers / (c.jobs ?? 1));
      return {
        servers: c.servers,
        jobs: c.jobs,
        mode: c.mode,
        runs: walls[i]!.length,
        wall,
        idealMs: round(waves * 3 * HOSTS_DELAY_MS + nodeStartupMs),
        vsOne: ratio(wall.median, one),
        rssMb: summarize(rss[i]!),
        maxConcurrent: concurrency[i]!,
        spawnToConnectMs: summarize(connects[i]!).median,
        turnMs: round(summarize(turns[i]!).median, 2),
      };
    }),
  };
}

// ---------------------------------------------------------------- report

interface Machine {
  readonly nproc: number;
  readonly cpu: string;
  readonly node: string;
  readonly kernel: string;
  readonly date: string;
  readonly etrn: string;
  readonly commit: string;
  readonly srcModified: boolean;
  /** 1-minute load average when the bench started and when it ended: other work on the machine makes the numbers noisy. */
  readonly loadAverage: { start: number; end?: number };
}

function machine(): Machine {
  const git = (args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    node: process.version,
    kernel: `Linux ${release()}`,
    date: new Date().toISOString(),
    etrn: (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version,
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    srcModified: git(['status', '--porcelain', '--', 'src', 'bin', 'scripts']) !== '',
    loadAverage: { start: round(loadavg()[0]!, 2) },
  };
}

interface Target {
  readonly name: string;
  readonly goal: string;
  readonly value: string;
  readonly holds: boolean;
  readonly margin: string;
}

function targets(r: Results): Target[] {
  const out: Target[] = [];
  const pct = (value: number, limit: number): string => `${value <= limit ? 'under' : 'over'} by ${Math.abs(round(((value - limit) / limit) * 100, 0))} %`;
  if (r.startup) {
    out.push({ name: 'start-up: etrn --version / node -e 0', goal: '≤ 1.3', value: `${r.startup.ratio}`, holds: r.startup.ratio <= 1.3, margin: pct(r.startup.ratio, 1.3) });
  }
  if (r.session) {
    const fetchmail = r.session.rows.find((x) => x.nodes === 10 && x.client.startsWith('fetchmail'))!;
    for (const row of r.session.rows.filter((x) => x.nodes === 10 && x.client.startsWith('etrn'))) {
      const fm = fetchmail.netMs ?? fetchmail.wall.median;
      out.push({
        name: `N = 10, ${row.client}: faster than fetchmail`,
        goal: `< ${ms(fm)} ms (fetchmail ${ms(fetchmail.wall.median)} less ${ms(r.session.namespaceOverhead.median)} namespace)`,
        value: `${ms(row.wall.median)} ms`,
        holds: row.wall.median < fm,
        margin: `${row.wall.median < fm ? 'faster' : 'slower'} by ${ms(Math.abs(fm - row.wall.median))} ms (${ratio(row.wall.median, fm)}×)`,
      });
      out.push({
        name: `N = 10, ${row.client}: ≤ 1.15 × one-session minimum (N+3)×50 + start-up`,
        goal: `≤ ${ms(1.15 * row.minIssueMs)} ms`,
        value: `${ms(row.wall.median)} ms = ${row.vsIssue}×`,
        holds: row.vsIssue <= 1.15,
        margin: pct(row.vsIssue, 1.15),
      });
      out.push({
        name: `N = 10, ${row.client}: ≤ 1.15 × (N+2)×50 + start-up (replies etrn waits for)`,
        goal: `≤ ${ms(1.15 * row.minWaitedMs)} ms`,
        value: `${ms(row.wall.median)} ms = ${row.vsWaited}×`,
        holds: row.vsWaited <= 1.15,
        margin: pct(row.vsWaited, 1.15),
      });
    }
  }
  if (r.sendmail) {
    const v = r.sendmail.defaultWall.median;
    out.push({ name: 'Sendmail, 20 nodes, default --per-session 8', goal: '< 1000 ms', value: `${ms(v)} ms`, holds: v < 1000, margin: pct(v, 1000) });
  }
  if (r.hosts) {
    const row = r.hosts.rows.find((x) => x.servers === 100 && x.jobs === 100)!;
    out.push({ name: '--etrn-hosts, 100 servers -j 100 / one server', goal: '≤ 1.5', value: `${row.vsOne}`, holds: row.vsOne <= 1.5, margin: pct(row.vsOne, 1.5) });
    for (const servers of [100, 500]) {
      const worst = Math.max(...r.hosts.rows.filter((x) => x.servers === servers).map((x) => x.rssMb.max));
      out.push({ name: `peak RSS, ${servers} servers (worst run, any -j)`, goal: '≤ 80 MB', value: `${round(worst)} MB`, holds: worst <= 80, margin: pct(worst, 80) });
    }
  }
  return out;
}

interface Results {
  machine: Machine;
  warnings: string[];
  totalSeconds?: number;
  startup?: StartupResult;
  session?: SessionResult;
  sendmail?: SendmailResult;
  hosts?: HostsResult;
  targets?: Target[];
}

function table(header: string[], rows: (string | number)[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function report(r: Results): string {
  const m = r.machine;
  const lines: string[] = [
    `# etrn benchmark, ${m.date}`,
    '',
    `Machine: ${m.nproc} CPU (nproc), ${m.cpu}, ${m.kernel}, node ${m.node}; load average ${m.loadAverage.start} at the start, ${m.loadAverage.end ?? '?'} at the end. etrn ${m.etrn} at ${m.commit}${m.srcModified ? ' (with uncommitted changes in src/, bin/ or scripts/)' : ''}.`,
    'Wall times in ms, medians (min–max) of repeated runs, each from spawn to exit of the measured process.',
  ];
  for (const w of r.warnings) lines.push('', `**Warning:** ${w}`);
  if (r.startup) {
    const s = r.startup;
    lines.push('', `## 1. Start-up (${s.reps} runs each, interleaved)`, '');
    lines.push(...table(['command', 'median', 'min–max', 'ratio to node -e 0'], s.rows.map((x) => [`\`${x.command}\``, ms(x.wall.median), range(x.wall), x.ratio])));
  }
  if (r.session) {
    const s = r.session;
    lines.push(
      '',
      `## 2. One server, ${s.delayMs} ms before every reply (${s.reps} runs each)`,
      '',
      `Minimum for one session: (N+3)×${s.delayMs} + node start-up (${ms(s.nodeStartupMs)}), as in the issue (greeting, EHLO, N ETRN, QUIT), and (N+2)×${s.delayMs} + start-up, the replies etrn waits for (it does not wait for the 221 to QUIT). ` +
        `fetchmail ${s.fetchmailVersion} runs in a private UTS+mount namespace (loopback-only name lookups), which costs ${ms(s.namespaceOverhead.median)} ms by itself (\`unshare … true\`, ${range(s.namespaceOverhead)}); "net" is its median less that. ` +
        'spawn→connect: from spawn to the server accepting; QUIT→exit: from the server reading QUIT to the process exit; ' +
        'turn: from the server writing a reply to the client\'s next command (median, ms: client and loopback cost per reply); server pause: from a command to its reply (the 50 ms plus timer lateness).',
      '',
    );
    lines.push(
      ...table(
        ['N', 'client', 'sessions', 'median', 'min–max', 'net', '(N+3) min', '×', '(N+2) min', '×', 'spawn→connect', 'QUIT→exit', 'turn', 'server pause'],
        s.rows.map((x) => [x.nodes, x.client, x.sessions, ms(x.wall.median), range(x.wall), x.netMs === undefined ? '' : ms(x.netMs), ms(x.minIssueMs), x.vsIssue, ms(x.minWaitedMs), x.vsWaited, ms(x.spawnToConnectMs), ms(x.quitToExitMs), x.turnMs, x.serverPauseMs]),
      ),
    );
  }
  if (r.sendmail) {
    const s = r.sendmail;
    const p = s.perSession100;
    const outcome = p.killed
      ? `> ${SENDMAIL_LIMIT_MS / 1000} s (killed)`
      : `${p.ms === null ? '–' : p.ms >= 10_000 ? ms(p.ms) : `${ms(p.ms)} ms`}, exit ${p.exitCode}, ${p.accepted} of ${s.nodes} accepted${p.error ? `: ${p.error.replace(/^etrn: /, '')}` : ''}`;
    lines.push('', `## 3. Sendmail ${s.version} lab, ${s.nodes} nodes`, '');
    lines.push(
      ...table(
        ['etrn', 'runs', 'median', 'min–max / outcome'],
        [
          [`default --per-session 8 (${Math.ceil(s.nodes / 8)} sessions)`, s.reps, ms(s.defaultWall.median), `${range(s.defaultWall)}; ${s.defaultSlowRuns} of ${s.reps} runs ≥ 1 s`],
          ['--per-session 100 (one session)', 1, p.killed ? `> ${SENDMAIL_LIMIT_MS / 1000} s` : ms(p.ms), outcome],
        ],
      ),
    );
    lines.push('', `ETRN reply times in the one session (ms, in order; – = never answered): ${p.etrnReplyMs.map((x) => (x === null ? '–' : Math.round(x))).join(', ')}`);
  }
  if (r.hosts) {
    const s = r.hosts;
    lines.push(
      '',
      `## 4. --etrn-hosts, one node per server, ${s.delayMs} ms before every reply (${s.reps} runs; -j 16: ${s.refReps})`,
      '',
      `ideal: ceil(servers / jobs) × 3 replies × ${s.delayMs} ms + node start-up. "× one" is against --etrn-hosts with 1 server (boot check included). Peak RSS of the etrn process by /usr/bin/time (%M); \`node -e 0\` peaks at ${s.nodeRssMb} MB. spawn→connect includes the boot check. max concurrent: most sessions open at once, seen by the server. turn: median client turnaround per reply, ms.`,
      '',
    );
    lines.push(
      ...table(
        ['servers', 'mode', '-j', 'runs', 'median', 'min–max', 'ideal', '× one', 'peak RSS MB (median, max)', 'max concurrent', 'spawn→connect', 'turn'],
        s.rows.map((x) => [x.servers, x.mode, x.jobs ?? '', x.runs, ms(x.wall.median), range(x.wall), ms(x.idealMs), x.vsOne, `${round(x.rssMb.median)}, ${round(x.rssMb.max)}`, x.maxConcurrent, ms(x.spawnToConnectMs), x.turnMs]),
      ),
    );
  }
  if (r.targets) {
    lines.push('', '## Targets', '');
    lines.push(...table(['target', 'goal', 'measured', 'holds', 'margin'], r.targets.map((t) => [t.name, t.goal, t.value, t.holds ? 'yes' : '**no**', t.margin])));
  }
  if (r.totalSeconds !== undefined) lines.push('', `Whole bench: ${round(r.totalSeconds, 0)} s.`);
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- main

const SECTIONS = ['startup', 'session', 'sendmail', 'hosts'] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      reps: { type: 'string', default: '7' },
      'startup-reps': { type: 'string', default: '11' },
      'ref-reps': { type: 'string', default: '3' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('Usage: node dist/bench/bench.js [--out FILE] [--reps N] [--startup-reps N] [--ref-reps N] [--only startup,session,sendmail,hosts]');
    return;
  }
  const count = (name: string, text: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 51) throw new BenchError(`--${name} must be a whole number from 1 to 51`);
    return Number(text);
  };
  const reps = count('reps', values.reps);
  const startupReps = count('startup-reps', values['startup-reps']);
  const refReps = Math.min(count('ref-reps', values['ref-reps']), reps);
  const only = new Set(values.only?.split(',') ?? SECTIONS);
  for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new BenchError(`--only: unknown section ${s} (${SECTIONS.join(', ')})`);
  const out = resolve(values.out ?? join(repoRoot, 'bench/results.json'));
  if (process.getuid?.() !== 0) throw new BenchError('run the bench as root: it starts the Sendmail lab and fetchmail in private namespaces, and may install packages');

  const results: Results = { machine: machine(), warnings: [] };
  const stale = await staleBundleWarning();
  if (stale) {
    results.warnings.push(stale);
    console.error(`bench: warning: ${stale}`);
  }
  const step = (what: string): void => {
    checkBudget();
    console.error(`bench: ${what} (${round((performance.now() - benchStart) / 1000, 0)} s)`);
  };

  let nodeStartupMs: number | null = null;
  const nodeStartup = async (): Promise<number> => {
    if (nodeStartupMs === null) {
      step('node start-up');
      const samples: number[] = [];
      for (let i = -1; i < startupReps; i++) {
        const r = await runTimed(node, ['-e', '0'], { timeoutMs: 20_000 });
        if (r.code !== 0) throw new BenchError(describeRun('node -e 0', r));
        if (i >= 0) samples.push(r.ms);
      }
      nodeStartupMs = summarize(samples).median;
    }
    return nodeStartupMs;
  };
  if (only.has('startup')) {
    step('1. start-up');
    results.startup = await benchStartup(startupReps);
    nodeStartupMs = results.startup.nodeMs;
  }
  if (only.has('session')) {
    const startup = await nodeStartup();
    step('2. one server, 50 ms per reply: etrn and fetchmail');
    results.session = await benchSession(reps, startup);
  }
  if (only.has('sendmail')) {
    step('3. Sendmail lab');
    results.sendmail = await benchSendmail(Math.max(reps, startupReps));
  }
  if (only.has('hosts')) {
    const startup = await nodeStartup();
    step('4. --etrn-hosts, 100 ms per reply');
    results.hosts = await benchHosts(reps, refReps, startup);
  }
  results.targets = targets(results);
  results.machine.loadAverage.end = round(loadavg()[0]!, 2);
  if (results.machine.loadAverage.start > results.machine.nproc || results.machine.loadAverage.end > results.machine.nproc) {
    results.warnings.push(`the machine was busy (load average above ${results.machine.nproc}): other processes competed for the CPUs, so the numbers are noisier than usual`);
  }
  results.totalSeconds = round((performance.now() - benchStart) / 1000, 1);
  process.stdout.write(report(results));
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  console.error(`bench: results written to ${out}`);
}

try {
  await main();
  await cleanupAll();
} catch (error) {
  if (stopping) await new Promise(() => undefined); // the signal handler stops everything and exits
  const message = error instanceof BenchError ? error.message : ((error as Error)?.stack ?? String(error));
  console.error(`bench: FAILED: ${message}`);
  await cleanupAll();
  process.exit(1);
}
