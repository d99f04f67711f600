// Benchmark for issue 11 item 5: 300 servers where a third never answer, a
// third reset and a third accept (test/helpers/hanging-fleet.ts, 127.0.x.y
// on one port, in this process), `etrn -t 3 --etrn-hosts ...` with otherwise
// default options (the boot check, on with --etrn-hosts, probes a local
// responder). Reports wall time and the peak RSS of the etrn process
// (/usr/bin/time %M) against the targets: wall <= 2 x timeout, RSS <= 80 MB.
// Not a test: it fails only when a run goes wrong (a status other than 75,
// a node missing), never because a target is missed.
//
// Usage: node dist/bench/hanging-servers.js [--servers 300] [--timeout 3]
//        [--reps 3] [--jobs N]   (default --jobs: etrn's own default)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { etrnBin } from '../test/helpers/cli.js';
import { startFleet } from '../test/helpers/hanging-fleet.js';

interface Run {
  readonly code: number | null;
  readonly wallMs: number;
  readonly rssMb: number;
  readonly nodes: number;
}

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '300' },
    timeout: { type: 'string', default: '3' },
    reps: { type: 'string', default: '3' },
    jobs: { type: 'string' },
  },
});
const servers = Number(values.servers);
const timeoutS = Number(values.timeout);
const reps = Number(values.reps);

async function runOnce(args: string[], rssFile: string): Promise<Run> {
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, etrnBin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(killer);
  const wallMs = performance.now() - started;
  if (stderr !== '') throw new Error(`etrn wrote to stderr with --json:\n${stderr.slice(0, 2000)}`);
  const doc = JSON.parse(stdout) as { sessions: { nodes: unknown[] }[] };
  const kb = Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop());
  return { code, wallMs, rssMb: kb / 1024, nodes: doc.sessions.reduce((n, s) => n + s.nodes.length, 0) };
}

async function main(): Promise<void> {
  if (!existsSync('/usr/bin/time')) throw new Error('needs /usr/bin/time (apt-get install time)');
  const fleet = await startFleet(servers);
  const dir = await mkdtemp(join(tmpdir(), 'etrn-bench-hang-'));
  try {
    const spec = fleet.addresses.map((a, i) => `${a}:n${i}.bench.example`).join(' ');
    const args = ['--json', '-t', String(timeoutS), '-p', String(fleet.port), '--local-port', String(fleet.boot.port), '--helo', 'bench.example'];
    if (values.jobs) args.push('-j', values.jobs);
    args.push('--etrn-hosts', spec);
    const runs: Run[] = [];
    for (let i = 0; i < reps; i++) {
      const run = await runOnce(args, join(dir, 'rss'));
      if (run.code !== 75 || run.nodes !== servers) throw new Error(`run ${i + 1}: exit ${run.code}, ${run.nodes} of ${servers} nodes reported`);
      runs.push(run);
      process.stderr.write(`run ${i + 1}: ${Math.round(run.wallMs)} ms, ${run.rssMb.toFixed(1)} MB\n`);
    }
    const walls = runs.map((r) => r.wallMs).sort((a, b) => a - b);
    const rss = runs.map((r) => r.rssMb).sort((a, b) => a - b);
    const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;
    const report = {
      servers,
      timeoutS,
      jobs: values.jobs ?? 'default',
      reps,
      wallMs: { median: Math.round(median(walls)), max: Math.round(walls[walls.length - 1]!), target: timeoutS * 2000 },
      rssMb: { median: Math.round(median(rss) * 10) / 10, max: Math.round(rss[rss.length - 1]! * 10) / 10, target: 80 },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await fleet.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
