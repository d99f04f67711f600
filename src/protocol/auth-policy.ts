// Where a password may go (RFC 4954 §4 and §14, RFC 3207 §6): AUTH is sent
// only on a TLS connection whose certificate verified, unless the user
// accepted less (an unverified certificate, or no TLS at all). The rule is
// the same for every mechanism: CRAM-MD5 and SCRAM do not reveal the
// password, but a man in the middle could still use the session they open.
import { quote } from '../errors.js';
import { MAX_QUOTED_PROBLEM } from '../escape.js';

/** The certificate check of a TLS connection. */
export interface CertificateCheck {
  readonly verified: boolean;
  /** Why it did not verify (null when it did). */
  readonly problem: string | null;
}

/** What the user accepted beyond verified TLS. */
export interface AuthAllowance {
  /** AUTH without TLS, and so over TLS of any kind (--auth-cleartext). */
  readonly allowCleartext?: boolean | undefined;
  /** AUTH over TLS whose certificate did not verify (--tls-insecure). */
  readonly allowUnverified?: boolean | undefined;
}

/**
 * Why AUTH must not be sent on a connection with `certificate` (null: not
 * TLS), or null when it may.
 */
export function authRefusal(certificate: CertificateCheck | null, allowance: AuthAllowance): string | null {
  if (allowance.allowCleartext) return null;
  if (certificate === null) {
    return 'AUTH not sent: the connection is not TLS (the server did not offer STARTTLS, or refused it); --auth-cleartext allows AUTH without TLS';
  }
  if (certificate.verified || allowance.allowUnverified) return null;
  return (
    `AUTH not sent: the server's certificate did not verify: ${quote(certificate.problem ?? 'unknown', MAX_QUOTED_PROBLEM)}; ` +
    'trust its CA (system store or --tls-ca), or use --tls-insecure or --auth-cleartext'
  );
}

/**
 * Whether a failed opportunistic handshake may be retried in clear: not
 * when AUTH is to be sent and the user did not accept it without TLS.
 */
export function mayRetryInClear(auth: AuthAllowance | undefined): boolean {
  return auth === undefined || auth.allowCleartext === true;
}
