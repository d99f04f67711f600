// Planning a run: validate every option and name, read the discovery
// sources, and split the nodes into sessions, all before anything is sent
// (usage and configuration errors are thrown from here).
import { ConfigError, UsageError } from '../errors.js';
import { quote } from '../escape.js';
import { CONFIG_FILE_MAX_BYTES, readRegularFile } from '../config/bounded-read.js';
import { DEFAULT_SENDMAIL_CF, localFqdn } from '../config/class-w-discovery.js';
import type { Mta } from '../config/mta-discovery.js';
import { formatDiagnostic } from '../config/diagnostic.js';
import { isLocalOrLiteral } from '../config/local-names.js';
import { normalizeDomain, normalizeNodes, uniqueNames } from '../names/node.js';
import { formatHostPort, parseServer } from '../names/server.js';
import { ATRN_LINE_MAX } from '../protocol/atrn.js';
import { prepareCredentials } from '../protocol/sasl.js';
import { type EtrnOptions, type EtrnTarget, MAX_NODES_PER_SERVER, MAX_SERVERS, defaults } from './options.js';
import { type EtrnResult, type NodeResult, type SessionResult, summarize } from '../result.js';

/** One planned SMTP session: a server and the nodes it gets. */
export interface SessionPlan {
  readonly server: string;
  readonly host: string;
  readonly port: number;
  readonly nodes: readonly string[];
  /** Trace label. */
  readonly label: string;
}

export interface Plan {
  readonly sessions: readonly SessionPlan[];
  /** The MTA discovery asked, when it was used. */
  readonly discoveredFrom: Mta | null;
  readonly tlsCa: string | undefined;
  readonly bootCheck: boolean;
  readonly heloName: string;
  /** The address family to resolve server names to: -4/-6, else --source's, else both. */
  readonly family: 4 | 6 | undefined;
  readonly warnings: readonly string[];
  /** ATRN runs: where relayed mail goes. */
  readonly relayTo?: { readonly host: string; readonly port: number } | undefined;
}

function checkInteger(name: string, value: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}`);
  }
}

function checkDuration(name: string, value: number | undefined, allowZero: boolean): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new UsageError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds`);
  }
}

/**
 * Validates the options and works out every session, reading discovery
 * sources as needed. Sends nothing. Throws UsageError, InvalidNameError or
 * ConfigError.
 */
export async function plan(options: EtrnOptions): Promise<Plan> {
  const targets = checkOptions(options);
  const tlsCa = options.tlsCaFile === undefined ? undefined : await readTlsCa(options.tlsCaFile, options.signal);
  const parsed = targets.map((t) => ({ server: parseServer(t.server), nodes: normalizeNodes(t.nodes ?? []) }));
  const family = await checkSource(options, parsed.map((t) => t.server.host));
  // This host's name is looked up only when needed (no --helo, or discovery).
  let fqdn = options.fqdn;
  const hostName = async (): Promise<string> => (fqdn ??= await localFqdn(undefined, options.signal));
  const heloName = normalizeDomain(options.heloName ?? (await hostName()), 'EHLO name');
  const discovery = new DiscoveryOnce(options, hostName);
  const sessions: SessionPlan[] = [];
  const perServer = new NodeCount();
  for (const target of parsed) {
    const discovered = target.nodes.length === 0;
    const nodes = discovered ? await discovery.nodes() : target.nodes;
    const port = target.server.port ?? options.port ?? (options.atrn ? defaults.atrnPort : defaults.port);
    perServer.add(formatHostPort(target.server.host, port).toLowerCase(), nodes.length, discovered ? discovery.mta : null);
    sessions.push(
      ...(options.atrn
        ? splitAtrnSessions(target.server.host, port, nodes)
        : splitSessions(target.server.host, port, nodes, options.perSession ?? defaults.perSession)),
    );
  }
  const relayTo = options.atrn ? planRelayTo(options) : undefined;
  return {
    sessions,
    discoveredFrom: discovery.mta,
    tlsCa,
    bootCheck: options.bootCheck ?? discovery.used,
    heloName,
    family,
    warnings: discovery.warnings,
    ...(relayTo ? { relayTo } : {}),
  };
}

