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

export function stopReason(signal: AbortSignal | undefined): StopReason {
  const reason: unknown = signal?.reason;
  if (reason instanceof DeadlineReached) return { kind: 'timeout', message: reason.message };
  return { kind: 'interrupted', message: 'interrupted' };
}
