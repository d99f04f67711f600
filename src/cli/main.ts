// The etrn command: parse arguments, call the library, print, and exit with
// the sysexits.h status. Thin by design; everything else is in the library.
// Only argument parsing is loaded up front; the library is imported once
// the command line is known to need it, so --help and --version start fast.
// With --json, every exit prints one document, a failed start included.
import { EtrnError } from '../errors.js';
import { safeJson, safeLine } from '../escape.js';
import { ExitCode, exitCodeForSignal } from '../protocol/outcome.js';
import type { EtrnResult, RunError } from '../result.js';
import { version } from '../version.js';
import { type CliSettings, helpText, parseCommandLine } from './args.js';
import type { EtrnOptions, EtrnTarget, Plan, TraceEvent } from '../run/index.js';
import { Stdout } from './stdout.js';
import type { Severity, SyslogWriter } from './syslog.js';

/** How an error that stopped the run is reported: its exit status and JSON kind (an internal error: 70). */
function classify(error: unknown): { status: number; kind: RunError['kind'] } {
  const code = error instanceof EtrnError ? error.code : null;
  if (code === 'ERR_CONFIG') return { status: ExitCode.CONFIG, kind: 'config' };
  if (code === 'ERR_USAGE' || code === 'ERR_INVALID_NAME') return { status: ExitCode.USAGE, kind: 'usage' };
  if (code === 'ERR_OUTPUT') return { status: ExitCode.IOERR, kind: 'io' };
  // --deadline ran out before any session (reading files, asking the MTA).
  if (code === 'ERR_DEADLINE') return { status: ExitCode.TEMPFAIL, kind: 'timeout' };
  return { status: ExitCode.SOFTWARE, kind: 'internal' };
}

/** Where output lines go: the terminal (unless -q / --json) and, with --syslog, the system log. */
class Reporter {
  constructor(
    private readonly settings: Pick<CliSettings, 'quiet' | 'json'>,
    private readonly syslog: SyslogWriter | null,
    readonly stdout: Stdout,
  ) {}

  /** A result or note: stdout, unless -q or --json. Every line is escaped and cut (escape.ts). */
  info(shown: readonly string[]): void {
    const lines = shown.map((l) => safeLine(l));
    if (!this.settings.quiet && !this.settings.json && lines.length > 0) this.stdout.write(`${lines.join('\n')}\n`);
    this.log('info', lines);
  }

  /** The --json document. */
  json(result: EtrnResult, toJson: (r: EtrnResult) => string): void {
    if (this.settings.json) this.stdout.write(`${safeJson(toJson(result))}\n`);
  }

  warning(shown: readonly string[]): void {
    const lines = shown.map((l) => safeLine(`etrn: warning: ${l}`).slice('etrn: warning: '.length));
    if (!this.settings.quiet && lines.length > 0) process.stderr.write(lines.map((l) => `etrn: warning: ${l}\n`).join(''));
    this.log('warning', lines);
  }

  /** Failed nodes and sessions (prefixed "etrn: "): stderr, unless --json has them. */
  error(lines: readonly string[]): void {
    if (!this.settings.json) this.fatal(lines);
    else this.log('err', lines.map((l) => safeLine(l).replace(/^etrn: /, '')));
  }

  /** Errors that stop the run: always on stderr. */
  fatal(shown: readonly string[]): void {
    const lines = shown.map((l) => safeLine(l));
    if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
    this.log('err', lines.map((l) => l.replace(/^etrn: /, '')));
  }

  private log(severity: Severity, lines: readonly string[]): void {
    for (const line of lines) this.syslog?.write(severity, line);
  }
}

