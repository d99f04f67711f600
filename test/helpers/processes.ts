// Polling helpers for tests that watch the processes etrn starts: a pid a
// child script wrote to a file, and whether a process has gone. Bounded:
// they give up after ~10 s and say so.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Waits until `file` holds a pid (the script wrote it), and returns it. */
export async function pidFrom(file: string): Promise<number> {
  for (let i = 0; i < 400; i++) {
    if (existsSync(file)) {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    }
    await sleep(25);
  }
  throw new Error(`no pid in ${file}`);
}

/** True once `pid` is gone (polled: the kernel reaps it a moment after the kill); false after ~10 s. */
export async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(50);
  }
  return false;
}
