// --syslog: result lines to the system log (facility mail) through
// logger(1), which speaks to /dev/log or journald whatever the system runs;
// Node has no AF_UNIX datagram sockets of its own. Each line carries its
// own priority (logger --prio-prefix). logger is started by run-program.ts,
// with no secret in its environment.
import { killProgram, startProgram } from '../config/run-program.js';

export type Severity = 'err' | 'warning' | 'info';
const MAIL = 2;
const level: Record<Severity, number> = { err: 3, warning: 4, info: 6 };

export interface SyslogWriter {
  write(severity: Severity, line: string): void;
  /** Flushes and waits for logger to finish; resolves to a problem, or null. */
  close(): Promise<string | null>;
}

/** How long close() waits for logger to take the last lines before it kills it. */
export const SYSLOG_CLOSE_MS = 5_000;

export function openSyslog(tag = 'etrn'): SyslogWriter {
  const child = startProgram('logger', ['--tag', tag, `--id=${process.pid}`, '--prio-prefix'], ['pipe', 'ignore', 'pipe']);
  let problem: string | null = null;
  let stderr = '';
  child.on('error', (error: NodeJS.ErrnoException) => {
    problem = error.code === 'ENOENT' ? 'logger(1) not found: --syslog has no effect' : `logger(1): ${error.message}`;
  });
  const stdin = child.stdin!;
  stdin.on('error', () => undefined);
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    write(severity, line) {
      if (!stdin.destroyed) stdin.write(`<${MAIL * 8 + level[severity]}>${line}\n`);
    },
    async close() {
      stdin.end();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), SYSLOG_CLOSE_MS)));
      if (await Promise.race([done.then(() => false), late])) {
        killProgram(child);
        problem ??= `logger(1) did not finish within ${SYSLOG_CLOSE_MS / 1000} s and was killed`;
      }
      clearTimeout(timer);
      if (!problem && stderr.trim() !== '') problem = `logger(1): ${stderr.trim().split('\n')[0]}`;
      return problem;
    },
  };
}
