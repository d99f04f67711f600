// Command-line parsing (../shared/spec/etrn-cli.md, "Options"): argv in,
// typed settings out. Pure apart from nothing: no file or network access.
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import type { TlsMode } from '../protocol/session.js';
import { quote } from '../escape.js';

const tlsModes: readonly TlsMode[] = ['off', 'opportunistic', 'required', 'implicit'];

export interface CliSettings {
  readonly help: boolean;
  /** --defaults given; `defaultsFile` is its FILE, if any. */
  readonly defaults: boolean;
  readonly defaultsFile: string | undefined;
  readonly etrnHosts: string | undefined;
  readonly syslog: boolean;
  readonly version: boolean;
  readonly server: string | undefined;
  readonly nodes: string[];
  readonly bootCheck: boolean | undefined;
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly json: boolean;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly port: number | undefined;
  readonly localPort: number | undefined;
  readonly bootWaitMs: number | undefined;
  readonly heloName: string | undefined;
  readonly family: 4 | 6 | undefined;
  readonly sourceAddress: string | undefined;
  readonly retries: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly delayMs: number | undefined;
  readonly deadlineMs: number | undefined;
  readonly sendmailCf: string | undefined;
  readonly mta: 'auto' | 'sendmail' | 'postfix' | 'exim' | undefined;
  readonly jobs: number | undefined;
  readonly perSession: number | undefined;
  readonly tls: TlsMode | undefined;
  readonly tlsCaFile: string | undefined;
  readonly tlsServername: string | undefined;
  readonly tlsInsecure: boolean;
  readonly authUser: string | undefined;
  readonly authPasswordFile: string | undefined;
  readonly authCleartext: boolean;
  readonly atrn: boolean;
  readonly relayTo: string | undefined;
}

