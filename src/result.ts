// The result of a run: the same shape as the CLI's --json document
// (../shared/spec/etrn-cli.md, "JSON output"), plus the per-session status.
// Facts stay fields (phase, reply, sent); sentences are made by the printer.
import type { ErrorKind } from './protocol/outcome.js';
import type { SessionPhase } from './protocol/session.js';
import type { TlsInfo } from './transport/tls.js';

export type { TlsInfo } from './transport/tls.js';
import { ExitCode, exitCodeForKind, exitCodeForNodeReply, worstExitCode } from './protocol/outcome.js';


export interface NodeResult {
  readonly node: string;
  /** The ETRN reply; absent when the command was never answered (and in a dry run). */
  readonly code?: number;
  readonly enhanced?: string | null;
  readonly text?: string;
  /** true: accepted (2xx); false: refused, failed, or never answered; null: dry run. */
  readonly ok: boolean | null;
  /** Whether the ETRN command was written to the connection. */
  readonly sent: boolean;
}

/** A server's reply as the result shows it. */
export interface ReplyResult {
  readonly code: number;
  readonly enhanced: string | null;
  readonly text: string;
}

export interface SessionError {
  readonly kind: ErrorKind;
  /** What went wrong, without where (see `phase`). */
  readonly message: string;
  /** Where the session failed: connect (before SMTP), greeting, ehlo, ..., quit. */
  readonly phase: SessionPhase;
  /** The server's reply that ended the session, when there was one. */
  readonly reply: ReplyResult | null;
}

/** Why a run failed before any session (usage, configuration, interrupt, output). */
export interface RunError {
  readonly kind: 'usage' | 'config' | 'interrupted' | 'timeout' | 'io' | 'internal';
  readonly message: string;
}

/** The version of the JSON document; changes only when a field changes meaning or goes away. */
export const SCHEMA_VERSION = 1;

export interface SessionResult {
  /** server-host as given (A-label form). */
  readonly server: string;
  readonly port: number;
  /** The address connected to, or null when no connection was made. */
  readonly address: string | null;
  readonly tls: TlsInfo | null;
  readonly authenticated: boolean;
  /** Whether EHLO listed ETRN; null when the session never got that far. */
  readonly etrnAdvertised: boolean | null;
  readonly error: SessionError | null;
  readonly nodes: readonly NodeResult[];
  /** ATRN runs only (RFC 2645): the relay's report. */
  readonly atrn?: AtrnReport | undefined;
}

export interface EtrnResult {
  readonly ok: boolean;
  /** Set when the run failed before any session; `sessions` is then empty. */
  readonly error?: RunError | null | undefined;
  /** sysexits.h status: the most severe over all sessions and nodes. */
  readonly exitCode: number;
  readonly sessions: readonly SessionResult[];
  /** Diagnostics that did not stop the run (skipped class w entries, ...). */
  readonly warnings: readonly string[];
}

/** The status one session gives: its error's, and each refused node's. */
export function sessionExitCode(session: SessionResult): number {
  if (session.atrn) return atrnExitCode(session, session.atrn);
  const codes: number[] = [];
  if (session.error) codes.push(exitCodeForKind(session.error.kind));
  for (const node of session.nodes) {
    if (node.code !== undefined) codes.push(exitCodeForNodeReply(node.code));
  }
  return worstExitCode(codes);
}

export function summarize(sessions: readonly SessionResult[], warnings: readonly string[]): EtrnResult {
  const exitCode = worstExitCode(sessions.map(sessionExitCode));
  return { ok: exitCode === 0, exitCode, sessions, warnings };
}

/** The result of a run that stopped before any session. */
export function failedRun(error: RunError, exitCode: number): EtrnResult {
  return { ok: false, exitCode, error, sessions: [], warnings: [] };
}

/** The result as the --json document (exactly the spec's fields). */
export function toJson(result: EtrnResult): string {
  const doc = {
    schemaVersion: SCHEMA_VERSION,
    ok: result.ok,
    exitCode: result.exitCode,
    error: result.error ?? null,
    sessions: result.sessions.map((s) => ({
      server: s.server,
      port: s.port,
      address: s.address,
      tls: s.tls,
      authenticated: s.authenticated,
      etrnAdvertised: s.etrnAdvertised,
      error: s.error,
      nodes: s.nodes.map((n) => ({ node: n.node, sent: n.sent, code: n.code, enhanced: n.enhanced, text: n.text, ok: n.ok })),
      ...(s.atrn ? { atrn: s.atrn } : {}),
    })),
  };
  return JSON.stringify(doc, null, 2);
}

// The ATRN part of a session's result (RFC 2645 runs only): the domains
// asked for, the ATRN reply, and what became of the messages the provider
// offered over the turned connection. Its exit status: 0 when no mail was
// waiting or every offered message was taken (a refused recipient is the
// provider's to bounce); 75 when any message was deferred or the relay broke
// off before the provider's QUIT; the ETRN rules for everything before.

export interface AtrnMessages {
  readonly offered: number;
  readonly accepted: number;
  readonly refused: number;
  readonly deferred: number;
}

export interface AtrnReport {
  readonly domains: readonly string[];
  /** Where relayed mail went ("localhost:25"). */
  readonly relayTo: string;
  /** Whether EHLO listed ATRN; null when the session never got that far. */
  readonly atrnAdvertised: boolean | null;
  /** Whether the ATRN command was written. */
  readonly sent: boolean;
  /** The provider's reply to ATRN. */
  readonly reply: ReplyResult | null;
  /** 453: nothing was waiting. */
  readonly noMail: boolean;
  /** 250: the connection was turned around and relayed. */
  readonly turned: boolean;
  readonly messages: AtrnMessages;
  /** Recipients the local MTA refused (the provider bounces them). */
  readonly recipientsRefused: number;
  /** Whether the provider ended the relayed session with QUIT. */
  readonly providerQuit: boolean;
  /** Octets of message bodies relayed. */
  readonly bodyBytes: number;
}

export function atrnExitCode(session: SessionResult, atrn: AtrnReport): number {
  const codes: number[] = [];
  if (session.error) codes.push(exitCodeForKind(session.error.kind));
  if (atrn.messages.deferred > 0) codes.push(ExitCode.TEMPFAIL);
  return worstExitCode(codes);
}
