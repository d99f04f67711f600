// Discovery beyond sendmail: which MTA this host runs, and the names it
// accepts mail for, asked of Postfix (`postconf`) or Exim (`exim -bP`). The
// thin process-running layer over the pure parsers postfix-domains.ts and
// exim-domains.ts; programs are run by run-program.ts (no shell, no
// secrets in their environment, bounded in time and output, stopped with
// the run).
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ConfigError, InvalidNameError } from '../errors.js';
import { normalizeDomain, uniqueNames } from '../names/node.js';
import { DEFAULT_SENDMAIL_CF } from './class-w-discovery.js';
import { formatDiagnostic } from './diagnostic.js';
import { parseEximLocalDomains } from './exim-domains.js';
import { parsePostfixDomains } from './postfix-domains.js';
import { PROGRAM_TIMEOUT_MS, type ProgramRun, runProgram } from './run-program.js';
import { quote } from '../escape.js';

export type Mta = 'sendmail' | 'postfix' | 'exim';

export interface MtaNodes {
  /** Names to send ETRN for, normalised, in order, without duplicates; this host's own name is not added. */
  readonly nodes: string[];
  readonly warnings: string[];
}

/** Bound for each postconf / exim run. */
export const MTA_QUERY_TIMEOUT_MS = PROGRAM_TIMEOUT_MS;

