// Whether a TLS connection's certificate verified, and if not, why, in
// words an administrator can act on. The session decides from this whether
// AUTH may be sent (protocol/auth-policy.ts).
import type { TLSSocket } from 'node:tls';
import type { CertificateCheck } from '../protocol/auth-policy.js';

/** OpenSSL's and Node's verification codes, as sentences. */
const reasons: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain (its CA is not trusted)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate: its issuer is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get the local issuer certificate: its CA is not trusted',
  UNABLE_TO_GET_ISSUER_CERT: 'issuer certificate not found',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_REVOKED: 'certificate revoked',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
  INVALID_CA: 'invalid CA certificate',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not carry the server name',
  HOSTNAME_MISMATCH: 'certificate does not carry the server name',
};

/** The certificate check of an established TLS connection. */
export function certificateCheck(socket: TLSSocket): CertificateCheck {
  if (socket.authorized) return { verified: true, problem: null };
  // Node's types say Error; at run time it is the code (a string).
  const raw: unknown = socket.authorizationError;
  const code = typeof raw === 'string' ? raw : raw instanceof Error ? ((raw as NodeJS.ErrnoException).code ?? raw.message) : 'unknown';
  return { verified: false, problem: describeCertificateProblem(code) };
}

/** "self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)"; an unknown code as it is. */
export function describeCertificateProblem(code: string): string {
  const reason = reasons[code];
  return reason ? `${reason} (${code})` : code;
}
