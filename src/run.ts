// The library entry point: validate everything, plan the sessions, run the
// boot check, then run every session (bounded concurrency, retries) and
// collect one result per session. Usage and configuration errors are thrown
// before anything is sent; a failing server is a result, never a rejection.
import { ConfigError, UsageError } from './errors.js';
import { DEFAULT_SENDMAIL_CF, localFqdn } from './config/discovery.js';
import type { Mta } from './config/mta-discovery.js';
import { normalizeDomain, normalizeNodes } from './names/node.js';
import { isLocalhostName } from './config/sendmail-cf.js';
import { formatHostPort, parseServer } from './names/server.js';
import type { ErrorKind } from './protocol/outcome.js';
import type { ReplyLimits } from './protocol/reply.js';
import { type AuthOptions, EtrnSession, type TlsMode } from './protocol/session.js';
import { type EtrnResult, type NodeResult, type SessionResult, type TlsInfo, summarize } from './result.js';
import type { TlsSettings } from './transport/tls.js';
import { readFile } from 'node:fs/promises';
import { type Socket, isIP } from 'node:net';
import { waitForLocalMta } from './transport/boot-check.js';
import { ConnectError, type Connector, formatSeconds, tcpConnector } from './transport/connect.js';
import { type TraceDirection, driveSession } from './transport/drive.js';
import { DeadlineReached, stopReason } from './transport/abort.js';
import { HostNotFoundError, type ResolvedAddress, type Resolver, systemResolver } from './transport/resolve.js';

export interface EtrnTarget {
  /** "host", "host:port", "192.0.2.7", "[2001:db8::7]:587". */
  readonly server: string;
  /** client-hosts; empty or absent: discovery (this host's names). */
  readonly nodes?: readonly string[] | undefined;
}

export interface TraceEvent {
  /** Which session: "host:port", with "#n" when a server has several. */
  readonly session: string;
  readonly direction: TraceDirection;
  readonly text: string;
}

export interface EtrnOptions {
  /** One server (with `nodes`), or several `targets`. */
  readonly server?: string | undefined;
  readonly nodes?: readonly string[] | undefined;
  readonly targets?: readonly EtrnTarget[] | undefined;
  /** Server port when server-host has none. Default 25. */
  readonly port?: number | undefined;
  /** Wait for the local MTA first. Default: on when any target uses discovery. */
  readonly bootCheck?: boolean | undefined;
  readonly localPort?: number | undefined;
  readonly bootWaitMs?: number | undefined;
  /** EHLO name; default this host's fully qualified name. */
  readonly heloName?: string | undefined;
  readonly family?: 4 | 6 | undefined;
  readonly sourceAddress?: string | undefined;
  readonly retries?: number | undefined;
  /** Connection and per-reply deadline. Default 30 s. */
  readonly timeoutMs?: number | undefined;
  readonly delayMs?: number | undefined;
  readonly force?: boolean | undefined;
  /** Default 'opportunistic'. */
  readonly tls?: TlsMode | undefined;
  /** File of PEM trust anchors replacing the system's. */
  readonly tlsCaFile?: string | undefined;
  /** Name the certificate must match; default server-host. */
  readonly tlsServername?: string | undefined;
  /** Do not verify the certificate, even with --tls required. */
  readonly tlsInsecure?: boolean | undefined;
  /** SMTP AUTH before ETRN; refused without TLS unless allowCleartext. */
  readonly auth?: AuthOptions | undefined;
  readonly dryRun?: boolean | undefined;
  readonly sendmailCf?: string | undefined;
  /** Where discovery asks: 'auto' (default; sendmail when sendmailCf is given), or one MTA. */
  readonly mta?: 'auto' | Mta | undefined;
  /** Whole-run deadline: sessions still running then are ended (kind "timeout"). */
  readonly deadlineMs?: number | undefined;
  /** Sessions at once. Default 16. */
  readonly jobs?: number | undefined;
  /** Most ETRN commands in one session. Default 8. */
  readonly perSession?: number | undefined;
  readonly replyLimits?: Partial<ReplyLimits> | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onTrace?: ((event: TraceEvent) => void) | undefined;
  /** Transport and resolver, for tests and embedding. */
  readonly connector?: Connector | undefined;
  readonly resolver?: Resolver | undefined;
  /** This host's name (discovery and default EHLO name); default from the system. */
  readonly fqdn?: string | undefined;
}