/** The servers and nodes to ask: from the command line, --etrn-hosts, or --defaults FILE. */
async function loadTargets(settings: CliSettings, report: Reporter, signal: AbortSignal): Promise<{ targets: EtrnTarget[]; source: string }> {
  if (settings.etrnHosts !== undefined) {
    const { parseEtrnHosts } = await import('../config/etrn-hosts.js');
    return { targets: parseEtrnHosts(settings.etrnHosts), source: '--etrn-hosts' };
  }
  if (settings.defaults) {
    const { DEFAULT_DEFAULTS_FILE, loadEtrnHostsFile, ATRN_HOSTS_VARIABLE, ETRN_HOSTS_VARIABLE } = await import('../config/defaults-file.js');
    const file = settings.defaultsFile ?? DEFAULT_DEFAULTS_FILE;
    // With --atrn, the same file names the ATRN providers (RFC 2645) in ATRN_HOSTS.
    const variable = settings.atrn ? ATRN_HOSTS_VARIABLE : ETRN_HOSTS_VARIABLE;
    const loaded = await loadEtrnHostsFile(file, signal, variable);
    // Every line the parser did not take, with file and line (shown unless -q; always to syslog).
    report.warning(loaded.warnings.map((w) => `${w.file}:${w.line}: ${w.message}`));
    return { targets: loaded.groups, source: `${variable} in ${file}` };
  }
  return { targets: [{ server: settings.server!, nodes: settings.nodes }], source: 'command line' };
}

/** Whether the command line asks for JSON, read even when it does not parse. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** A run that stopped before any session: the message on stderr and, with --json, the document. */
async function failedStart(report: Reporter, error: RunError, status: number, usageHint: boolean): Promise<number> {
  report.fatal([`etrn: ${error.message}`, ...(usageHint ? ["Try 'etrn --help' for more information."] : [])]);
  const { failedRun, toJson } = await import('../result.js');
  report.json(failedRun(error, status), toJson);
  return status;
}

/** The status, unless stdout could not take the output: then 74 with a message. */
async function checkedStatus(stdout: Stdout, status: number): Promise<number> {
  const failure = await stdout.flushed();
  if (!failure) return status;
  process.stderr.write(`${safeLine(`etrn: cannot write to stdout: ${failure.code ?? failure.message}`)}\n`);
  return ExitCode.IOERR;
}

export async function main(argv: readonly string[]): Promise<number> {
  // A reader that goes away (etrn ... | head -1) must not crash etrn.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const stdout = new Stdout();
  const status = await start(argv, stdout);
  return checkedStatus(stdout, status);
}

async function start(argv: readonly string[], stdout: Stdout): Promise<number> {
  let settings: CliSettings;
  try {
    settings = parseCommandLine(argv);
  } catch (error) {
    const report = new Reporter({ quiet: false, json: wantsJson(argv) }, null, stdout);
    return failedStart(report, { kind: 'usage', message: (error as Error).message }, ExitCode.USAGE, true);
  }
  if (settings.help || settings.version) {
    stdout.write(settings.help ? helpText : `etrn ${version()}\n`);
    return ExitCode.OK;
  }
  if (settings.server === undefined && !settings.defaults && settings.etrnHosts === undefined) {
    const report = new Reporter(settings, null, stdout);
    return failedStart(report, { kind: 'usage', message: 'no server-host given' }, ExitCode.USAGE, true);
  }
  return runWithSignals(settings, stdout);
}

/** Runs with SIGINT/SIGTERM turned into an abort (a second one stops at once) and syslog open. */
async function runWithSignals(settings: CliSettings, stdout: Stdout): Promise<number> {
  const controller = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(exitCodeForSignal(signal)); // a second signal: stop now
    signalled = signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The whole-run deadline counts from here: reading files and asking the MTA are part of the run.
  const { DeadlineReached } = await import('../run/index.js');
  const deadlineMs = settings.deadlineMs;
  const deadline = deadlineMs === undefined ? undefined : setTimeout(() => controller.abort(new DeadlineReached(deadlineMs)), deadlineMs);
  const syslog = settings.syslog ? (await import('./syslog.js')).openSyslog() : null;
  const report = new Reporter(settings, syslog, stdout);
  try {
    return await run(settings, report, controller.signal, () => signalled);
  } catch (error) {
    if (signalled) {
      // Whatever start-up step the signal cut short: an interrupt before any session.
      const message = 'interrupted before any session started';
      return failedStart(report, { kind: 'interrupted', message }, exitCodeForSignal(signalled), false);
    }
    const { status, kind } = classify(error);
    const message = (error as Error)?.message ?? String(error);
    return failedStart(report, { kind, message: kind === 'internal' ? `internal error: ${message}` : message }, status, false);
  } finally {
    clearTimeout(deadline);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const problem = await syslog?.close();
    if (problem) process.stderr.write(`${safeLine(`etrn: warning: ${problem}`)}\n`);
  }
}

