// The one place etrn starts other programs (postconf, exim -bP, logger):
// without a shell, with an environment that carries no secret (no
// ETRN_PASSWORD; only what a program needs: PATH, LD_LIBRARY_PATH, the C
// locale, TZ, MAIL_CONFIG), and for programs whose output etrn reads, with a time
// limit, a bound on the output and the run's AbortSignal: the program is
// killed (its whole process group) when any of them runs out.
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { errnoCode, errnoText } from './errno-text.js';
import { formatBytes, throwIfStopped } from './bounded-read.js';

/** Bound for each postconf / exim run. */
export const PROGRAM_TIMEOUT_MS = 5_000;
/** Most bytes of output (stdout and stderr together) read from a program. */
export const PROGRAM_OUTPUT_MAX_BYTES = 1024 * 1024;

const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Variables passed on from etrn's environment, when set. */
const PASSED = ['PATH', 'LD_LIBRARY_PATH', 'TZ', 'MAIL_CONFIG'] as const;
/** Variables never passed to a program, even in an environment the caller gave. */
const SECRET = ['ETRN_PASSWORD'] as const;

/**
 * The environment a program gets. From etrn's own environment (`given`
 * undefined: process.env), only PATH, LD_LIBRARY_PATH (for a program
 * installed outside the system's library folders), TZ and MAIL_CONFIG
 * (Postfix's configuration folder); from one the
 * library caller chose, everything but the secrets. Always LC_ALL=C and
 * LANG=C, so messages come in the form etrn parses.
 */
export function childEnvironment(given?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  let env: NodeJS.ProcessEnv;
  if (given === undefined) {
    env = {};
    for (const name of PASSED) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
  } else {
    env = { ...given };
  }
  for (const name of SECRET) delete env[name];
  env.PATH ??= FALLBACK_PATH;
  env.LC_ALL = 'C';
  env.LANG = 'C';
  return env;
}

/** Programs still running, killed if etrn exits first (they run in their own process groups). */
const running = new Set<ChildProcess>();
let exitHook = false;

/** Starts `file args` without a shell in its own process group, with childEnvironment(env). */
export function startProgram(file: string, args: readonly string[], stdio: StdioOptions, env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(file, args, { env: childEnvironment(env), stdio, detached: true, windowsHide: true });
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of running) killProgram(c);
    });
  }
  return child;
}

/** Kills the child's whole process group (a shell script's children too), or the child alone. */
export function killProgram(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

export interface ProgramRun {
  /** The command line, for messages. */
  readonly command: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Why the run failed ("exit status 1: fatal: ..."), or null when it exited 0. */
  readonly failure: string | null;
}

export interface RunProgramOptions {
  /** Base environment (see childEnvironment). Default: etrn's, filtered. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** The run's stop signal: on abort the program is killed and the run rejects with the reason. */
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  readonly maxBytes?: number | undefined;
}

/** The line of a program's stderr that says what went wrong (Exim puts "LOG: ..." headers first). */
export function firstErrorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !/^LOG: /.test(l));
  const first = lines[0] ?? '';
  // "Exim configuration error in line 4 of /etc/exim4/exim4.conf:" is continued on the next line.
  return first.endsWith(':') && lines[1] !== undefined ? `${first} ${lines[1]}` : first;
}

/**
 * Runs `file args` and collects its output. Never rejects for the
 * program's sake (a failure is in `failure`: not found, exit status,
 * killed, no answer in time, too much output); rejects only with the
 * signal's reason when the run is stopped, after killing the program.
 */
export function runProgram(file: string, args: readonly string[], opts: RunProgramOptions = {}): Promise<ProgramRun> {
  const command = [file, ...args].join(' ');
  const timeoutMs = opts.timeoutMs ?? PROGRAM_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? PROGRAM_OUTPUT_MAX_BYTES;
  const signal = opts.signal;
  return new Promise((resolve, reject) => {
    throwIfStopped(signal);
    const child = startProgram(file, args, ['ignore', 'pipe', 'pipe'], opts.env);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (failure: string | null | undefined, stopped?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (stopped !== undefined) reject(stopped);
      else resolve({ command, stdout, stderr, failure: failure === undefined ? null : failure });
    };
    // Killed by etrn: settle at once; a grandchild may still hold the pipes open.
    const kill = (failure: string, stopped?: unknown): void => {
      killProgram(child);
      child.stdout?.destroy();
      child.stderr?.destroy();
      finish(failure, stopped);
    };
    const onAbort = (): void => kill('stopped', signal?.reason ?? new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => kill(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
    const collect = (into: Buffer[]) => (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > maxBytes) kill(`more than ${formatBytes(maxBytes)} of output`);
      else into.push(chunk);
    };
    child.stdout?.on('data', collect(out));
    child.stderr?.on('data', collect(err));
    child.on('error', (error) => {
      const code = errnoCode(error);
      finish(code === 'ENOENT' ? 'no such program' : errnoText(error));
    });
    child.on('close', (code, killedBy) => {
      if (code === 0) return finish(null);
      const status = code !== null ? `exit status ${code}` : `killed by ${killedBy ?? 'a signal'}`;
      const stderr = Buffer.concat(err).toString('utf8');
      const detail = firstErrorLine(stderr) || firstErrorLine(Buffer.concat(out).toString('utf8'));
      finish(detail === '' ? status : `${status}: ${detail}`);
    });
  });
}