/** Most servers (targets) in one run, and most nodes for one server. */
export const MAX_SERVERS = 1000;
export const MAX_NODES_PER_SERVER = 1000;

export const defaults = Object.freeze({
  port: 25,
  localPort: 25,
  bootWaitMs: 30_000,
  timeoutMs: 30_000,
  delayMs: 0,
  retries: 0,
  jobs: 16,
  perSession: 8,
});

/** One planned SMTP session: a server and the nodes it gets. */
export interface SessionPlan {
  readonly server: string;
  readonly host: string;
  readonly port: number;
  readonly nodes: readonly string[];
  /** Trace label. */
  readonly label: string;
}

export interface Plan {
  readonly sessions: readonly SessionPlan[];
  /** The MTA discovery asked, when it was used. */
  readonly discoveredFrom: Mta | null;
  readonly tlsCa: string | undefined;
  readonly bootCheck: boolean;
  readonly heloName: string;
  readonly warnings: readonly string[];
}

function checkInteger(name: string, value: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}`);
  }
}

function checkDuration(name: string, value: number | undefined, allowZero: boolean): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new UsageError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds`);
  }
}

/**
 * Validates the options and works out every session, reading discovery
 * sources as needed. Sends nothing. Throws UsageError, InvalidNameError or
 * ConfigError.
 */
