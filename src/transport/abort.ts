// Why a run was stopped early: a signal from the caller (SIGINT, SIGTERM)
// or the whole-run deadline (--deadline). Both arrive as an aborted
// AbortSignal; the reason tells them apart.
import { formatSeconds } from './connect.js';

export class DeadlineReached extends Error {
  constructor(readonly deadlineMs: number) {
    super(`whole-run deadline of ${formatSeconds(deadlineMs)} reached`);
    this.name = 'DeadlineReached';
  }
}

export interface StopReason {
  readonly kind: 'timeout' | 'interrupted';
  readonly message: string;
}

/** Waits `ms`; resolves false at once if (or as soon as) `signal` aborts. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function stopReason(signal: AbortSignal | undefined): StopReason {
  const reason: unknown = signal?.reason;
  if (reason instanceof DeadlineReached) return { kind: 'timeout', message: reason.message };
  return { kind: 'interrupted', message: 'interrupted' };
}
