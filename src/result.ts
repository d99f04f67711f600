// The result of a run: the same shape as the CLI's --json document
// (../shared/spec/etrn-cli.md, "JSON output"), plus the per-session status.
import type { ErrorKind } from './protocol/outcome.js';
import { exitCodeForKind, exitCodeForNodeReply, worstExitCode } from './protocol/outcome.js';

export interface NodeResult {
  readonly node: string;
  /** The ETRN reply; absent when the command was never answered (and in a dry run). */
  readonly code?: number;
  readonly enhanced?: string | null;
  readonly text?: string;
  /** true: accepted (2xx); false: refused, failed, or never answered; null: dry run. */
  readonly ok: boolean | null;
}

export interface TlsInfo {
  readonly version: string;
  readonly cipher: string;
  readonly verified: boolean;
}

export interface SessionError {
  readonly kind: ErrorKind;
  readonly message: string;
}

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
}

export interface EtrnResult {
  readonly ok: boolean;
  /** sysexits.h status: the most severe over all sessions and nodes. */
  readonly exitCode: number;
  readonly sessions: readonly SessionResult[];
  /** Diagnostics that did not stop the run (skipped class w entries, ...). */
  readonly warnings: readonly string[];
}

/** The status one session gives: its error's, and each refused node's. */
export function sessionExitCode(session: SessionResult): number {
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

/** The result as the --json document (exactly the spec's fields). */
export function toJson(result: EtrnResult): string {
  const doc = {
    ok: result.ok,
    exitCode: result.exitCode,
    sessions: result.sessions.map((s) => ({
      server: s.server,
      port: s.port,
      address: s.address,
      tls: s.tls,
      authenticated: s.authenticated,
      etrnAdvertised: s.etrnAdvertised,
      error: s.error,
      nodes: s.nodes,
    })),
  };
  return JSON.stringify(doc, null, 2);
}