/** Where MTA programs live when PATH does not name their folder (as for most non-root users). */
const SBIN_DIRS = ['/usr/sbin'];

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The first of `names` found as an executable file in PATH, then in `sbinDirs`; null if none. */
export async function findProgram(
  names: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  sbinDirs: readonly string[] = SBIN_DIRS,
): Promise<string | null> {
  const dirs = [...(env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/')), ...sbinDirs];
  for (const name of names) {
    for (const dir of dirs) {
      const path = join(dir, name);
      if (await isExecutableFile(path)) return path;
    }
  }
  return null;
}

export interface DetectMtaOptions {
  env?: NodeJS.ProcessEnv;
  /** Folders searched after PATH. Default ['/usr/sbin']. */
  sbinDirs?: readonly string[];
  /** Default /etc/mail/sendmail.cf. */
  sendmailCf?: string;
}

/**
 * The MTA installed here, or null. Checked in this order, first hit wins:
 *   1. Postfix: `postconf` in PATH or /usr/sbin;
 *   2. Exim: `exim4` or `exim` in PATH or /usr/sbin;
 *   3. sendmail: /etc/mail/sendmail.cf exists.
 * sendmail comes last because its configuration file outlives the package
 * (Debian keeps conffiles until purge) when a host moves to Postfix or Exim,
 * whereas their programs go with their packages. A `sendmail` program proves
 * nothing: Postfix and Exim install one too.
 */
export async function detectMta(opts: DetectMtaOptions = {}): Promise<Mta | null> {
  const env = opts.env ?? process.env;
  const sbinDirs = opts.sbinDirs ?? SBIN_DIRS;
  if ((await findProgram(['postconf'], env, sbinDirs)) !== null) return 'postfix';
  if ((await findProgram(['exim4', 'exim'], env, sbinDirs)) !== null) return 'exim';
  try {
    if ((await stat(opts.sendmailCf ?? DEFAULT_SENDMAIL_CF)).isFile()) return 'sendmail';
  } catch {
    // not there
  }
  return null;
}

function failed(run: ProgramRun): ConfigError {
  return new ConfigError(`${run.command} failed: ${run.failure ?? 'unexpected output'}`);
}

/** Normalises names with normalizeDomain; invalid ones become warnings. Drops case-insensitive duplicates. */
function normalizeAll(names: readonly string[], source: string, warnings: string[]): string[] {
  const nodes: string[] = [];
  for (const name of names) {
    try {
      nodes.push(normalizeDomain(name, `${source} name`));
    } catch (error) {
      if (!(error instanceof InvalidNameError)) throw error;
      warnings.push(`skipped ${error.message}`);
    }
  }
  return uniqueNames(nodes);
}

/** Program warnings on a successful run ("postconf: warning: ..."), one per line. */
function stderrWarnings(stderr: string): string[] {
  return stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

const POSTCONF_PARAMETERS = ['mydestination', 'virtual_mailbox_domains', 'relay_domains', 'myhostname', 'mydomain'] as const;

export interface PostfixDiscoveryOptions {
  /** Path to postconf. Default: `postconf` in PATH, else /usr/sbin/postconf. */
  postconf?: string;
  /** Postfix configuration folder (postconf -c). Default: postconf's own. */
  configDir?: string;
  /** Environment for finding postconf and, without secrets, for running it. Default: etrn's own, filtered (see childEnvironment). */
  env?: NodeJS.ProcessEnv;
  /** The run's stop signal: postconf is killed on abort. */
  signal?: AbortSignal;
}

/**
 * The names Postfix accepts mail for: mydestination, virtual_mailbox_domains
 * and relay_domains, from `postconf -h -x` (Postfix 2.10+ expands the
 * values itself, defaults such as `$virtual_mailbox_maps` and the
 * compatibility_level conditional of relay_domains included); an older
 * postconf that refuses -x is asked again with -h alone, and the parser
 * expands what it can. Throws ConfigError when postconf fails.
 */
export async function discoverPostfixNodes(opts: PostfixDiscoveryOptions = {}): Promise<MtaNodes> {
  const postconf = opts.postconf ?? (await findProgram(['postconf'], opts.env));
  const run = { env: opts.env, signal: opts.signal };
  if (postconf === null) throw new ConfigError('postconf not found in PATH or /usr/sbin (is Postfix installed?)');
  const base = opts.configDir === undefined ? [] : ['-c', opts.configDir];
  let out = await runProgram(postconf, [...base, '-h', '-x', ...POSTCONF_PARAMETERS], run);
  if (out.failure !== null && /(invalid|illegal) option/i.test(out.stderr)) {
    out = await runProgram(postconf, [...base, '-h', ...POSTCONF_PARAMETERS], run);
  }
  if (out.failure !== null) throw failed(out);
  const lines = out.stdout.replace(/\r?\n$/, '').split(/\r?\n/);
  if (lines.length !== POSTCONF_PARAMETERS.length) {
    throw new ConfigError(`${out.command}: expected ${POSTCONF_PARAMETERS.length} lines, got ${quote(out.stdout)}`);
  }
  const [mydestination, virtual_mailbox_domains, relay_domains, myhostname, mydomain] = lines as [string, string, string, string, string];
  const parsed = parsePostfixDomains({ mydestination, virtual_mailbox_domains, relay_domains, myhostname, mydomain });
  const warnings = [...stderrWarnings(out.stderr), ...parsed.warnings.map(formatDiagnostic)];
  return { nodes: normalizeAll(parsed.names, 'Postfix', warnings), warnings };
}

export interface EximDiscoveryOptions {
  /** Path to exim. Default: `exim4` or `exim` in PATH, else in /usr/sbin. */
  exim?: string;
  /** Exim configuration file (exim -C). Default: exim's own. */
  configFile?: string;
  /** Environment for finding exim and, without secrets, for running it. Default: etrn's own, filtered (see childEnvironment). */
  env?: NodeJS.ProcessEnv;
  /** The run's stop signal: exim is killed on abort. */
  signal?: AbortSignal;
}

/**
 * The names in Exim's `domainlist local_domains`, from `exim -bP
 * +local_domains` (the form Exim 4 understands; it answers
 * `domainlist local_domains = ...`). A configuration without that list
 * gives no names and a warning. Throws ConfigError when exim fails otherwise.
 */
export async function discoverEximNodes(opts: EximDiscoveryOptions = {}): Promise<MtaNodes> {
  const exim = opts.exim ?? (await findProgram(['exim4', 'exim'], opts.env));
  if (exim === null) throw new ConfigError('exim4 or exim not found in PATH or /usr/sbin (is Exim installed?)');
  const args = [...(opts.configFile === undefined ? [] : ['-C', opts.configFile]), '-bP', '+local_domains'];
  const out = await runProgram(exim, args, { env: opts.env, signal: opts.signal });
  // A missing list is exit status 1 with the reason on stdout: the parser reports it.
  if (out.failure !== null && !/^no address, domain, host, or local part list called/m.test(out.stdout)) throw failed(out);
  const parsed = parseEximLocalDomains(out.stdout);
  const warnings = [...stderrWarnings(out.stderr), ...parsed.warnings.map(formatDiagnostic)];
  return { nodes: normalizeAll(parsed.names, 'Exim', warnings), warnings };
}