/** The options table: long name → parseArgs config. Kept in one place so --help and the man page can be checked against it. */
export const optionTable = {
  defaults: { type: 'boolean' },
  'etrn-hosts': { type: 'string' },
  syslog: { type: 'boolean' },
  'boot-check': { type: 'boolean', short: 'b' },
  verbose: { type: 'boolean', short: 'v' },
  port: { type: 'string', short: 'p' },
  'local-port': { type: 'string' },
  'boot-wait': { type: 'string' },
  helo: { type: 'string' },
  ipv4: { type: 'boolean', short: '4' },
  ipv6: { type: 'boolean', short: '6' },
  source: { type: 'string' },
  retries: { type: 'string' },
  timeout: { type: 'string', short: 't' },
  delay: { type: 'string' },
  deadline: { type: 'string' },
  tls: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-servername': { type: 'string' },
  'tls-insecure': { type: 'boolean' },
  'auth-user': { type: 'string' },
  'auth-password-file': { type: 'string' },
  'auth-cleartext': { type: 'boolean' },
  force: { type: 'boolean' },
  'dry-run': { type: 'boolean', short: 'n' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'sendmail-cf': { type: 'string' },
  mta: { type: 'string' },
  jobs: { type: 'string', short: 'j' },
  'per-session': { type: 'string' },
  atrn: { type: 'boolean' },
  'relay-to': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

function integer(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not ${quote(text)}`);
  }
  return Number(text);
}

function seconds(name: string, text: string | undefined, allowZero: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value) || (!allowZero && value === 0) || value > 86_400) {
    throw new UsageError(`--${name} must be a number of seconds${allowZero ? '' : ' above 0'} up to 86400, not ${quote(text)}`);
  }
  return Math.round(value * 1000);
}

function mtaChoice(text: string | undefined): CliSettings['mta'] {
  if (text === undefined) return undefined;
  if (text === 'auto' || text === 'sendmail' || text === 'postfix' || text === 'exim') return text;
  throw new UsageError(`--mta must be auto, sendmail, postfix or exim, not ${quote(text)}`);
}

type Parsed = ReturnType<typeof parseArgs<{ options: typeof optionTable; allowPositionals: true; strict: true }>>;

export function parseCommandLine(argv: readonly string[]): CliSettings {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: optionTable, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  checkCombinations(parsed);
  return settingsFrom(parsed);
}

/** Options that exclude or need each other, and positionals that an option forbids. */
function checkCombinations({ values: v, positionals }: Parsed): void {
  if (v.ipv4 && v.ipv6) throw new UsageError('-4 and -6 exclude each other');
  if (v.quiet && v.verbose) throw new UsageError('-q and -v exclude each other');
  if ((v['auth-password-file'] !== undefined || v['auth-cleartext']) && v['auth-user'] === undefined) {
    throw new UsageError('--auth-password-file and --auth-cleartext need --auth-user');
  }
  if (v.defaults && v['etrn-hosts'] !== undefined) throw new UsageError('--defaults and --etrn-hosts exclude each other');
  if (v.defaults && positionals.length > 1) {
    throw new UsageError('--defaults takes at most one FILE and no client-hosts');
  }
  if (v['etrn-hosts'] !== undefined && positionals.length > 0) {
    throw new UsageError('--etrn-hosts takes no server-host or client-hosts: they are in SPEC');
  }
  if (v['relay-to'] !== undefined && !v.atrn) throw new UsageError('--relay-to needs --atrn');
}

function tlsChoice(text: string | undefined): TlsMode | undefined {
  if (text !== undefined && !(tlsModes as readonly string[]).includes(text)) {
    throw new UsageError(`--tls must be one of ${tlsModes.join(', ')}, not ${quote(text)}`);
  }
  return text as TlsMode | undefined;
}

/** The settings, each option's value checked and converted. */
function settingsFrom({ values: v, positionals }: Parsed): CliSettings {
  const [server, ...nodes] = v.defaults ? [] : positionals;
  const flag = (value: boolean | undefined): boolean => value ?? false;
  return {
    help: flag(v.help),
    version: flag(v.version),
    defaults: flag(v.defaults),
    syslog: flag(v.syslog),
    defaultsFile: v.defaults ? positionals[0] : undefined,
    etrnHosts: v['etrn-hosts'],
    server,
    nodes,
    bootCheck: v['boot-check'] ? true : undefined,
    verbose: flag(v.verbose),
    quiet: flag(v.quiet),
    json: flag(v.json),
    dryRun: flag(v['dry-run']),
    force: flag(v.force),
    port: integer('port', v.port, 1, 65535),
    localPort: integer('local-port', v['local-port'], 1, 65535),
    bootWaitMs: seconds('boot-wait', v['boot-wait'], true),
    heloName: v.helo,
    family: v.ipv4 ? 4 : v.ipv6 ? 6 : undefined,
    sourceAddress: v.source,
    retries: integer('retries', v.retries, 0, 100),
    timeoutMs: seconds('timeout', v.timeout, false),
    delayMs: seconds('delay', v.delay, true),
    deadlineMs: seconds('deadline', v.deadline, false),
    sendmailCf: v['sendmail-cf'],
    mta: mtaChoice(v.mta),
    jobs: integer('jobs', v.jobs, 1, 10_000),
    perSession: integer('per-session', v['per-session'], 1, 10_000),
    tls: tlsChoice(v.tls),
    tlsCaFile: v['tls-ca'],
    tlsServername: v['tls-servername'],
    tlsInsecure: flag(v['tls-insecure']),
    authUser: v['auth-user'],
    authPasswordFile: v['auth-password-file'],
    authCleartext: flag(v['auth-cleartext']),
    atrn: flag(v.atrn),
    relayTo: v['relay-to'],
  };
}

export const helpText = `Usage: etrn [options] server-host [client-host ...]
       etrn [options] --defaults [FILE]
       etrn [options] --etrn-hosts "SPEC"

Ask an SMTP server to start delivering the mail it holds for each
client-host (RFC 1985 ETRN). Without client-hosts, ask for every name this
host accepts mail for (sendmail class w) and wait for the local MTA first.

server-host: name, IPv4 address or [IPv6 address], optionally :port.
client-host: domain, @domain (with subdomains) or #queue.

SPEC (and ETRN_HOSTS in FILE): white-space separated groups
server[:client[,client...]], each one session; a group without clients asks
for this host's names.

Options:
      --defaults [FILE]    run the groups of ETRN_HOSTS in FILE
                           (default /etc/default/sendmail)
      --etrn-hosts SPEC    run the groups of SPEC
  -b, --boot-check         wait until the local MTA greets on localhost first
  -v, --verbose            show the SMTP dialogue on stderr
  -p, --port PORT          server port (default 25; 366 with --atrn)
      --local-port PORT    port the boot check probes (default 25)
      --boot-wait SECONDS  how long the boot check retries (default 30)
      --helo NAME          name sent with EHLO/HELO (default: this host's FQDN)
  -4, --ipv4               use only IPv4 addresses of server-host
  -6, --ipv6               use only IPv6 addresses of server-host
      --source ADDR        local address to connect from
      --retries N          retry temporary failures N times (default 0)
  -t, --timeout SECONDS    connection and per-reply deadline (default 30)
      --delay SECONDS      pause between two ETRN commands (default 0)
      --deadline SECONDS   limit for the whole run (default none)
      --tls MODE           off, opportunistic (default: STARTTLS when offered),
                           required (STARTTLS and a verified certificate),
                           implicit (TLS from the first byte)
      --tls-ca FILE        trust anchors (PEM) instead of the system's
                           (OpenSSL's store: /etc/ssl/certs, SSL_CERT_FILE)
      --tls-servername NAME  name the certificate must match (default server-host)
      --tls-insecure       do not verify the certificate (and send AUTH anyway)
      --auth-user USER     authenticate (SMTP AUTH) before ETRN; the secret comes
                           from ETRN_PASSWORD or --auth-password-file (taken as
                           RFC 8265 OpaqueString); sent only over TLS with a
                           verified certificate (else exit 77)
      --auth-password-file FILE  read the AUTH secret from FILE's first line
      --auth-cleartext     allow AUTH without TLS or verified certificate
      --force              send ETRN even if the server does not advertise it
  -n, --dry-run            print the sessions and commands, contact nothing
      --json               print one JSON document on stdout (on every exit)
  -q, --quiet              print nothing but errors
      --syslog             also log each result to syslog (facility mail)
      --mta MTA            where discovery asks for names: auto (default),
                           sendmail, postfix (postconf) or exim (exim -bP)
      --sendmail-cf FILE   where discovery reads class w (default /etc/mail/sendmail.cf)
  -j, --jobs N             sessions run at once (default: half of the
                           open-file limit less 32, within 16..1000)
      --per-session N      most ETRN commands in one session (default 8)
      --atrn               On-Demand Mail Relay (RFC 2645): AUTH, then ATRN for
                           the client-hosts; the provider's mail is relayed
                           to the local MTA over the same connection
      --relay-to HOST[:PORT]  local MTA that receives ATRN mail
                           (default localhost, --local-port)
  -h, --help               show this help
  -V, --version            show the version

Exit status: 0 all accepted, 64 usage, 68 no such host, 69 unavailable or
refused, 70 internal error, 74 output not written, 75 temporary failure,
76 protocol error, 77 authentication failed, 78 configuration error,
130/143 interrupted.
`;
