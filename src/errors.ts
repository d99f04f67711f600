// Error classes of etrn: one base class with a stable `code`, subclasses for
// the caller's mistakes (usage, configuration) and for the peer's (protocol).
// The transport's errors (connect, TLS, host not found, deadline) extend the
// same base in src/transport/. Session failures against a server are
// reported as results, not thrown; see run/execute.ts.

/** Stable machine-readable error codes. */
export type EtrnErrorCode =
  | 'ERR_USAGE'
  | 'ERR_INVALID_NAME'
  | 'ERR_CONFIG'
  | 'ERR_PROTOCOL'
  | 'ERR_LOCAL_PROTOCOL'
  | 'ERR_CONNECT'
  | 'ERR_TLS'
  | 'ERR_HOST_NOT_FOUND'
  | 'ERR_DEADLINE'
  | 'ERR_OUTPUT'
  | 'ERR_AUTH';

import { quote } from './escape.js';

/** Quotes input for a one-line message (escaped and cut, see escape.ts). */
export { quote };

export class EtrnError extends Error {
  readonly code: EtrnErrorCode;
  constructor(code: EtrnErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad command line or library options (exit 64). */
export class UsageError extends EtrnError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/** A node or server name that cannot be sent (exit 64). `input` is the offending text, `reason` why. */
export class InvalidNameError extends EtrnError {
  readonly input: string;
  readonly reason: string;
  constructor(input: string, reason: string) {
    super('ERR_INVALID_NAME', `invalid name ${quote(input)}: ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/** A configuration file that is unreadable or malformed (exit 78). */
export class ConfigError extends EtrnError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  constructor(message: string, file?: string, line?: number) {
    const where = file === undefined ? '' : line === undefined ? `${file}: ` : `${file}:${line}: `;
    super('ERR_CONFIG', `${where}${message}`);
    this.file = file;
    this.line = line;
  }
}

/** The server broke the SMTP protocol: a reply that is not SMTP, or over a limit. */
export class RemoteProtocolError extends EtrnError {
  constructor(message: string) {
    super('ERR_PROTOCOL', message);
  }
}

/** The caller asked the protocol core for something it cannot do (a bug in the caller). */
export class LocalProtocolError extends EtrnError {
  constructor(message: string) {
    super('ERR_LOCAL_PROTOCOL', message);
  }
}

/** The result could not be written (stdout closed or full: exit 74). */
export class OutputError extends EtrnError {
  constructor(message: string) {
    super('ERR_OUTPUT', message);
  }
}

/**
 * Authentication failed in a way the mechanism itself detected: the server
 * did not prove it knows the password (SCRAM), or it refused the proof in its
 * final message. A session that meets one ends with kind "auth" (exit 77).
 */
export class AuthenticationError extends EtrnError {
  constructor(message: string) {
    super('ERR_AUTH', message);
  }
}
