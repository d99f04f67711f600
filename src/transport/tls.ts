// TLS for SMTP (RFC 3207 STARTTLS, RFC 8314 implicit TLS): upgrading a
// connected socket, certificate checks, and what was negotiated. Loaded
// only when a session uses TLS.
import { isIP, type Socket } from 'node:net';
import { type TLSSocket, connect } from 'node:tls';
import type { TlsInfo } from '../result.js';
import { formatSeconds } from './connect.js';

export interface TlsSettings {
  /** PEM trust anchors replacing the system's (--tls-ca). */
  readonly ca?: string | undefined;
  /** Name to verify the certificate against (--tls-servername); default the server host. */
  readonly servername?: string | undefined;
  /** Verify the certificate and fail the handshake unless it verifies. */
  readonly verify: boolean;
}

export class TlsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsError';
  }
}

/** Starts TLS on `socket`; resolves with the TLS socket once the handshake is done. */
export function upgradeToTls(
  socket: Socket,
  host: string,
  settings: TlsSettings,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<TLSSocket> {
  const name = settings.servername ?? host;
  return new Promise((resolve, reject) => {
    const tlsSocket = connect({
      socket,
      host: name,
      // RFC 6066 §3: SNI carries host names only, never addresses.
      servername: isIP(name) === 0 ? name : undefined,
      ca: settings.ca,
      rejectUnauthorized: settings.verify,
      minVersion: 'TLSv1.2',
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
    const onAbort = (): void => settle(new TlsError('interrupted'));
    const timer = setTimeout(
      () => settle(new TlsError(`TLS handshake timed out after ${formatSeconds(timeoutMs)}`)),
      timeoutMs,
    );
    tlsSocket.once('secureConnect', onSecure);
    tlsSocket.once('error', onError);
    tlsSocket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
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