/** Checks every option that needs no file or name lookup; returns the targets. */
function checkOptions(options: EtrnOptions): readonly EtrnTarget[] {
  checkInteger('port', options.port, 1, 65535);
  checkInteger('local port', options.localPort, 1, 65535);
  checkInteger('jobs', options.jobs, 1, 10_000);
  checkInteger('per-session', options.perSession, 1, 10_000);
  checkInteger('retries', options.retries, 0, 100);
  checkDuration('timeout', options.timeoutMs, false);
  checkDuration('boot wait', options.bootWaitMs, true);
  checkDuration('delay', options.delayMs, true);
  checkDuration('deadline', options.deadlineMs, false);
  const targets: readonly EtrnTarget[] =
    options.targets ?? (options.server !== undefined ? [{ server: options.server, nodes: options.nodes }] : []);
  if (targets.length === 0) throw new UsageError('no server-host given');
  if (targets.length > MAX_SERVERS) throw new UsageError(`too many servers: ${targets.length} (at most ${MAX_SERVERS})`);
  for (const t of targets) {
    if ((t.nodes?.length ?? 0) > MAX_NODES_PER_SERVER) {
      throw new UsageError(`too many client-hosts for ${t.server}: ${t.nodes!.length} (at most ${MAX_NODES_PER_SERVER})`);
    }
  }
  const tlsModes: readonly string[] = ['off', 'opportunistic', 'required', 'implicit'];
  if (options.tls !== undefined && !tlsModes.includes(options.tls)) {
    throw new UsageError(`TLS mode must be one of ${tlsModes.join(', ')}`);
  }
  if (options.tlsServername !== undefined) normalizeDomain(options.tlsServername, 'TLS server name');
  if (options.auth) {
    const bad = /[\u0000-\u001f\u007f]/;
    if (options.auth.user === '' || bad.test(options.auth.user)) throw new UsageError('AUTH user name is empty or has control characters');
    // RFC 8265 OpaqueString (SASLprep's successor): refused before any connection.
    prepareCredentials(options.auth);
    if (options.tls === 'off' && !options.auth.allowCleartext) {
      throw new UsageError('--tls off with --auth-user would send AUTH without TLS: add --auth-cleartext to allow it');
    }
  }
  return targets;
}

/** ATRN: the local MTA relayed mail goes to; RFC 2645 §4 also requires AUTH. */
function planRelayTo(options: EtrnOptions): { host: string; port: number } {
  if (!options.auth) throw new UsageError('--atrn needs --auth-user: RFC 2645 allows ATRN only after AUTH');
  if (options.relayTo === undefined) return { host: 'localhost', port: options.localPort ?? defaults.localPort };
  let parsed;
  try {
    parsed = parseServer(options.relayTo);
  } catch {
    throw new UsageError(`--relay-to must be HOST[:PORT], not ${quote(options.relayTo)}`);
  }
  return { host: parsed.host, port: parsed.port ?? options.localPort ?? defaults.localPort };
}

/** The PEM trust anchors of --tls-ca (a regular file of at most CONFIG_FILE_MAX_BYTES). */
async function readTlsCa(file: string, signal: AbortSignal | undefined): Promise<string> {
  const { text: pem } = await readRegularFile(file, { what: 'TLS trust anchors', maxBytes: CONFIG_FILE_MAX_BYTES, signal });
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('no PEM certificate in TLS trust anchors', file);
  return pem;
}

/**
 * The client-hosts per server, over every target that names it (ETRN_HOSTS
 * may name a server in several groups) and every source: the command line,
 * ETRN_HOSTS, discovery. Past MAX_NODES_PER_SERVER: 78 when discovery
 * supplied names (the MTA's configuration holds them), else 64.
 */
class NodeCount {
  private readonly counts = new Map<string, { n: number; discovered: Mta | null }>();

  add(server: string, n: number, discovered: Mta | null): void {
    const was = this.counts.get(server) ?? { n: 0, discovered: null };
    const now = { n: was.n + n, discovered: was.discovered ?? discovered };
    this.counts.set(server, now);
    if (now.n <= MAX_NODES_PER_SERVER) return;
    const message = `too many client-hosts for ${server}: ${now.n} (at most ${MAX_NODES_PER_SERVER})`;
    if (now.discovered) throw new ConfigError(`${message}; discovery (${now.discovered}) found the names`);
    throw new UsageError(message);
  }
}

/** Checks --source (see source-address.ts); returns the family to resolve names to. */
async function checkSource(options: EtrnOptions, servers: readonly string[]): Promise<4 | 6 | undefined> {
  const source = options.sourceAddress;
  if (source === undefined) return options.family;
  const { checkServerFamily, checkSourceBindable, sourceFamily } = await import('../transport/source-address.js');
  const family = sourceFamily(source, options.family);
  for (const server of servers) checkServerFamily(source, family, server);
  await checkSourceBindable(source, family);
  return family;
}

