// Benchmark 4, --etrn-hosts with 10, 100 and 500 servers (127.0.x.y, one
// child process listening on all), one node each, at two -j settings, with
// the peak RSS of etrn.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError, cleanups, describeRun, runTimed } from './lib/process.js';
import { startServer } from './lib/server.js';
import { type Summary, ratio, round, summarize } from './lib/stats.js';
import { HELO, etrnBin, ensurePackage, node } from './lib/tools.js';

export const HOSTS_DELAY_MS = 100;

export interface HostsRow {
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

export interface HostsResult {
  readonly delayMs: number;
  /** Peak RSS of `node -e 0`, for reference (MB, median). */
  readonly nodeRssMb: number;
  readonly reps: number;
  readonly refReps: number;
  readonly rows: HostsRow[];
}

export async function benchHosts(reps: number, refReps: number, nodeStartupMs: number): Promise<HostsResult> {
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
