// The etrn command: parse arguments, call the library, print, and exit with
// the sysexits.h status. Thin by design; everything else is in the library.
// Only argument parsing is loaded up front; the library is imported once
// the command line is known to need it, so --help and --version start fast.
import { ConfigError, EtrnError } from '../errors.js';
import { ExitCode } from '../protocol/outcome.js';
import { version } from '../version.js';
import { type CliSettings, helpText, parseCommandLine } from './args.js';
import type { EtrnOptions, EtrnTarget, TraceEvent } from '../run.js';
import type { Severity, SyslogWriter } from './syslog.js';

function exitStatusFor(error: unknown): number {
  if (error instanceof ConfigError) return ExitCode.CONFIG;
  if (error instanceof EtrnError) return ExitCode.USAGE;
  return 70; // EX_SOFTWARE
}

const signalStatus = (signal: NodeJS.Signals): number => 128 + (signal === 'SIGINT' ? 2 : 15);

/** Where output lines go: the terminal (unless -q / --json) and, with --syslog, the system log. */
class Reporter {
  constructor(
    private readonly settings: CliSettings,
    private readonly syslog: SyslogWriter | null,
  ) {}

  /** A result or note: stdout, unless -q or --json. */
  info(lines: readonly string[]): void {
    if (!this.settings.quiet && !this.settings.json && lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    this.log('info', lines);
  }

  warning(lines: readonly string[]): void {
    if (!this.settings.quiet && lines.length > 0) process.stderr.write(lines.map((l) => `etrn: warning: ${l}\n`).join(''));
    this.log('warning', lines);
  }

  /** Failed nodes and sessions (prefixed "etrn: "): stderr, unless --json has them. */
  error(lines: readonly string[]): void {
    if (!this.settings.json) this.fatal(lines);
    else this.log('err', lines.map((l) => l.replace(/^etrn: /, '')));
  }

  /** Errors that stop the run: always on stderr. */
  fatal(lines: readonly string[]): void {
    if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
    this.log('err', lines.map((l) => l.replace(/^etrn: /, '')));
  }

  private log(severity: Severity, lines: readonly string[]): void {
    for (const line of lines) this.syslog?.write(severity, line);
  }
}

/** The servers and nodes to ask: from the command line, --etrn-hosts, or --defaults FILE. */
async function loadTargets(settings: CliSettings): Promise<{ targets: EtrnTarget[]; source: string }> {
  if (settings.etrnHosts !== undefined) {
    const { parseEtrnHosts } = await import('../config/etrn-hosts.js');
    return { targets: parseEtrnHosts(settings.etrnHosts), source: '--etrn-hosts' };
  }
  if (settings.defaults) {
    const { DEFAULT_DEFAULTS_FILE, loadEtrnHostsFile } = await import('../config/defaults-file.js');
    const file = settings.defaultsFile ?? DEFAULT_DEFAULTS_FILE;
    const loaded = await loadEtrnHostsFile(file);
    return { targets: loaded.groups, source: `ETRN_HOSTS in ${file}` };
  }
  return { targets: [{ server: settings.server!, nodes: settings.nodes }], source: 'command line' };
}

export async function main(argv: readonly string[]): Promise<number> {
  // A reader that goes away (etrn ... | head -1) must not crash etrn.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  let settings: CliSettings;
  try {
    settings = parseCommandLine(argv);
  } catch (error) {
    process.stderr.write(`etrn: ${(error as Error).message}\nTry 'etrn --help' for more information.\n`);
    return ExitCode.USAGE;
  }
  if (settings.help) {
    process.stdout.write(helpText);
    return ExitCode.OK;
  }
  if (settings.version) {
    process.stdout.write(`etrn ${version()}\n`);
    return ExitCode.OK;
  }
  if (settings.server === undefined && !settings.defaults && settings.etrnHosts === undefined) {
    process.stderr.write(`etrn: no server-host given\nTry 'etrn --help' for more information.\n`);
    return ExitCode.USAGE;
  }

  const controller = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(signalStatus(signal)); // a second signal: stop now
    signalled = signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const syslog = settings.syslog ? (await import('./syslog.js')).openSyslog() : null;
  const report = new Reporter(settings, syslog);
  try {
    return await run(settings, report, controller.signal, () => signalled);
  } catch (error) {
    const known = error instanceof EtrnError;
    report.fatal([`etrn: ${known ? '' : 'internal error: '}${(error as Error)?.message ?? String(error)}`]);
    return exitStatusFor(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const problem = await syslog?.close();
    if (problem) process.stderr.write(`etrn: warning: ${problem}\n`);
  }
}

async function run(
  settings: CliSettings,
  report: Reporter,
  signal: AbortSignal,
  signalled: () => NodeJS.Signals | null,
): Promise<number> {
  const [{ toJson }, { defaults, dryRunResult, plan, runPlan }, output] = await Promise.all([
    import('../result.js'),
    import('../run.js'),
    import('./output.js'),
  ]);
  let auth;
  if (settings.authUser !== undefined) {
    const { findSecret } = await import('../config/secret.js');
    const secret = await findSecret(settings.authPasswordFile, process.env);
    if (secret.warning) report.warning([secret.warning]);
    auth = { user: settings.authUser, password: secret.password, allowCleartext: settings.authCleartext };
  }
  const { targets, source } = await loadTargets(settings);
  if (targets.length === 0) {
    report.info([`etrn: no groups in ${source}: nothing to do`]);
    return ExitCode.OK;
  }
  let multiple = false;
  const options: EtrnOptions = {
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
    signal,
    onTrace: settings.verbose
      ? (event: TraceEvent) => process.stderr.write(`${output.formatTrace(event, multiple)}\n`)
      : undefined,
  };
  const p = await plan(options);
  multiple = p.sessions.length > 1;
  if (settings.verbose && p.discoveredFrom) {
    process.stderr.write(`== discovery: names this host accepts mail for, from ${p.discoveredFrom}\n`);
  }
  report.warning(p.warnings);
  if (settings.dryRun) {
    const result = dryRunResult(p);
    if (settings.json) process.stdout.write(`${toJson(result)}\n`);
    else {
      const local = p.bootCheck ? `localhost:${settings.localPort ?? defaults.localPort}` : null;
      report.info(output.formatPlan(result, p.heloName, local));
    }
    return result.exitCode;
  }
  const finished = await runPlan(p, options);
  // Interrupted: the status says by which signal (130 SIGINT, 143 SIGTERM).
  const stopped = signalled();
  const result = stopped ? { ...finished, ok: false, exitCode: signalStatus(stopped) } : finished;
  if (settings.json) process.stdout.write(`${toJson(result)}\n`);
  const lines = output.formatResult(result);
  report.info(lines.out);
  report.error(lines.err);
  return result.exitCode;
}
