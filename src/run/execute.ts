// The library entry point: plan (plan.ts), run the boot check, then run
// every session with bounded concurrency (session-runner.ts) and collect
// one result per session. A failing server is a result, never a rejection.
import { setMaxListeners } from 'node:events';
import type { TlsSettings } from '../transport/tls.js';
import type { ErrorKind } from '../protocol/outcome.js';
import { type EtrnOptions, defaults } from './options.js';
import { type Plan, dryRunResult, emptySession, plan } from './plan.js';
import { type EtrnResult, summarize } from '../result.js';
import { type SessionContext, runWithRetries } from './session-runner.js';
import { DeadlineReached, stopReason } from '../transport/abort.js';
import { waitForLocalMta } from '../transport/boot-check.js';
import { formatHostPort } from '../names/server.js';
import { type Connector, tcpConnector } from '../transport/connect.js';
import type { TraceDirection } from '../transport/drive.js';
import { defaultJobs } from '../transport/fd-limit.js';
import { cachingDeriver, deriveKey, derivationSlots, limitedDeriver } from '../transport/key-derivation.js';
import { type ResolvedAddress, systemResolver } from '../transport/resolve.js';
import { formatSeconds } from '../transport/seconds.js';

/** Runs etrn: the whole tool, without the command line. The deadline covers planning (file reads, MTA queries) too. */
export async function etrn(options: EtrnOptions): Promise<EtrnResult> {
  return withRunSignal(options, async (o) => {
    const p = await plan(o);
    return o.dryRun ? dryRunResult(p) : runPlan(p, o);
  });
}

/** Runs the sessions of a plan made by plan() with the same options. */
export async function runPlan(p: Plan, options: EtrnOptions): Promise<EtrnResult> {
  return withRunSignal(options, (o) => execute(p, o));
}

/** Calls `fn` with one signal for both ways a run is cut short: the caller's, and the deadline. */
async function withRunSignal<T>(options: EtrnOptions, fn: (options: EtrnOptions) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  // Every open session listens to it: hundreds at once are expected.
  setMaxListeners(0, stop.signal);
  const forward = (): void => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) forward();
  options.signal?.addEventListener('abort', forward, { once: true });
  const deadline =
    options.deadlineMs === undefined
      ? undefined
      : setTimeout(() => stop.abort(new DeadlineReached(options.deadlineMs!)), options.deadlineMs);
  try {
    return await fn({ ...options, signal: stop.signal });
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', forward);
  }
}

type Tracer = SessionContext['trace'];

async function execute(p: Plan, options: EtrnOptions): Promise<EtrnResult> {
  const connector = options.connector ?? tcpConnector;
  const trace: Tracer = (session) => (direction: TraceDirection, text: string) =>
    options.onTrace?.({ session, direction, text });
  if (p.bootCheck) {
    const failed = await bootCheck(p, options, connector, trace);
    if (failed) return failed;
  }
  const context = sessionContext(p, options, connector, trace);
  const retries = options.retries ?? defaults.retries;
  const relayTo = p.relayTo;
  const sessions = relayTo
    ? await mapConcurrent(p.sessions, options.jobs ?? defaultJobs(), async (s) => (await import('./atrn-runner.js')).runAtrnSession(s, context, relayTo))
    : await mapConcurrent(p.sessions, options.jobs ?? defaultJobs(), (s) => runWithRetries(s, context, retries));
  return summarize(sessions, p.warnings);
}

/** Waits for the local MTA; the run's result when it never came up (or the run was stopped), else null. */
async function bootCheck(p: Plan, options: EtrnOptions, connector: Connector, trace: Tracer): Promise<EtrnResult | null> {
  // ATRN: the local MTA that will receive the relayed mail is the one to wait for.
  const relayHost = p.relayTo && p.relayTo.host !== 'localhost' ? [p.relayTo.host] : undefined;
  const localPort = p.relayTo?.port ?? options.localPort ?? defaults.localPort;
  const waitMs = options.bootWaitMs ?? defaults.bootWaitMs;
  const where = formatHostPort(relayHost?.[0] ?? 'localhost', localPort);
  const boot = await waitForLocalMta({
    ...(relayHost ? { hosts: relayHost } : {}),
    port: localPort,
    waitMs,
    timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
    connector,
    signal: options.signal,
    trace: trace(where),
  });
  if (boot.ok) return null;
  const stopped = options.signal?.aborted ? stopReason(options.signal) : null;
  const kind: ErrorKind = stopped ? stopped.kind : 'timeout';
  const message = stopped
    ? `${stopped.message} during the boot check; server not contacted`
    : `local MTA on ${where} did not answer with 220 within ${formatSeconds(waitMs)} (${boot.reason}); server not contacted`;
  const error = { kind, message, phase: 'connect', reply: null } as const;
  return summarize(p.sessions.map((s) => emptySession(s, error)), p.warnings);
}

/** What every session shares: transport, resolver cache, settings. */
function sessionContext(p: Plan, options: EtrnOptions, connector: Connector, trace: Tracer): SessionContext {
  const resolver = options.resolver ?? systemResolver;
  const lookups = new Map<string, Promise<ResolvedAddress[]>>();
  const resolve = (host: string): Promise<ResolvedAddress[]> => {
    let found = lookups.get(host);
    if (!found) {
      found = resolver(host, p.family);
      lookups.set(host, found);
    }
    return found;
  };
  return {
    heloName: p.heloName,
    connector,
    resolve,
    timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
    delayMs: options.delayMs ?? defaults.delayMs,
    force: options.force ?? false,
    tlsMode: options.tls ?? 'opportunistic',
    // --tls-insecure also accepts AUTH over TLS whose certificate did not verify.
    auth: options.auth && { ...options.auth, allowUnverified: options.auth.allowUnverified || options.tlsInsecure },
    deriveKey: options.auth ? cachingDeriver(limitedDeriver(deriveKey, derivationSlots(), options.signal)) : undefined,
    tls: {
      ca: p.tlsCa,
      servername: options.tlsServername,
      verify: (options.tls === 'required' || options.tls === 'implicit') && !options.tlsInsecure,
      trust: runTrust(p.tlsCa),
    },
    sourceAddress: options.sourceAddress,
    replyLimits: options.replyLimits,
    signal: options.signal,
    trace,
  };
}

/** The run's trust anchors, built by the first TLS handshake and shared by the others (transport/trust.ts). */
function runTrust(tlsCa: string | undefined): NonNullable<TlsSettings['trust']> {
  let built: ReturnType<NonNullable<TlsSettings['trust']>> | undefined;
  return () => (built ??= import('../transport/trust.js').then((t) => t.buildTrust(tlsCa)));
}

/** Maps with at most `limit` calls running at once, keeping the input order. */
async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