/** Discovery, run at most once per plan however many targets need it. */
class DiscoveryOnce {
  used = false;
  mta: Mta | null = null;
  readonly warnings: string[] = [];
  private found: string[] | undefined;

  constructor(
    private readonly options: EtrnOptions,
    private readonly hostName: () => Promise<string>,
  ) {}

  async nodes(): Promise<string[]> {
    this.used = true;
    if (this.found) return this.found;
    const found = await discoverNodes(this.options, await this.hostName());
    this.warnings.push(...found.warnings);
    this.mta = found.mta;
    this.found = found.nodes;
    return found.nodes;
  }
}

/**
 * As few sessions as --per-session allows, with the nodes spread evenly
 * (10 nodes at 8 per session: 5 + 5, not 8 + 2), so the longest session,
 * which sets the wall time, is as short as it can be.
 */
function splitSessions(host: string, port: number, nodes: readonly string[], perSession: number): SessionPlan[] {
  const base = formatHostPort(host, port);
  const chunks = Math.ceil(nodes.length / perSession);
  const bounds = (i: number): number => Math.round((i * nodes.length) / chunks);
  return Array.from({ length: chunks }, (_, i) => ({
    server: host,
    host,
    port,
    nodes: nodes.slice(bounds(i), bounds(i + 1)),
    label: chunks > 1 ? `${base}#${i + 1}` : base,
  }));
}

/**
 * ATRN names its domains in one command line of at most 510 octets
 * (RFC 2645 §4.1, RFC 5321 §4.5.3.1.4): as many domains per session as fit,
 * so a provider asked for many domains gets several sessions, one after
 * another's turn, never a line it must refuse.
 */
function splitAtrnSessions(host: string, port: number, nodes: readonly string[]): SessionPlan[] {
  const groups: string[][] = [];
  let length = ATRN_LINE_MAX;
  for (const node of nodes) {
    if (length + 1 + node.length > ATRN_LINE_MAX) {
      groups.push([]);
      length = 'ATRN '.length - 1;
    }
    groups[groups.length - 1]!.push(node);
    length += 1 + node.length;
  }
  const base = formatHostPort(host, port);
  return groups.map((g, i) => ({ server: host, host, port, nodes: g, label: groups.length > 1 ? `${base}#${i + 1}` : base }));
}

/** The names this host accepts mail for, from the MTA `options.mta` names (or the one installed). */
async function discoverNodes(options: EtrnOptions, fqdn: string): Promise<{ mta: Mta; nodes: string[]; warnings: string[] }> {
  const cf = options.sendmailCf ?? DEFAULT_SENDMAIL_CF;
  const { detectMta, discoverPostfixNodes, discoverEximNodes } = await import('../config/mta-discovery.js');
  let mta = options.mta ?? 'auto';
  if (mta === 'auto') {
    const found = options.sendmailCf !== undefined ? 'sendmail' : await detectMta({ sendmailCf: cf });
    if (!found) {
      throw new ConfigError(
        'no local MTA found to ask for names (looked for postconf, exim4/exim and /etc/mail/sendmail.cf); give client-hosts or --mta',
      );
    }
    mta = found;
  }
  let names: string[];
  let warnings: string[];
  if (mta === 'sendmail') {
    const { discoverSendmailNodes } = await import('../config/class-w-discovery.js');
    const found = await discoverSendmailNodes(cf, fqdn, options.signal);
    names = found.nodes;
    warnings = found.warnings.map(formatDiagnostic);
  } else {
    const run = { signal: options.signal };
    const found = mta === 'postfix' ? await discoverPostfixNodes(run) : await discoverEximNodes(run);
    names = [fqdn, ...found.nodes];
    warnings = [...found.warnings];
  }
  const nodes = uniqueNames(names.filter((n) => !isLocalOrLiteral(n)));
  if (nodes.length === 0) throw new ConfigError(`discovery (${mta}) found no names to ask for`);
  return { mta, nodes, warnings };
}

/** The ETRN commands a plan would send, as the dry run reports them. */
export function dryRunResult(p: Plan): EtrnResult {
  return summarize(
    p.sessions.map((s) => emptySession(s, null, s.nodes.map((node) => ({ node, ok: null, sent: false })))),
    p.warnings,
  );
}

export function emptySession(s: SessionPlan, error: SessionResult['error'], nodes?: NodeResult[]): SessionResult {
  return {
    server: s.server,
    port: s.port,
    address: null,
    tls: null,
    authenticated: false,
    etrnAdvertised: null,
    error,
    nodes: nodes ?? s.nodes.map((node) => ({ node, ok: false, sent: false })),
  };
}
