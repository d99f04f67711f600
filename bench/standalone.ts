// Benchmarks that run as a script of their own (one JSON document on
// stdout) and are also part of `npm run bench`: this runs each as a child
// process and keeps its document for the report.
import { fileURLToPath } from 'node:url';
import { BenchError, describeRun, runTimed } from './lib/process.js';
import { node } from './lib/tools.js';

export interface Standalone {
  /** The --only section name. */
  readonly name: string;
  /** The report's heading. */
  readonly title: string;
  /** The script under dist/bench, and its arguments. */
  readonly script: string;
  readonly args: readonly string[];
}

export const STANDALONE: readonly Standalone[] = [
  {
    name: 'hanging',
    title: '300 servers, a third never answer, a third reset (-t 3, default --jobs)',
    script: 'hanging-servers.js',
    args: ['--reps', '3'],
  },
  {
    name: 'scram',
    title: 'SCRAM-SHA-256: 60 servers asking for 1,000,000 PBKDF2 iterations, -j 60 -t 3, a salt each and one shared salt',
    script: 'scram.js',
    args: ['--reps', '3'],
  },
  {
    name: 'atrn',
    title: 'ATRN: growth of etrn\'s resident memory while relaying one 50 MiB message',
    script: 'atrn-memory.js',
    args: ['50'],
  },
];

/** Runs one standalone benchmark and returns its JSON document. */
export async function benchStandalone(bench: Standalone): Promise<unknown> {
  const script = fileURLToPath(new URL(bench.script, import.meta.url));
  const r = await runTimed(node, [script, ...bench.args], { timeoutMs: 15 * 60_000 });
  if (r.code !== 0) throw new BenchError(describeRun(`${bench.script} ${bench.args.join(' ')}`, r));
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch {
    throw new BenchError(`${bench.script}: its output is not one JSON document: ${r.stdout.slice(0, 200)}`);
  }
}
