// TLS for SMTP (RFC 3207 STARTTLS, RFC 8314 implicit TLS): upgrading a
// connected socket, certificate checks, and what was negotiated. Loaded
// only when a session uses TLS; dialogue.ts and drive.ts are its callers.
import { isIP, type Socket } from 'node:net';
import { type SecureContext, type TLSSocket, connect } from 'node:tls';
import { EtrnError } from '../errors.js';
import type { CertificateCheck } from '../protocol/auth-policy.js';
import { certificateCheck } from './certificate.js';
import { stopReason } from './abort.js';
import { formatSeconds } from './seconds.js';

/** What TLS a session negotiated. */
export interface TlsInfo {
  readonly version: string;
  readonly cipher: string;
  readonly verified: boolean;
}

export interface TlsSettings {
  /** PEM trust anchors replacing the system's (--tls-ca). */
  readonly ca?: string | undefined;
  /** Name to verify the certificate against (--tls-servername); default the server host. */
  readonly servername?: string | undefined;
  /** Verify the certificate and fail the handshake unless it verifies. */
  readonly verify: boolean;
  /**
   * The run's trust anchors as one shared context (transport/trust.ts),
   * built on first use, and the store entries it had to skip (shown with
   * -v); when absent, `ca` or Node's default list is used.
   */
  readonly trust?: (() => Promise<{ readonly context: SecureContext; readonly skipped: readonly string[] }>) | undefined;
}

/**
 * A TLS handshake that did not complete. `kind` is 'tls' for a handshake
 * that failed or timed out, or why the run was stopped during it.
 */
export class TlsError extends EtrnError {
  readonly kind: 'tls' | 'timeout' | 'interrupted';
  constructor(message: string, kind: 'tls' | 'timeout' | 'interrupted' = 'tls') {
    super('ERR_TLS', message);
    this.kind = kind;
  }
}

/** Starts TLS on `socket`; resolves with the TLS socket once the handshake is done. */
export function upgradeToTls(
  socket: Socket,
  host: string,
  settings: TlsSettings,
  timeoutMs: number,
  signal?: AbortSignal,
  secureContext?: SecureContext,
): Promise<TLSSocket> {
  const name = settings.servername ?? host;
  return new Promise((resolve, reject) => {
    const tlsSocket = connect({
      socket,
      host: name,
      // RFC 6066 §3: SNI carries host names only, never addresses.
      servername: isIP(name) === 0 ? name : undefined,
      ...(secureContext ? { secureContext } : { ca: settings.ca, minVersion: 'TLSv1.2' as const }),
      rejectUnauthorized: settings.verify,
    });
    const settle = (error: Error | null): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      tlsSocket.off('secureConnect', onSecure);
      tlsSocket.off('error', onError);
      tlsSocket.off('close', onClose);
      if (error) {
        tlsSocket.on('error', () => undefined);
        tlsSocket.destroy();
        socket.destroy();
        reject(error);
      } else resolve(tlsSocket);
    };
    const onSecure = (): void => settle(null);
    const onError = (error: NodeJS.ErrnoException): void => settle(new TlsError(`TLS handshake failed: ${describeTlsError(error)}`));
    const onClose = (): void => settle(new TlsError('TLS handshake failed: connection closed by server'));
    const onAbort = (): void => {
      const why = stopReason(signal);
      settle(new TlsError(why.message, why.kind));
    };
    const timer = setTimeout(
      () => settle(new TlsError(`TLS handshake timed out after ${formatSeconds(timeoutMs)}`)),
      timeoutMs,
    );
    tlsSocket.once('secureConnect', onSecure);
    tlsSocket.once('error', onError);
    tlsSocket.once('close', onClose);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A secured connection and what it negotiated. */
export interface Secured {
  readonly socket: TLSSocket;
  readonly info: TlsInfo;
  readonly certificate: CertificateCheck;
}

/**
 * Upgrades `socket` (implicit TLS, or after a 220 to STARTTLS) and notes
 * the outcome in the transcript. Rejects with a TlsError.
 */
export async function secure(
  socket: Socket,
  host: string,
  settings: TlsSettings,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  trace: (text: string) => void,
): Promise<Secured> {
  let secured: TLSSocket;
  try {
    const trust = await settings.trust?.();
    for (const entry of trust?.skipped ?? []) trace(`trust store entry skipped: ${entry}`);
    secured = await upgradeToTls(socket, host, settings, timeoutMs, signal, trust?.context);
  } catch (error) {
    const failure = error instanceof TlsError ? error : new TlsError(`TLS could not start: ${String(error)}`);
    if (failure !== error) socket.destroy();
    trace(failure.message);
    throw failure;
  }
  const info = tlsInfo(secured);
  const certificate = certificateCheck(secured);
  const verified = certificate.verified ? 'verified' : `not verified (${certificate.problem ?? 'unknown'})`;
  trace(`TLS established: ${info.version} ${info.cipher}, certificate ${verified}`);
  return { socket: secured, info, certificate };
}

/** OpenSSL's reason ("wrong version number"), or Node's own message (certificate checks). */
export function describeTlsError(error: NodeJS.ErrnoException & { reason?: unknown }): string {
  if (typeof error.reason === 'string' && error.reason !== '') return error.reason;
  const message = error.message.replace(/^.*SSL routines:[^:]*:/s, '').replace(/:\.\.\/deps\/.*$/s, '');
  return error.code && !/^ERR_SSL_/.test(error.code) && !message.includes(error.code) ? `${message} (${error.code})` : message;
}

export function tlsInfo(socket: TLSSocket): TlsInfo {
  return {
    version: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    verified: socket.authorized,
  };
}
