// The options of a run and their defaults: what the library takes, what the
// CLI fills in from the command line. Types and constants only.
import type { Mta } from '../config/mta-discovery.js';
import type { TraceDirection } from '../transport/drive.js';
import type { ReplyLimits } from '../protocol/reply.js';
import type { AuthOptions, TlsMode } from '../protocol/session.js';
import type { Connector } from '../transport/connect.js';
import type { Resolver } from '../transport/resolve.js';

export interface EtrnTarget {
  /** "host", "host:port", "192.0.2.7", "[2001:db8::7]:587". */
  readonly server: string;
  /** client-hosts; empty or absent: discovery (this host's names). */
  readonly nodes?: readonly string[] | undefined;
}

export interface TraceEvent {
  /** Which session: "host:port", with "#n" when a server has several. */
  readonly session: string;
  readonly direction: TraceDirection;
  readonly text: string;
}

export interface EtrnOptions {
  /** One server (with `nodes`), or several `targets`. */
  readonly server?: string | undefined;
  readonly nodes?: readonly string[] | undefined;
  readonly targets?: readonly EtrnTarget[] | undefined;
  /** Server port when server-host has none. Default 25. */
  readonly port?: number | undefined;
  /** Wait for the local MTA first. Default: on when any target uses discovery. */
  readonly bootCheck?: boolean | undefined;
  readonly localPort?: number | undefined;
  readonly bootWaitMs?: number | undefined;
  /** EHLO name; default this host's fully qualified name. */
  readonly heloName?: string | undefined;
  readonly family?: 4 | 6 | undefined;
  readonly sourceAddress?: string | undefined;
  readonly retries?: number | undefined;
  /** Connection and per-reply deadline. Default 30 s. */
  readonly timeoutMs?: number | undefined;
  readonly delayMs?: number | undefined;
  readonly force?: boolean | undefined;
  /** Default 'opportunistic'. */
  readonly tls?: TlsMode | undefined;
  /** File of PEM trust anchors replacing the system's (transport/trust.ts: OpenSSL's store plus Node's roots). */
  readonly tlsCaFile?: string | undefined;
  /** Name the certificate must match; default server-host. */
  readonly tlsServername?: string | undefined;
  /** Do not verify the certificate, even with --tls required; AUTH is then sent over TLS that did not verify. */
  readonly tlsInsecure?: boolean | undefined;
  /**
   * SMTP AUTH before ETRN, sent only over TLS whose certificate verified
   * unless `tlsInsecure` (or auth.allowUnverified) or auth.allowCleartext;
   * with tls 'off' it needs allowCleartext (a UsageError otherwise).
   */
  readonly auth?: AuthOptions | undefined;
  readonly dryRun?: boolean | undefined;
  readonly sendmailCf?: string | undefined;
  /** Where discovery asks: 'auto' (default; sendmail when sendmailCf is given), or one MTA. */
  readonly mta?: 'auto' | Mta | undefined;
  /** Whole-run deadline: sessions still running then are ended (kind "timeout"). */
  readonly deadlineMs?: number | undefined;
  /**
   * Sessions at once. Default: from the open-file limit, half of it less 32
   * for other files, within 16..1000 (1000 with `ulimit -n` 20000, 496 with
   * 1024), so that servers that never answer hold up no others.
   */
  readonly jobs?: number | undefined;
  /** Most ETRN commands in one session. Default 8. */
  readonly perSession?: number | undefined;
  readonly replyLimits?: Partial<ReplyLimits> | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onTrace?: ((event: TraceEvent) => void) | undefined;
  /** Transport and resolver, for tests and embedding. */
  readonly connector?: Connector | undefined;
  readonly resolver?: Resolver | undefined;
  /**
   * On-Demand Mail Relay (RFC 2645): AUTH, then ATRN for the nodes; after
   * 250 the provider's SMTP session is relayed to `relayTo`. Default port 366.
   */
  readonly atrn?: boolean | undefined;
  /** "HOST[:PORT]" of the local MTA that receives ATRN mail; default localhost on `localPort`. */
  readonly relayTo?: string | undefined;
  /** This host's name (discovery and default EHLO name); default from the system. */
  readonly fqdn?: string | undefined;
}

/** Most servers (targets) in one run, and most nodes for one server. */
export const MAX_SERVERS = 1000;
export const MAX_NODES_PER_SERVER = 1000;

export const defaults = Object.freeze({
  port: 25,
  /** RFC 2645 §3: the ODMR port. */
  atrnPort: 366,
  localPort: 25,
  bootWaitMs: 30_000,
  timeoutMs: 30_000,
  delayMs: 0,
  retries: 0,
  perSession: 8,
});