export async function plan(options: EtrnOptions): Promise<Plan> {
  checkInteger('port', options.port, 1, 65535);
  checkInteger('local port', options.localPort, 1, 65535);
  checkInteger('jobs', options.jobs, 1, 10_000);
  checkInteger('per-session', options.perSession, 1, 10_000);
  checkInteger('retries', options.retries, 0, 100);
  checkDuration('timeout', options.timeoutMs, false);
  checkDuration('boot wait', options.bootWaitMs, true);
  checkDuration('delay', options.delayMs, true);
  checkDuration('deadline', options.deadlineMs, false);
  const targets: readonly EtrnTarget[] =
    options.targets ?? (options.server !== undefined ? [{ server: options.server, nodes: options.nodes }] : []);
  if (targets.length === 0) throw new UsageError('no server-host given');
  if (targets.length > MAX_SERVERS) throw new UsageError(`too many servers: ${targets.length} (at most ${MAX_SERVERS})`);
  for (const t of targets) {
    if ((t.nodes?.length ?? 0) > MAX_NODES_PER_SERVER) {
      throw new UsageError(`too many client-hosts for ${t.server}: ${t.nodes!.length} (at most ${MAX_NODES_PER_SERVER})`);
    }
  }

  const tlsModes: readonly string[] = ['off', 'opportunistic', 'required', 'implicit'];
  if (options.tls !== undefined && !tlsModes.includes(options.tls)) {
    throw new UsageError(`TLS mode must be one of ${tlsModes.join(', ')}`);
  }
  if (options.tlsServername !== undefined) normalizeDomain(options.tlsServername, 'TLS server name');
  if (options.auth) {
    const bad = /[\u0000-\u001f\u007f]/;
    if (options.auth.user === '' || bad.test(options.auth.user)) throw new UsageError('AUTH user name is empty or has control characters');
    if (options.auth.password === '' || options.auth.password.includes('\u0000')) throw new UsageError('AUTH password is empty or has a NUL byte');
  }
  let tlsCa: string | undefined;
  if (options.tlsCaFile !== undefined) {
    try {
      tlsCa = await readFile(options.tlsCaFile, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read TLS trust anchors: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, options.tlsCaFile);
    }
    if (!tlsCa.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('no PEM certificate in TLS trust anchors', options.tlsCaFile);
  }
  const parsed = targets.map((t) => ({ server: parseServer(t.server), nodes: normalizeNodes(t.nodes ?? []) }));
  const fqdn = options.fqdn ?? (await localFqdn());
  const heloName = normalizeDomain(options.heloName ?? fqdn, 'EHLO name');
  const warnings: string[] = [];
  let discovered: string[] | undefined;
  let discoveredFrom: Mta | null = null;
  const discover = async (): Promise<string[]> => {
    if (discovered) return discovered;
    const found = await discoverNodes(options, fqdn);
    warnings.push(...found.warnings);
    discoveredFrom = found.mta;
    discovered = found.nodes;
    return discovered;
  };

  const perSession = options.perSession ?? defaults.perSession;
  const sessions: SessionPlan[] = [];
  let usesDiscovery = false;
  for (const target of parsed) {
    let nodes = target.nodes;
    if (nodes.length === 0) {
      usesDiscovery = true;
      nodes = await discover();
    }
    const port = target.server.port ?? options.port ?? defaults.port;
    const base = formatHostPort(target.server.host, port);
    const chunks = Math.ceil(nodes.length / perSession);
    for (let i = 0; i < chunks; i++) {
      sessions.push({
        server: target.server.host,
        host: target.server.host,
        port,
        nodes: nodes.slice(i * perSession, (i + 1) * perSession),
        label: chunks > 1 ? `${base}#${i + 1}` : base,
      });
    }
  }
  return { sessions, discoveredFrom, tlsCa, bootCheck: options.bootCheck ?? usesDiscovery, heloName, warnings };
}

/** The names this host accepts mail for, from the MTA `options.mta` names (or the one installed). */
async function discoverNodes(options: EtrnOptions, fqdn: string): Promise<{ mta: Mta; nodes: string[]; warnings: string[] }> {
  const cf = options.sendmailCf ?? DEFAULT_SENDMAIL_CF;
  const { detectMta, discoverPostfixNodes, discoverEximNodes } = await import('./config/mta-discovery.js');
  let mta = options.mta ?? 'auto';
  if (mta === 'auto') {
    const found = options.sendmailCf !== undefined ? 'sendmail' : await detectMta({ sendmailCf: cf });
    if (!found) {
      throw new ConfigError(
        'no local MTA found to ask for names (looked for postconf, exim4/exim and /etc/mail/sendmail.cf); give client-hosts or --mta',
      );
    }
    mta = found;
  }
  let names: string[];
  let warnings: string[];
  if (mta === 'sendmail') {
    const { discoverSendmailNodes } = await import('./config/discovery.js');
    const found = await discoverSendmailNodes(cf, fqdn);
    names = found.nodes;
    warnings = found.warnings.map((w) => `${w.file}${w.line ? `:${w.line}` : ''}: ${w.message}`);
  } else {
    const found = mta === 'postfix' ? await discoverPostfixNodes() : await discoverEximNodes();
    names = [fqdn, ...found.nodes];
    warnings = [...found.warnings];
  }
  const seen = new Set<string>();
  const nodes = names.filter((n) => {
    const key = n.toLowerCase();
    if (seen.has(key) || isLocalhostName(n)) return false;
    seen.add(key);
    return true;
  });
  if (nodes.length === 0) throw new ConfigError(`discovery (${mta}) found no names to ask for`);
  return { mta, nodes, warnings };
}

/** The ETRN commands a plan would send, as the dry run reports them. */
export function dryRunResult(p: Plan): EtrnResult {
  return summarize(
    p.sessions.map((s) => emptySession(s, null, s.nodes.map((node) => ({ node, ok: null })))),
    p.warnings,
  );
}

function emptySession(s: SessionPlan, error: SessionResult['error'], nodes?: NodeResult[]): SessionResult {
  return {
    server: s.server,
    port: s.port,
    address: null,
    tls: null,
    authenticated: false,
    etrnAdvertised: null,
    error,
    nodes: nodes ?? s.nodes.map((node) => ({ node, ok: false })),
  };
}

/** Runs etrn: the whole tool, without the command line. */
export async function etrn(options: EtrnOptions): Promise<EtrnResult> {
  const p = await plan(options);
  return options.dryRun ? dryRunResult(p) : runPlan(p, options);
}

/** Runs the sessions of a plan made by plan() with the same options. */
export async function runPlan(p: Plan, options: EtrnOptions): Promise<EtrnResult> {
  // One signal for both ways a run is cut short: the caller's, the deadline.
  const stop = new AbortController();
  const forward = (): void => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) forward();
  options.signal?.addEventListener('abort', forward, { once: true });
  const deadline =
    options.deadlineMs === undefined
      ? undefined
      : setTimeout(() => stop.abort(new DeadlineReached(options.deadlineMs!)), options.deadlineMs);
  try {
    return await execute(p, { ...options, signal: stop.signal });
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', forward);
  }
}

