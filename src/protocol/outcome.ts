// What replies and failures mean for the administrator: RFC 1985 §5 reply
// codes, the error kinds of the JSON schema, and their sysexits.h statuses.

/** sysexits.h statuses used by etrn. */
export const ExitCode = Object.freeze({
  OK: 0,
  USAGE: 64,
  NOHOST: 68,
  UNAVAILABLE: 69,
  TEMPFAIL: 75,
  PROTOCOL: 76,
  NOPERM: 77,
  CONFIG: 78,
  /** An internal error (a bug). */
  SOFTWARE: 70,
  /** The result could not be written to stdout. */
  IOERR: 74,
  /** 128 + SIGINT: the run was interrupted. */
  INTERRUPTED: 130,
  /** 128 + SIGTERM: the run was terminated. */
  TERMINATED: 143,
});
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Why a session failed. `refused`: the connection was refused, reset or
 * closed early, or the server said 421 or another 4xx; `timeout`: connect or
 * reply deadline; `protocol`: the server broke SMTP; `unavailable`: no ETRN
 * service (not advertised, 554 greeting, EHLO and HELO refused); `tls`,
 * `auth`: transport security; `nohost`: the name did not resolve; `config`:
 * local configuration; `interrupted`: the run was stopped by a signal.
 */
export type ErrorKind =
  | 'timeout'
  | 'refused'
  | 'protocol'
  | 'unavailable'
  | 'tls'
  | 'auth'
  | 'nohost'
  | 'config'
  | 'interrupted';

const kindExit: Record<ErrorKind, ExitCodeValue> = {
  timeout: ExitCode.TEMPFAIL,
  refused: ExitCode.TEMPFAIL,
  protocol: ExitCode.PROTOCOL,
  unavailable: ExitCode.UNAVAILABLE,
  tls: ExitCode.UNAVAILABLE,
  auth: ExitCode.NOPERM,
  nohost: ExitCode.NOHOST,
  config: ExitCode.CONFIG,
  interrupted: ExitCode.INTERRUPTED,
};

export function exitCodeForKind(kind: ErrorKind): ExitCodeValue {
  return kindExit[kind];
}

/** RFC 1985 §5: 250 (started), 251 (already started), 252 (no messages), 253 (N messages). */
export function isAccepted(code: number): boolean {
  return code >= 250 && code <= 253;
}

/** The status a node's ETRN reply code gives: 459 and 5xx refusals, other 4xx temporary. */
export function exitCodeForNodeReply(code: number): ExitCodeValue {
  if (isAccepted(code)) return ExitCode.OK;
  if (code === 459 || code >= 500) return ExitCode.UNAVAILABLE;
  return ExitCode.TEMPFAIL;
}

// Most severe first (spec: 76 > 77 > 69 > 68 > 75); usage and config errors
// stop a run before any session, interruption outranks all.
const severity: readonly number[] = [
  ExitCode.SOFTWARE,
  ExitCode.TERMINATED,
  ExitCode.INTERRUPTED,
  ExitCode.IOERR,
  ExitCode.USAGE,
  ExitCode.CONFIG,
  ExitCode.PROTOCOL,
  ExitCode.NOPERM,
  ExitCode.UNAVAILABLE,
  ExitCode.NOHOST,
  ExitCode.TEMPFAIL,
  ExitCode.OK,
];

/** The most severe of several statuses (0 for none). */
export function worstExitCode(codes: Iterable<number>): number {
  let worst: number = ExitCode.OK;
  for (const code of codes) {
    if (severity.indexOf(code) < severity.indexOf(worst)) worst = code;
  }
  return worst;
}

/** The status for a stopping signal: 130 for SIGINT, 143 for SIGTERM. */
export function exitCodeForSignal(signal: string): ExitCodeValue {
  return signal === 'SIGINT' ? ExitCode.INTERRUPTED : ExitCode.TERMINATED;
}
