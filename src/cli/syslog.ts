// --syslog: result lines to the system log (facility mail) through
// logger(1), which speaks to /dev/log or journald whatever the system runs;
// Node has no AF_UNIX datagram sockets of its own. Each line carries its
// own priority (logger --prio-prefix).
import { spawn } from 'node:child_process';

export type Severity = 'err' | 'warning' | 'info';
const MAIL = 2;
const level: Record<Severity, number> = { err: 3, warning: 4, info: 6 };

export interface SyslogWriter {
  write(severity: Severity, line: string): void;
  /** Flushes and waits for logger to finish; resolves to a problem, or null. */
  close(): Promise<string | null>;
}

export function openSyslog(tag = 'etrn'): SyslogWriter {
  const child = spawn('logger', ['--tag', tag, `--id=${process.pid}`, '--prio-prefix'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let problem: string | null = null;
  let stderr = '';
  child.on('error', (error: NodeJS.ErrnoException) => {
    problem = error.code === 'ENOENT' ? 'logger(1) not found: --syslog has no effect' : `logger(1): ${error.message}`;
  });
  child.stdin.on('error', () => undefined);
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    write(severity, line) {
      if (!child.stdin.destroyed) child.stdin.write(`<${MAIL * 8 + level[severity]}>${line}\n`);
    },
    async close() {
      child.stdin.end();
      await done;
      if (!problem && stderr.trim() !== '') problem = `logger(1): ${stderr.trim().split('\n')[0]}`;
      return problem;
    },
  };
}