async function execute(p: Plan, options: EtrnOptions): Promise<EtrnResult> {
  const connector = options.connector ?? tcpConnector;
  const timeoutMs = options.timeoutMs ?? defaults.timeoutMs;
  const trace = (session: string) => (direction: TraceDirection, text: string) =>
    options.onTrace?.({ session, direction, text });

  if (p.bootCheck) {
    const localPort = options.localPort ?? defaults.localPort;
    const waitMs = options.bootWaitMs ?? defaults.bootWaitMs;
    const boot = await waitForLocalMta({
      port: localPort,
      waitMs,
      timeoutMs,
      connector,
      signal: options.signal,
      trace: trace(`localhost:${localPort}`),
    });
    if (!boot.ok) {
      const stopped = options.signal?.aborted ? stopReason(options.signal) : null;
      const error = {
        kind: (stopped ? stopped.kind : 'timeout') as ErrorKind,
        message: stopped
          ? `${stopped.message} during the boot check; server not contacted`
          : `local MTA on localhost:${localPort} did not answer with 220 within ${formatSeconds(waitMs)} (${boot.reason}); server not contacted`,
      };
      return summarize(p.sessions.map((s) => emptySession(s, error)), p.warnings);
    }
  }

  const resolver = options.resolver ?? systemResolver;
  const lookups = new Map<string, Promise<ResolvedAddress[]>>();
  const resolve = (host: string): Promise<ResolvedAddress[]> => {
    let found = lookups.get(host);
    if (!found) {
      found = resolver(host, options.family);
      lookups.set(host, found);
    }
    return found;
  };
  const context: SessionContext = {
    heloName: p.heloName,
    connector,
    resolve,
    timeoutMs,
    delayMs: options.delayMs ?? defaults.delayMs,
    force: options.force ?? false,
    tlsMode: options.tls ?? 'opportunistic',
    auth: options.auth,
    tls: {
      ca: p.tlsCa,
      servername: options.tlsServername,
      verify: (options.tls === 'required' || options.tls === 'implicit') && !options.tlsInsecure,
    },
    sourceAddress: options.sourceAddress,
    replyLimits: options.replyLimits,
    signal: options.signal,
    trace,
  };
  const retries = options.retries ?? defaults.retries;
  const sessions = await mapConcurrent(p.sessions, options.jobs ?? defaults.jobs, (s) =>
    runWithRetries(s, context, retries),
  );
  return summarize(sessions, p.warnings);
}

interface SessionContext {
  readonly heloName: string;
  readonly connector: Connector;
  readonly resolve: (host: string) => Promise<ResolvedAddress[]>;
  readonly timeoutMs: number;
  readonly delayMs: number;
  readonly force: boolean;
  readonly tlsMode: TlsMode;
  readonly tls: TlsSettings;
  readonly auth: AuthOptions | undefined;
  readonly sourceAddress: string | undefined;
  readonly replyLimits: Partial<ReplyLimits> | undefined;
  readonly signal: AbortSignal | undefined;
  readonly trace: (session: string) => (direction: TraceDirection, text: string) => void;
}

const TEMPORARY: ReadonlySet<ErrorKind> = new Set<ErrorKind>(['refused', 'timeout']);

/** Runs a session, retrying the nodes not yet accepted after temporary failures. */
async function runWithRetries(s: SessionPlan, ctx: SessionContext, retries: number): Promise<SessionResult> {
  let result = await runSession(s, ctx);
  const accepted = new Map<string, NodeResult>();
  for (let attempt = 1; attempt <= retries; attempt++) {
    for (const n of result.nodes) if (n.ok) accepted.set(n.node, n);
    const again = result.nodes.filter(
      (n) =>
        !n.ok &&
        (n.code === undefined ? result.error !== null && TEMPORARY.has(result.error.kind) : n.code >= 400 && n.code < 500 && n.code !== 459),
    );
    if (again.length === 0) break;
    const pause = Math.min(1000 * 2 ** (attempt - 1), 30_000);
    ctx.trace(s.label)('==', `retrying ${again.length} node(s) in ${formatSeconds(pause)} (attempt ${attempt + 1} of ${retries + 1})`);
    if (!(await sleep(pause, ctx.signal))) break;
    const retry = await runSession({ ...s, nodes: again.map((n) => n.node) }, ctx);
    const latest = new Map(retry.nodes.map((n) => [n.node, n]));
    result = {
      ...retry,
      nodes: s.nodes.map((node) => accepted.get(node) ?? latest.get(node) ?? result.nodes.find((n) => n.node === node)!),
    };
  }
  return result;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(true), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(false);
    }, { once: true });
  });
}

