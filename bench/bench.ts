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
//      -j 100 and the default -j 16, with the peak RSS of etrn;
//   5. the benchmarks that are scripts of their own (standalone.ts: hanging
//      servers, ...), each run as a child process, its JSON kept.
//
// Usage: node dist/bench/bench.js [--out FILE] [--reps N] [--startup-reps N]
//        [--ref-reps N] [--only startup,session,sendmail,hosts,hanging,...]
//   --out: where the JSON goes (default bench/results.json); the markdown
//   report goes to stdout, progress to stderr. --reps (7): runs per
//   measurement; --startup-reps (11): for start-up and the cheap Sendmail
//   runs; --ref-reps (3): for the slow -j 16 reference runs.
// Needs root (Sendmail lab, fetchmail in a private namespace, installs) and
// a built tree (npm run build). Contacts only loopback addresses. Every
// process it starts is stopped before it exits, also on SIGINT/SIGTERM.
//
// One file per benchmark (startup.ts, session.ts, sendmail.ts, hosts.ts),
// the report (report.ts) and shared helpers (lib/); this file runs them.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../test/lab/mta-common.js';
import { benchHosts } from './hosts.js';
import { BenchError, benchStart, checkBudget, cleanupAll, describeRun, runTimed, stopping } from './lib/process.js';
import { round, summarize } from './lib/stats.js';
import { node, staleBundleWarning } from './lib/tools.js';
import { type Results, machine, report, targets } from './report.js';
import { benchSendmail } from './sendmail.js';
import { benchSession } from './session.js';
import { STANDALONE, benchStandalone } from './standalone.js';
import { benchStartup } from './startup.js';

const SECTIONS: readonly string[] = ['startup', 'session', 'sendmail', 'hosts', ...STANDALONE.map((b) => b.name)];

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
    console.log(`Usage: node dist/bench/bench.js [--out FILE] [--reps N] [--startup-reps N] [--ref-reps N] [--only ${SECTIONS.join(',')}]`);
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
  for (const s of only) if (!SECTIONS.includes(s)) throw new BenchError(`--only: unknown section ${s} (${SECTIONS.join(', ')})`);
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
  for (const bench of STANDALONE.filter((b) => only.has(b.name))) {
    step(`5. ${bench.title}`);
    (results.standalone ??= {})[bench.name] = { title: bench.title, command: `node dist/bench/${bench.script} ${bench.args.join(' ')}`, result: await benchStandalone(bench) };
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
