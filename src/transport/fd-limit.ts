// How many sessions may run at once by default: each open session holds one
// socket, so the default follows the process's open-file limit (RLIMIT_NOFILE,
// read from /proc/self/limits on Linux; 256 assumed elsewhere, macOS's
// default), keeping half of it free, within 16..1000.
import { readFileSync } from 'node:fs';

/** The open-file limit assumed where it cannot be read. */
export const ASSUMED_FD_LIMIT = 256;
export const MIN_DEFAULT_JOBS = 16;
export const MAX_DEFAULT_JOBS = 1000;

/** The soft open-file limit of this process, or null when it cannot be read. */
export function openFileLimit(): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'latin1');
  } catch {
    return null;
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m) return null;
  return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]) || null;
}

/** Sessions at once for an open-file limit: half of what is left after 32 for the rest, within 16..1000. */
export function jobsForFdLimit(limit: number | null): number {
  const usable = Math.floor(((limit ?? ASSUMED_FD_LIMIT) - 32) / 2);
  return Math.min(MAX_DEFAULT_JOBS, Math.max(MIN_DEFAULT_JOBS, usable));
}

/** The default of --jobs on this machine. */
export function defaultJobs(): number {
  return jobsForFdLimit(openFileLimit());
}