/** One SMTP session: resolve, connect (each address in turn), drive the protocol. */
async function runSession(s: SessionPlan, ctx: SessionContext): Promise<SessionResult> {
  const trace = ctx.trace(s.label);
  if (ctx.signal?.aborted) {
    const why = stopReason(ctx.signal);
    return emptySession(s, { kind: why.kind, message: `${why.message} before the session started` });
  }
  let addresses: ResolvedAddress[];
  try {
    addresses = await ctx.resolve(s.host);
  } catch (error) {
    const message = error instanceof HostNotFoundError ? error.message : String(error);
    return emptySession(s, { kind: 'nohost', message });
  }
  let lastError: ConnectError | null = null;
  for (const { address } of addresses) {
    const where = formatHostPort(address, s.port);
    trace('==', `connecting to ${s.host === address ? where : `${s.host} [${address}]:${s.port}`}`);
    let socket;
    try {
      socket = await ctx.connector({
        host: address,
        port: s.port,
        localAddress: ctx.sourceAddress,
        timeoutMs: ctx.timeoutMs,
        signal: ctx.signal,
      });
    } catch (error) {
      lastError = error instanceof ConnectError ? error : new ConnectError('refused', String(error));
      trace('==', `${where}: ${lastError.message}`);
      if (lastError.kind === 'interrupted') break;
      continue;
    }
    trace('==', `connected to ${where}`);
    return speak(s, ctx, socket, address, ctx.tlsMode);
  }
  const error = lastError ?? new ConnectError('refused', 'no address to connect to');
  const message = addresses.length > 1 ? `${error.message} (all ${addresses.length} addresses tried)` : error.message;
  return emptySession(s, { kind: error.kind, message: `${message} (while connecting)` });
}

/** Runs the SMTP dialogue on a connected socket; retries once in clear when opportunistic TLS fails. */
async function speak(
  s: SessionPlan,
  ctx: SessionContext,
  socket: Socket,
  address: string,
  tlsMode: TlsMode,
): Promise<SessionResult> {
  const trace = ctx.trace(s.label);
  let tlsInfo: TlsInfo | null = null;
  const tlsHost = isIP(s.host) ? address : s.host;
  if (tlsMode === 'implicit') {
    const tls = await import('./transport/tls.js');
    try {
      const secured = await tls.upgradeToTls(socket, tlsHost, ctx.tls, ctx.timeoutMs, ctx.signal);
      tlsInfo = tls.tlsInfo(secured);
      trace('==', `TLS established: ${tlsInfo.version} ${tlsInfo.cipher}, certificate ${tlsInfo.verified ? 'verified' : 'not verified'}`);
      socket = secured;
    } catch (error) {
      return { ...emptySession(s, { kind: 'tls', message: `${(error as Error).message} (while starting implicit TLS)` }), address };
    }
  }
  const session = new EtrnSession({
    heloName: ctx.heloName,
    nodes: s.nodes,
    force: ctx.force,
    delayMs: ctx.delayMs,
    tls: tlsMode,
    auth: ctx.auth,
  });
  const driven = await driveSession(socket, session, {
    timeoutMs: ctx.timeoutMs,
    limits: ctx.replyLimits,
    signal: ctx.signal,
    trace,
    tlsHost,
    tls: ctx.tls,
    tlsInfo,
  });
  const failure = session.error;
  if (failure?.kind === 'tls' && driven.handshakeFailed && tlsMode === 'opportunistic') {
    // What MTAs do: a failed opportunistic handshake is retried once in clear.
    trace('==', 'opportunistic TLS failed; reconnecting without TLS');
    let again: Socket;
    try {
      again = await ctx.connector({ host: address, port: s.port, localAddress: ctx.sourceAddress, timeoutMs: ctx.timeoutMs, signal: ctx.signal });
    } catch (error) {
      const e = error instanceof ConnectError ? error : new ConnectError('refused', String(error));
      return { ...emptySession(s, { kind: e.kind, message: `${e.message} (while reconnecting without TLS)` }), address };
    }
    return speak(s, ctx, again, address, 'off');
  }
  return {
    server: s.server,
    port: s.port,
    address,
    tls: driven.tls,
    authenticated: session.authenticated,
    etrnAdvertised: session.etrnAdvertised,
    error: failure ? { kind: failure.kind, message: `${failure.message} (while ${failure.phase})` } : null,
    nodes: session.nodes,
  };
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

