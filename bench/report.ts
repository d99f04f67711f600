// The bench's report: the machine it ran on, the targets with their margins,
// and the markdown tables of every benchmark.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg, release } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../test/lab/mta-common.js';
import type { HostsResult } from './hosts.js';
import { SENDMAIL_LIMIT_MS, type SendmailResult } from './sendmail.js';
import type { SessionResult } from './session.js';
import type { StartupResult } from './startup.js';
import { ms, range, ratio, round } from './lib/stats.js';

export interface Machine {
  readonly nproc: number;
  readonly cpu: string;
  readonly node: string;
  readonly kernel: string;
  readonly date: string;
  readonly etrn: string;
  readonly commit: string;
  readonly srcModified: boolean;
  /** 1-minute load average when the bench started and when it ended: other work on the machine makes the numbers noisy. */
  readonly loadAverage: { start: number; end?: number };
}

export function machine(): Machine {
  const git = (args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    node: process.version,
    kernel: `Linux ${release()}`,
    date: new Date().toISOString(),
    etrn: (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version,
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    srcModified: git(['status', '--porcelain', '--', 'src', 'bin', 'scripts']) !== '',
    loadAverage: { start: round(loadavg()[0]!, 2) },
  };
}

export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly value: string;
  readonly holds: boolean;
  readonly margin: string;
}

export function targets(r: Results): Target[] {
  const out: Target[] = [];
  const pct = (value: number, limit: number): string => `${value <= limit ? 'under' : 'over'} by ${Math.abs(round(((value - limit) / limit) * 100, 0))} %`;
  if (r.startup) {
    out.push({ name: 'start-up: etrn --version / node -e 0', goal: '≤ 1.3', value: `${r.startup.ratio}`, holds: r.startup.ratio <= 1.3, margin: pct(r.startup.ratio, 1.3) });
  }
  if (r.session) {
    const fetchmail = r.session.rows.find((x) => x.nodes === 10 && x.client.startsWith('fetchmail'))!;
    for (const row of r.session.rows.filter((x) => x.nodes === 10 && x.client.startsWith('etrn'))) {
      const fm = fetchmail.netMs ?? fetchmail.wall.median;
      out.push({
        name: `N = 10, ${row.client}: faster than fetchmail`,
        goal: `< ${ms(fm)} ms (fetchmail ${ms(fetchmail.wall.median)} less ${ms(r.session.namespaceOverhead.median)} namespace)`,
        value: `${ms(row.wall.median)} ms`,
        holds: row.wall.median < fm,
        margin: `${row.wall.median < fm ? 'faster' : 'slower'} by ${ms(Math.abs(fm - row.wall.median))} ms (${ratio(row.wall.median, fm)}×)`,
      });
      out.push({
        name: `N = 10, ${row.client}: ≤ 1.15 × one-session minimum (N+3)×50 + start-up`,
        goal: `≤ ${ms(1.15 * row.minIssueMs)} ms`,
        value: `${ms(row.wall.median)} ms = ${row.vsIssue}×`,
        holds: row.vsIssue <= 1.15,
        margin: pct(row.vsIssue, 1.15),
      });
      out.push({
        name: `N = 10, ${row.client}: ≤ 1.15 × (N+2)×50 + start-up (replies etrn waits for)`,
        goal: `≤ ${ms(1.15 * row.minWaitedMs)} ms`,
        value: `${ms(row.wall.median)} ms = ${row.vsWaited}×`,
        holds: row.vsWaited <= 1.15,
        margin: pct(row.vsWaited, 1.15),
      });
    }
  }
  if (r.sendmail) {
    const v = r.sendmail.defaultWall.median;
    out.push({ name: 'Sendmail, 20 nodes, default --per-session 8', goal: '< 1000 ms', value: `${ms(v)} ms`, holds: v < 1000, margin: pct(v, 1000) });
  }
  if (r.hosts) {
    const row = r.hosts.rows.find((x) => x.servers === 100 && x.jobs === 100)!;
    out.push({ name: '--etrn-hosts, 100 servers -j 100 / one server', goal: '≤ 1.5', value: `${row.vsOne}`, holds: row.vsOne <= 1.5, margin: pct(row.vsOne, 1.5) });
    for (const servers of [100, 500]) {
      const worst = Math.max(...r.hosts.rows.filter((x) => x.servers === servers).map((x) => x.rssMb.max));
      out.push({ name: `peak RSS, ${servers} servers (worst run, any -j)`, goal: '≤ 80 MB', value: `${round(worst)} MB`, holds: worst <= 80, margin: pct(worst, 80) });
    }
  }
  const hanging = r.standalone?.['hanging']?.result as { wallMs: { max: number; target: number }; rssMb: { max: number; target: number } } | undefined;
  if (hanging) {
    const { wallMs: w, rssMb: m } = hanging;
    out.push({ name: '300 servers, a third hanging, -t 3: wall (worst run)', goal: `≤ ${ms(w.target)} ms (2 × -t)`, value: `${ms(w.max)} ms`, holds: w.max <= w.target, margin: pct(w.max, w.target) });
    out.push({ name: '300 servers, a third hanging: peak RSS (worst run)', goal: `≤ ${m.target} MB`, value: `${m.max} MB`, holds: m.max <= m.target, margin: pct(m.max, m.target) });
  }
  const atrn = r.standalone?.['atrn']?.result as { messageMiB: number; rssGrowthMiB: number; targetMiB: number } | undefined;
  if (atrn) {
    out.push({ name: `ATRN, one ${atrn.messageMiB} MiB message: growth of etrn's RSS`, goal: `< ${atrn.targetMiB} MiB (the message)`, value: `${atrn.rssGrowthMiB} MiB`, holds: atrn.rssGrowthMiB < atrn.targetMiB, margin: pct(atrn.rssGrowthMiB, atrn.targetMiB) });
  }
  return out;
}

