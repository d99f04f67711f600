// The etrn command: parse arguments, call the library, print, and exit with
// the sysexits.h status. Thin by design; everything else is in the library.
// Only argument parsing is loaded up front; the library is imported once
// the command line is known to need it, so --help and --version start fast.
import { ConfigError, EtrnError } from '../errors.js';
import { ExitCode } from '../protocol/outcome.js';
import { version } from '../version.js';
import { helpText, parseCommandLine } from './args.js';
import type { TraceEvent } from '../run.js';

function writeLines(stream: NodeJS.WriteStream, lines: readonly string[]): void {
  if (lines.length > 0) stream.write(`${lines.join('\n')}\n`);
}

function exitStatusFor(error: unknown): number {
  if (error instanceof ConfigError) return ExitCode.CONFIG;
  if (error instanceof EtrnError) return ExitCode.USAGE;
  return 70; // EX_SOFTWARE
}

export async function main(argv: readonly string[]): Promise<number> {
  // A reader that goes away (etrn ... | head -1) must not crash etrn.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  let settings;
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
  if (settings.server === undefined) {
    process.stderr.write(`etrn: no server-host given\nTry 'etrn --help' for more information.\n`);
    return ExitCode.USAGE;
  }

  const controller = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    signalled = signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const [{ toJson }, { defaults, etrn, plan }, { formatPlan, formatResult, formatTrace }, { findSecret }] =
    await Promise.all([import('../result.js'), import('../run.js'), import('./output.js'), import('../config/secret.js')]);
  let auth;
  try {
    if (settings.authUser !== undefined) {
      const secret = await findSecret(settings.authPasswordFile, process.env);
      if (secret.warning && !settings.quiet) process.stderr.write(`etrn: warning: ${secret.warning}\n`);
      auth = { user: settings.authUser, password: secret.password, allowCleartext: settings.authCleartext };
    }
  } catch (error) {
    process.stderr.write(`etrn: ${(error as Error).message}\n`);
    return exitStatusFor(error);
  }
  const options = {
    auth,
    server: settings.server,
    nodes: settings.nodes,
    port: settings.port,
    bootCheck: settings.bootCheck,
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
    signal: controller.signal,
    onTrace: settings.verbose
      ? (event: TraceEvent) => {
          process.stderr.write(`${formatTrace(event, multiple)}\n`);
        }
      : undefined,
  };
  let multiple = false;
  try {
    const p = await plan(options);
    multiple = p.sessions.length > 1;
    if (settings.verbose && p.discoveredFrom) process.stderr.write(`== discovery: names this host accepts mail for, from ${p.discoveredFrom}\n`);
    for (const w of p.warnings) if (!settings.quiet) process.stderr.write(`etrn: warning: ${w}\n`);
    if (settings.dryRun) {
      const result = await etrn({ ...options, dryRun: true });
      if (settings.json) process.stdout.write(`${toJson(result)}\n`);
      else {
        const local = p.bootCheck ? `localhost:${settings.localPort ?? defaults.localPort}` : null;
        writeLines(process.stdout, formatPlan(result, p.heloName, local));
      }
      return result.exitCode;
    }
    const result = await etrn(options);
    if (settings.json) process.stdout.write(`${toJson(result)}\n`);
    else {
      const lines = formatResult(result);
      if (!settings.quiet) writeLines(process.stdout, lines.out);
      writeLines(process.stderr, lines.err);
    }
    if (signalled) return 128 + (signalled === 'SIGINT' ? 2 : 15);
    return result.exitCode;
  } catch (error) {
    if (error instanceof EtrnError) {
      process.stderr.write(`etrn: ${error.message}\n`);
      return exitStatusFor(error);
    }
    process.stderr.write(`etrn: internal error: ${(error as Error)?.message ?? String(error)}\n`);
    return exitStatusFor(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
