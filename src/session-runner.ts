// Running one planned session: resolve the server (once per host), connect
// to each address in turn, optionally start implicit TLS, drive the SMTP
// dialogue, retry once in clear after a failed opportunistic handshake, and
// retry temporary failures (--retries) for the nodes not yet accepted.
import { type Socket, isIP } from 'node:net';
import { formatHostPort } from './names/server.js';
import { ExitCode, exitCodeForKind, exitCodeForNodeReply } from './protocol/outcome.js';
import type { ReplyLimits } from './protocol/reply.js';
import { type AuthOptions, EtrnSession, type TlsMode } from './protocol/session.js';
import type { NodeResult, SessionResult, TlsInfo } from './result.js';
import { type SessionPlan, emptySession } from './plan.js';
import { pause, stopReason } from './transport/abort.js';
import { ConnectError, type Connector, formatSeconds } from './transport/connect.js';
import { type TraceDirection, driveSession } from './transport/drive.js';
import { HostNotFoundError, type ResolvedAddress } from './transport/resolve.js';
import type { TlsSettings } from './transport/tls.js';

export interface SessionContext {
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

/** Whether a node that was not accepted failed temporarily (and is worth asking again). */
function temporary(n: NodeResult, error: SessionResult['error']): boolean {
  if (n.code !== undefined) return exitCodeForNodeReply(n.code) === ExitCode.TEMPFAIL;
  return error !== null && exitCodeForKind(error.kind) === ExitCode.TEMPFAIL;
}

/** Runs a session, retrying the nodes not yet accepted after temporary failures. */
export async function runWithRetries(s: SessionPlan, ctx: SessionContext, retries: number): Promise<SessionResult> {
  let result = await runSession(s, ctx);
  const accepted = new Map<string, NodeResult>();
  for (let attempt = 1; attempt <= retries; attempt++) {
    for (const n of result.nodes) if (n.ok) accepted.set(n.node, n);
    const again = result.nodes.filter((n) => !n.ok && temporary(n, result.error));
    if (again.length === 0) break;
    const wait = Math.min(1000 * 2 ** (attempt - 1), 30_000);
    ctx.trace(s.label)('==', `retrying ${again.length} node(s) in ${formatSeconds(wait)} (attempt ${attempt + 1} of ${retries + 1})`);
    if (!(await pause(wait, ctx.signal))) break;
    const retry = await runSession({ ...s, nodes: again.map((n) => n.node) }, ctx);
    const latest = new Map(retry.nodes.map((n) => [n.node, n]));
    result = {
      ...retry,
      nodes: s.nodes.map((node) => accepted.get(node) ?? latest.get(node) ?? result.nodes.find((n) => n.node === node)!),
    };
  }
  return result;
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
    trace('==', `connected to ${formatHostPort(address, s.port)}`);
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