/** The SMTP AUTH settings, with the secret from the environment or --auth-password-file. */
async function authOptions(settings: CliSettings, report: Reporter, signal: AbortSignal): Promise<EtrnOptions['auth']> {
  if (settings.authUser === undefined) return undefined;
  const { findSecret } = await import('../config/secret.js');
  const secret = await findSecret(settings.authPasswordFile, process.env, signal);
  if (secret.warning) report.warning([secret.warning]);
  return { user: settings.authUser, password: secret.password, allowCleartext: settings.authCleartext };
}

/** The library's options from the command line. */
function runOptions(
  settings: CliSettings,
  targets: EtrnTarget[],
  auth: EtrnOptions['auth'],
  signal: AbortSignal,
  onTrace: EtrnOptions['onTrace'],
): EtrnOptions {
  return {
    targets,
    auth,
    port: settings.port,
    // On with --defaults/--etrn-hosts, as the Solaris start script ran `etrn -b`.
    bootCheck: settings.bootCheck ?? (settings.defaults || settings.etrnHosts !== undefined ? true : undefined),
    localPort: settings.localPort,
    bootWaitMs: settings.bootWaitMs,
    heloName: settings.heloName,
    family: settings.family,
    sourceAddress: settings.sourceAddress,
    retries: settings.retries,
    timeoutMs: settings.timeoutMs,
    delayMs: settings.delayMs,
    deadlineMs: settings.deadlineMs,
    force: settings.force,
    sendmailCf: settings.sendmailCf,
    mta: settings.mta,
    jobs: settings.jobs,
    perSession: settings.perSession,
    tls: settings.tls,
    tlsCaFile: settings.tlsCaFile,
    tlsServername: settings.tlsServername,
    tlsInsecure: settings.tlsInsecure,
    atrn: settings.atrn,
    relayTo: settings.relayTo,
    signal,
    onTrace,
  };
}

async function run(
  settings: CliSettings,
  report: Reporter,
  signal: AbortSignal,
  signalled: () => NodeJS.Signals | null,
): Promise<number> {
  const [{ toJson }, { defaults, dryRunResult, plan, runPlan }, output] = await Promise.all([
    import('../result.js'),
    import('../run/index.js'),
    import('./output.js'),
  ]);
  const auth = await authOptions(settings, report, signal);
  const { targets, source } = await loadTargets(settings, report, signal);
  if (targets.length === 0) {
    report.info([`etrn: no groups in ${source}: nothing to do`]);
    return ExitCode.OK;
  }
  let multiple = false;
  const onTrace = settings.verbose
    ? (event: TraceEvent) => process.stderr.write(`${output.formatTrace(event, multiple)}\n`)
    : undefined;
  const options = runOptions(settings, targets, auth, signal, onTrace);
  const p = await plan(options);
  multiple = p.sessions.length > 1;
  noteDiscovery(settings, report, p);
  const stopped = signalled();
  if (stopped) {
    const message = 'interrupted before any session started';
    return failedStart(report, { kind: 'interrupted', message }, exitCodeForSignal(stopped), false);
  }
  if (settings.dryRun) {
    const result = dryRunResult(p);
    report.json(result, toJson);
    const bootTarget = `localhost:${settings.localPort ?? defaults.localPort}`;
    report.info(output.formatPlan(result, p.heloName, p.bootCheck ? bootTarget : null, p.relayTo ?? null));
    return result.exitCode;
  }
  const finished = await runPlan(p, options);
  // Interrupted: the status says by which signal (130 SIGINT, 143 SIGTERM).
  const late = signalled();
  const result = late ? { ...finished, ok: false, exitCode: exitCodeForSignal(late) } : finished;
  report.json(result, toJson);
  const lines = output.formatResult(result);
  report.info(lines.out);
  report.error(lines.err);
  return result.exitCode;
}

/** With -v, where discovery found the names; always, the plan's warnings. */
function noteDiscovery(settings: CliSettings, report: Reporter, p: Plan): void {
  if (settings.verbose && p.discoveredFrom) {
    process.stderr.write(`== discovery: names this host accepts mail for, from ${p.discoveredFrom}\n`);
  }
  report.warning(p.warnings);
}
