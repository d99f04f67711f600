// Running one planned session: resolve the server (once per host), connect
// to each address in turn, hand the connection to the transport's dialogue
// (TLS in every variant lives there), turn the session into a result, and
// retry temporary failures (--retries) for the nodes not yet accepted.
import { type Socket, isIP } from 'node:net';
import { formatHostPort } from '../names/server.js';
import { ExitCode, exitCodeForKind, exitCodeForNodeReply } from '../protocol/outcome.js';
import { type Reply, type ReplyLimits, replyText } from '../protocol/reply.js';
import { type AuthOptions, EtrnSession, type TlsMode } from '../protocol/session.js';
import { type CertificateCheck, mayRetryInClear } from '../protocol/auth-policy.js';
import type { NodeResult, ReplyResult, SessionError, SessionResult } from '../result.js';
import { type SessionPlan, emptySession } from './plan.js';
import { pause, stopReason } from '../transport/abort.js';
import { ConnectError, type Connector } from '../transport/connect.js';
import { type DialogueResult, type DialogueSettings, converse } from '../transport/dialogue.js';
import type { DrivenSession, Trace, TraceDirection } from '../transport/drive.js';
import type { KeyDeriver } from '../transport/key-derivation.js';
import { HostNotFoundError, type ResolvedAddress } from '../transport/resolve.js';
import { formatSeconds } from '../transport/seconds.js';
import type { TlsSettings } from '../transport/tls.js';

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
  /** SCRAM key derivation, cached for the run (transport/key-derivation.ts). */
  readonly deriveKey?: KeyDeriver | undefined;
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

/** A failure before the SMTP dialogue (phase "connect", or "greeting" for a connection reset as it opened). */
function beforeDialogue(kind: SessionError['kind'], message: string, phase: SessionError['phase'] = 'connect'): SessionError {
  return { kind, message, phase, reply: null };
}

/** One SMTP session: resolve, connect (each address in turn), talk. */
async function runSession(s: SessionPlan, ctx: SessionContext): Promise<SessionResult> {
  if (ctx.signal?.aborted) {
    const why = stopReason(ctx.signal);
    return emptySession(s, beforeDialogue(why.kind, `${why.message} before the session started`));
  }
  let addresses: ResolvedAddress[];
  try {
    addresses = await ctx.resolve(s.host);
  } catch (error) {
    const message = error instanceof HostNotFoundError ? error.message : String(error);
    return emptySession(s, beforeDialogue('nohost', message));
  }
  const connected = await connectToAny(s, ctx, addresses);
  if (connected instanceof ConnectError) return emptySession(s, beforeDialogue(connected.kind, connected.message, connected.phase));
  const { socket, address } = connected;
  const dialogue = await converse(socket, etrnSettings(s, ctx, address), ctx.tlsMode);
  return toResult(s, address, dialogue);
}

/** Connects to the first address that answers; the last error when none does. */
export async function connectToAny(
  s: SessionPlan,
  ctx: SessionContext,
  addresses: readonly ResolvedAddress[],
): Promise<{ socket: Socket; address: string } | ConnectError> {
  const trace = ctx.trace(s.label);
  let lastError: ConnectError | null = null;
  for (const { address } of addresses) {
    const where = formatHostPort(address, s.port);
    trace('==', `connecting to ${s.host === address ? where : `${s.host} [${address}]:${s.port}`}`);
    try {
      const socket = await ctx.connector({
        host: address,
        port: s.port,
        localAddress: ctx.sourceAddress,
        timeoutMs: ctx.timeoutMs,
        signal: ctx.signal,
      });
      trace('==', `connected to ${where}`);
      return { socket, address };
    } catch (error) {
      lastError = error instanceof ConnectError ? error : new ConnectError('refused', String(error));
      trace('==', `${where}: ${lastError.message}`);
      if (lastError.kind === 'interrupted') break;
    }
  }
  if (!lastError) return new ConnectError('refused', 'no address to connect to');
  if (addresses.length < 2) return lastError;
  return new ConnectError(lastError.kind, `${lastError.message} (all ${addresses.length} addresses tried)`, lastError.phase);
}

/** Makes the pure session for one connection, given the TLS mode, the certificate check and where its reply lines go. */
export type NewSession<S extends DrivenSession> = (tlsMode: TlsMode, certificate: CertificateCheck | undefined, onLine: (line: string) => void) => S;

/** How to hold a dialogue with one address of the plan's server, for an ETRN or an ATRN session. */
export function dialogueSettings<S extends DrivenSession>(s: SessionPlan, ctx: SessionContext, address: string, newSession: NewSession<S>): DialogueSettings<S> {
  const trace: Trace = ctx.trace(s.label);
  return {
    connector: ctx.connector,
    address,
    port: s.port,
    localAddress: ctx.sourceAddress,
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
    trace,
    tlsHost: isIP(s.host) ? address : s.host,
    tls: ctx.tls,
    deriveKey: ctx.deriveKey,
    retryInClear: mayRetryInClear(ctx.auth),
    newSession: (tlsMode, certificate) => newSession(tlsMode, certificate, (line) => trace('<-', line)),
  };
}

function etrnSettings(s: SessionPlan, ctx: SessionContext, address: string): DialogueSettings<EtrnSession> {
  return dialogueSettings(s, ctx, address, (tlsMode, certificate, onLine) =>
    new EtrnSession({
      heloName: ctx.heloName,
      nodes: s.nodes,
      force: ctx.force,
      delayMs: ctx.delayMs,
      tls: tlsMode,
      auth: ctx.auth,
      replyLimits: ctx.replyLimits,
      onLine,
      certificate,
    }),
  );
}

function replyResult(reply: Reply | null): ReplyResult | null {
  return reply && { code: reply.code, enhanced: reply.enhanced, text: replyText(reply) };
}

/** The session's facts as a result: fields, not sentences. */
function toResult(s: SessionPlan, address: string, dialogue: DialogueResult<EtrnSession>): SessionResult {
  if (dialogue.failure) {
    const { kind, phase, message } = dialogue.failure;
    return { ...emptySession(s, { kind, phase, message, reply: null }), address };
  }
  const { session, tls } = dialogue;
  const failure = session.error;
  return {
    server: s.server,
    port: s.port,
    address,
    tls,
    authenticated: session.authenticated,
    etrnAdvertised: session.etrnAdvertised,
    error: failure && { kind: failure.kind, message: failure.message, phase: failure.phase, reply: replyResult(failure.reply) },
    nodes: session.nodes,
  };
}
