// Benchmark 2, one slow server: a server that waits 50 ms before every
// reply, N = 1, 10, 50 nodes; etrn with the default --per-session and with
// one session, against the protocol minimum and fetchmail's ETRN mode.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labEnv, makeNamespace } from '../test/lab/mta-common.js';
import { BenchError, type Timed, cleanups, describeRun, runTimed } from './lib/process.js';
import { startServer } from './lib/server.js';
import { type Summary, nodesFor, ratio, round, summarize } from './lib/stats.js';
import { HELO, etrnBin, ensurePackage, node, onPath } from './lib/tools.js';

export const SESSION_DELAY_MS = 50;

export interface SessionRow {
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

export interface SessionResult {
  readonly reps: number;
  readonly delayMs: number;
  readonly nodeStartupMs: number;
  readonly namespaceOverhead: Summary;
  readonly fetchmailVersion: string;
  readonly rows: SessionRow[];
}

export interface Fetchmail {
  /** [file, args] that run fetchmail with `args` inside the namespace. */
  readonly wrap: (args: string[]) => [string, string[]];
  /** The same namespace around /bin/true, to measure what it costs by itself. */
  readonly wrapTrue: () => [string, string[]];
  readonly env: NodeJS.ProcessEnv;
  /** fetchmail's HOME: pid file and id file go there. */
  readonly home: string;
  readonly version: string;
}

export async function fetchmailSetup(): Promise<Fetchmail> {
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

export async function benchSession(reps: number, nodeStartupMs: number): Promise<SessionResult> {
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