export interface Results {
  machine: Machine;
  warnings: string[];
  totalSeconds?: number;
  startup?: StartupResult;
  session?: SessionResult;
  sendmail?: SendmailResult;
  hosts?: HostsResult;
  /** The standalone benchmarks' documents, by section name. */
  standalone?: Record<string, { title: string; command: string; result: unknown }>;
  targets?: Target[];
}

export function table(header: string[], rows: (string | number)[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

export function report(r: Results): string {
  const m = r.machine;
  const lines: string[] = [
    `# etrn benchmark, ${m.date}`,
    '',
    `Machine: ${m.nproc} CPU (nproc), ${m.cpu}, ${m.kernel}, node ${m.node}; load average ${m.loadAverage.start} at the start, ${m.loadAverage.end ?? '?'} at the end. etrn ${m.etrn} at ${m.commit}${m.srcModified ? ' (with uncommitted changes in src/, bin/ or scripts/)' : ''}.`,
    'Wall times in ms, medians (min–max) of repeated runs, each from spawn to exit of the measured process.',
  ];
  for (const w of r.warnings) lines.push('', `**Warning:** ${w}`);
  if (r.startup) {
    const s = r.startup;
    lines.push('', `## 1. Start-up (${s.reps} runs each, interleaved)`, '');
    lines.push(...table(['command', 'median', 'min–max', 'ratio to node -e 0'], s.rows.map((x) => [`\`${x.command}\``, ms(x.wall.median), range(x.wall), x.ratio])));
  }
  if (r.session) {
    const s = r.session;
    lines.push(
      '',
      `## 2. One server, ${s.delayMs} ms before every reply (${s.reps} runs each)`,
      '',
      `Minimum for one session: (N+3)×${s.delayMs} + node start-up (${ms(s.nodeStartupMs)}), as in the issue (greeting, EHLO, N ETRN, QUIT), and (N+2)×${s.delayMs} + start-up, the replies etrn waits for (it does not wait for the 221 to QUIT). ` +
        `fetchmail ${s.fetchmailVersion} runs in a private UTS+mount namespace (loopback-only name lookups), which costs ${ms(s.namespaceOverhead.median)} ms by itself (\`unshare … true\`, ${range(s.namespaceOverhead)}); "net" is its median less that. ` +
        'spawn→connect: from spawn to the server accepting; QUIT→exit: from the server reading QUIT to the process exit; ' +
        'turn: from the server writing a reply to the client\'s next command (median, ms: client and loopback cost per reply); server pause: from a command to its reply (the 50 ms plus timer lateness).',
      '',
    );
    lines.push(
      ...table(
        ['N', 'client', 'sessions', 'median', 'min–max', 'net', '(N+3) min', '×', '(N+2) min', '×', 'spawn→connect', 'QUIT→exit', 'turn', 'server pause'],
        s.rows.map((x) => [x.nodes, x.client, x.sessions, ms(x.wall.median), range(x.wall), x.netMs === undefined ? '' : ms(x.netMs), ms(x.minIssueMs), x.vsIssue, ms(x.minWaitedMs), x.vsWaited, ms(x.spawnToConnectMs), ms(x.quitToExitMs), x.turnMs, x.serverPauseMs]),
      ),
    );
  }
  if (r.sendmail) {
    const s = r.sendmail;
    const p = s.perSession100;
    const outcome = p.killed
      ? `> ${SENDMAIL_LIMIT_MS / 1000} s (killed)`
      : `${p.ms === null ? '–' : p.ms >= 10_000 ? ms(p.ms) : `${ms(p.ms)} ms`}, exit ${p.exitCode}, ${p.accepted} of ${s.nodes} accepted${p.error ? `: ${p.error.replace(/^etrn: /, '')}` : ''}`;
    lines.push('', `## 3. Sendmail ${s.version} lab, ${s.nodes} nodes`, '');
    lines.push(
      ...table(
        ['etrn', 'runs', 'median', 'min–max / outcome'],
        [
          [`default --per-session 8 (${Math.ceil(s.nodes / 8)} sessions)`, s.reps, ms(s.defaultWall.median), `${range(s.defaultWall)}; ${s.defaultSlowRuns} of ${s.reps} runs ≥ 1 s`],
          ['--per-session 100 (one session)', 1, p.killed ? `> ${SENDMAIL_LIMIT_MS / 1000} s` : ms(p.ms), outcome],
        ],
      ),
    );
    lines.push('', `ETRN reply times in the one session (ms, in order; – = never answered): ${p.etrnReplyMs.map((x) => (x === null ? '–' : Math.round(x))).join(', ')}`);
  }
  if (r.hosts) {
    const s = r.hosts;
    lines.push(
      '',
      `## 4. --etrn-hosts, one node per server, ${s.delayMs} ms before every reply (${s.reps} runs; -j 16: ${s.refReps})`,
      '',
      `ideal: ceil(servers / jobs) × 3 replies × ${s.delayMs} ms + node start-up. "× one" is against --etrn-hosts with 1 server (boot check included). Peak RSS of the etrn process by /usr/bin/time (%M); \`node -e 0\` peaks at ${s.nodeRssMb} MB. spawn→connect includes the boot check. max concurrent: most sessions open at once, seen by the server. turn: median client turnaround per reply, ms.`,
      '',
    );
    lines.push(
      ...table(
        ['servers', 'mode', '-j', 'runs', 'median', 'min–max', 'ideal', '× one', 'peak RSS MB (median, max)', 'max concurrent', 'spawn→connect', 'turn'],
        s.rows.map((x) => [x.servers, x.mode, x.jobs ?? '', x.runs, ms(x.wall.median), range(x.wall), ms(x.idealMs), x.vsOne, `${round(x.rssMb.median)}, ${round(x.rssMb.max)}`, x.maxConcurrent, ms(x.spawnToConnectMs), x.turnMs]),
      ),
    );
  }
  for (const [name, s] of Object.entries(r.standalone ?? {})) {
    lines.push('', `## 5. ${s.title} (\`--only ${name}\`)`, '', `\`${s.command}\`:`, '', '```json', JSON.stringify(s.result, null, 2), '```');
  }
  if (r.targets) {
    lines.push('', '## Targets', '');
    lines.push(...table(['target', 'goal', 'measured', 'holds', 'margin'], r.targets.map((t) => [t.name, t.goal, t.value, t.holds ? 'yes' : '**no**', t.margin])));
  }
  if (r.totalSeconds !== undefined) lines.push('', `Whole bench: ${round(r.totalSeconds, 0)} s.`);
  return `${lines.join('\n')}\n`;
}
