// Benchmark 1, start-up: `node bin/etrn.js --version` and a dry run (which
// loads the library) against `node -e 0`, interleaved.
import { repoRoot } from '../test/lab/mta-common.js';
import { BenchError, describeRun, runTimed } from './lib/process.js';
import { type Summary, ratio, summarize } from './lib/stats.js';
import { HELO, etrnBin, node } from './lib/tools.js';

export interface StartupResult {
  readonly reps: number;
  readonly rows: { name: string; command: string; wall: Summary; ratio: number }[];
  readonly nodeMs: number;
  readonly etrnMs: number;
  readonly ratio: number;
}

export async function benchStartup(reps: number): Promise<StartupResult> {
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
