// A run: the options (options.ts), the plan made from them before anything
// is sent (plan.ts), and its execution (execute.ts: boot check, sessions with
// bounded concurrency, one result per session; session-runner.ts for ETRN,
// atrn-runner.ts for ATRN). This index is what the CLI and the package use.
export * from './options.js';
export { dryRunResult, plan } from './plan.js';
export type { Plan, SessionPlan } from './plan.js';
export { etrn, runPlan } from './execute.js';
export { DeadlineReached } from '../transport/abort.js';
