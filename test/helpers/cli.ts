// Runs the etrn command-line tool as a child process, as an administrator
// would, and collects its exit status and output.
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/..., compiled by tsc). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const etrnBin = resolve(repoRoot, 'bin/etrn.js');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Kill the child after this many ms (a safety net; tests assert on elapsedMs). */
  killAfterMs?: number;
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
}

export function runEtrn(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [etrnBin, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end(options.input ?? '');
    const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolvePromise({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}
