// One SMTP dialogue on a connected socket, with every TLS variant in one
// path: implicit TLS before the greeting (RFC 8314), STARTTLS inside the
// session (drive.ts, RFC 3207), and the reconnect in clear after a failed
// opportunistic handshake (never when that would send AUTH without TLS). All
// of them honour the same abort signal (caller or whole-run deadline) and the
// per-step timeout. An ATRN session that turns the connection around gets
// the live socket back in the result (`turned`).
import type { SessionPhase, TlsMode } from '../protocol/session.js';
import type { ErrorKind } from '../protocol/outcome.js';
import { formatHostPort } from '../names/server.js';
import { ConnectError, type Connector } from './connect.js';
import { type DrivenSession, type Trace, driveSession } from './drive.js';
import type { KeyDeriver } from './key-derivation.js';
import type { TlsInfo, TlsSettings } from './tls.js';
import type { CertificateCheck } from '../protocol/auth-policy.js';
import type { Socket } from 'node:net';

export interface DialogueSettings<S extends DrivenSession = DrivenSession> {
  readonly connector: Connector;
  /** The address connected to (reconnects go there too) and its port. */
  readonly address: string;
  readonly port: number;
  readonly localAddress: string | undefined;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly trace: Trace;
  /** Host to verify certificates against, and how. */
  readonly tlsHost: string;
  readonly tls: TlsSettings;
  /** Derives SCRAM keys (shared by the sessions of a run). */
  readonly deriveKey?: KeyDeriver | undefined;
  /** A fresh session for a connection in this TLS mode (with implicit TLS, its certificate check). */
  readonly newSession: (tlsMode: TlsMode, certificate?: CertificateCheck) => S;
  /**
   * Whether a failed opportunistic handshake may be retried in clear (not
   * when AUTH is to be sent without --auth-cleartext: protocol/auth-policy.ts).
   */
  readonly retryInClear: boolean;
}

/** A failure before any session could speak (implicit TLS, reconnect). */
export interface TransportFailure {
  readonly kind: ErrorKind;
  readonly phase: SessionPhase;
  readonly message: string;
}

export type DialogueResult<S extends DrivenSession = DrivenSession> =
  | { readonly session: S; readonly tls: TlsInfo | null; readonly failure: null; readonly turned: Socket | null }
  | { readonly session: null; readonly tls: null; readonly failure: TransportFailure };

/** Runs the dialogue in `mode`; never rejects. */
export async function converse<S extends DrivenSession>(
  socket: Socket,
  settings: DialogueSettings<S>,
  mode: TlsMode,
): Promise<DialogueResult<S>> {
  let tls: TlsInfo | null = null;
  let certificate: CertificateCheck | undefined;
  if (mode === 'implicit') {
    const { secure } = await import('./tls.js');
    try {
      const secured = await secure(socket, settings.tlsHost, settings.tls, settings.timeoutMs, settings.signal, (text) =>
        settings.trace('==', text),
      );
      socket = secured.socket;
      tls = secured.info;
      certificate = secured.certificate;
    } catch (error) {
      const kind = (error as { kind?: ErrorKind }).kind ?? 'tls';
      return { session: null, tls: null, failure: { kind, phase: 'tls', message: (error as Error).message } };
    }
  }
  let session: S;
  try {
    session = settings.newSession(mode, certificate);
  } catch (error) {
    socket.destroy(); // a session that cannot be made leaves no socket open
    throw error;
  }
  const { timeoutMs, signal, trace, tlsHost } = settings;
  const { deriveKey } = settings;
  const driven = await driveSession(socket, session, { timeoutMs, signal, trace, tlsHost, tls: settings.tls, tlsInfo: tls, deriveKey });
  if (mode === 'opportunistic' && driven.handshakeFailed && session.error?.kind === 'tls') {
    // What MTAs do: a failed opportunistic handshake is retried once in clear,
    // unless that would send AUTH without TLS.
    if (!settings.retryInClear) {
      const message = `${session.error.message}; not retrying without TLS, where AUTH is not sent (--auth-cleartext allows it)`;
      return { session: null, tls: null, failure: { kind: 'auth', phase: 'tls', message } };
    }
    return retryInClear(settings);
  }
  return { session, tls: driven.tls, failure: null, turned: driven.turned };
}

async function retryInClear<S extends DrivenSession>(settings: DialogueSettings<S>): Promise<DialogueResult<S>> {
  const { trace, address, port } = settings;
  trace('==', 'opportunistic TLS failed; reconnecting without TLS');
  let again: Socket;
  try {
    again = await settings.connector({
      host: address,
      port,
      localAddress: settings.localAddress,
      timeoutMs: settings.timeoutMs,
      signal: settings.signal,
    });
  } catch (error) {
    const e = error instanceof ConnectError ? error : new ConnectError('refused', String(error));
    return { session: null, tls: null, failure: { kind: e.kind, phase: 'connect', message: e.message } };
  }
  trace('==', `connected to ${formatHostPort(address, port)}`);
  return converse(again, settings, 'off');
}
