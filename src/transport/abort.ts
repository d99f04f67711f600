// Why a run was stopped early: a signal from the caller (SIGINT, SIGTERM)
// or the whole-run deadline (--deadline). Both arrive as an aborted
// AbortSignal; the reason tells them apart.
import { EtrnError } from '../errors.js';
import { formatSeconds } from './seconds.js';

/** The reason of the run's AbortSignal when --deadline ran out. */
export class DeadlineReached extends EtrnError {
  readonly deadlineMs: number;
  constructor(deadlineMs: number) {
    super('ERR_DEADLINE', `whole-run deadline of ${formatSeconds(deadlineMs)} reached`);
    this.deadlineMs = deadlineMs;
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
