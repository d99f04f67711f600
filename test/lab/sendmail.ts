// A real Sendmail 8.17 for end-to-end tests, run from the unpacked Debian
// packages that lab/install-sendmail.sh leaves in
// ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/sendmail (no system-wide install).
//
// Each lab builds its own sendmail.cf with m4 from a small .mc (sendmail-cf's
// m4 library), in a fresh temporary folder with its own queue, and runs
// `sendmail -bD` (foreground daemon, and no -q: there are no periodic queue
// runs at all, so only ETRN starts delivery) on 127.0.0.1:<port>.
// A mailertable routes <domain> and .<domain> to esmtp:[127.0.0.1], whose
// mailer connects to the sink's port (A=TCP $h <sinkPort>).
//
// Sendmail sleeps 60 s at start when the host name has no domain part, before
// it reads its configuration, so it runs in a private UTS + mount namespace
// with the host name sendmail.lab.test and private hosts/nsswitch/resolv.conf.
//
// What ETRN does here: `ETRN client.test` answers
// "250 2.0.0 Queuing for node client.test started" and flushes mail for
// user@client.test (not user@sub.client.test); `ETRN @client.test` flushes
// the subdomains too. After the 8th ETRN in one session, Sendmail delays each
// further ETRN reply by seconds.
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  labRoot,
  makeNamespace,
  queueWithOdq,
  reservePort,
  runOk,
  withLabDir,
  type MtaLab,
  type MtaLabOptions,
} from './mta-common.js';

const HOSTNAME = 'sendmail.lab.test';
const SENDMAIL = 'usr/libexec/sendmail/sendmail';
const MAKEMAP = 'usr/libexec/sendmail/makemap';
const CF_M4 = 'usr/share/sendmail/cf/m4/cf.m4';

export async function startSendmail(opts: MtaLabOptions): Promise<MtaLab> {
  const root = labRoot('sendmail', [SENDMAIL, MAKEMAP, CF_M4]);
  const domain = opts.domain ?? 'client.test';
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const sendmail = join(root, SENDMAIL);

  return withLabDir('sendmail', timeoutMs, async (life) => {
    const { dir } = life;
    const queue = join(dir, 'queue');
    const cf = join(dir, 'sendmail.cf');
    await mkdir(queue, { mode: 0o700 });
    await chmod(dir, 0o700);
    const port = await reservePort();
    await writeFile(join(dir, 'sendmail.mc'), mc({ root, dir, port, sinkPort: opts.sinkPort }));
    const m4 = await runOk('sendmail lab: m4', 'm4', [`-D_CF_DIR_=${join(root, 'usr/share/sendmail/cf')}/`, join(root, CF_M4), join(dir, 'sendmail.mc')], {
      timeoutMs,
    });
    await writeFile(cf, m4.stdout);
    // Mail for the domain and its subdomains goes to the sink; the domain is
    // NOT in class w (it is not local here).
    const mailertable = `${domain}\tesmtp:[127.0.0.1]\n.${domain}\tesmtp:[127.0.0.1]\n`;
    await writeFile(join(dir, 'mailertable.txt'), mailertable);
    await runOk('sendmail lab: makemap', join(root, MAKEMAP), ['-C', cf, 'hash', join(dir, 'mailertable')], { input: mailertable, timeoutMs });
    await writeFile(join(dir, 'aliases'), 'postmaster: root\nMAILER-DAEMON: postmaster\n');
    await writeFile(join(dir, 'statistics'), '');
    await writeFile(join(dir, 'service.switch'), 'hosts\tfiles\naliases\tfiles\n');

    const namespace = await makeNamespace(dir, HOSTNAME);
    const inNs = (args: string[]): [string, string[]] => namespace.wrap(sendmail, ['-C', cf, ...args]);
    await runOk('sendmail lab: newaliases', ...inNs(['-bi']), { timeoutMs });

    const { banner } = await life.startDaemon(inNs(['-bD']), port, {
      exited: async (d) => `sendmail lab: sendmail -bD exited at start (see ${d.logFile})`,
    });
    // "220 sendmail.lab.test ESMTP Sendmail 8.17.1.9/8.17.1.9/etrn-lab; <date>"
    const version = /Sendmail ([0-9][^/ ;]*)/.exec(banner)?.[1] ?? 'unknown';

    const lab: MtaLab = {
      name: 'sendmail',
      version,
      host: '127.0.0.1',
      port,
      dir,
      queueMessage: (to) => queueWithOdq('Sendmail', inNs, to, timeoutMs),
      async queueIds() {
        return (await readdir(queue)).filter((f) => f.startsWith('qf')).map((f) => f.slice(2)).sort();
      },
      stop: () => life.stop(),
    };
    return lab;
  });
}

function mc(o: { root: string; dir: string; port: number; sinkPort: number }): string {
  const d = (name: string, value: string): string => `define(\`${name}', \`${value}')dnl`;
  return [
    'divert(-1)',
    '# etrn test lab: a relay that queues mail for the test domain until ETRN.',
    'divert(0)dnl',
    "OSTYPE(`linux')dnl",
    d('confCF_VERSION', 'etrn-lab'),
    // The lab folder sits under /tmp (sticky, world-writable).
    d('confDONT_BLAME_SENDMAIL', 'TrustStickyBit'),
    d('QUEUE_DIR', join(o.dir, 'queue')),
    d('confPID_FILE', join(o.dir, 'sendmail.pid')),
    d('STATUS_FILE', join(o.dir, 'statistics')),
    d('HELP_FILE', join(o.root, 'etc/mail/helpfile')),
    d('ALIAS_FILE', join(o.dir, 'aliases')),
    d('confSERVICE_SWITCH_FILE', join(o.dir, 'service.switch')),
    d('confDOMAIN_NAME', HOSTNAME),
    d('confDONT_PROBE_INTERFACES', 'True'),
    d('confBIND_OPTS', '-DNSRCH -DEFNAMES'),
    d('confTO_QUEUEWARN', '4d'),
    d('confTO_QUEUERETURN', '5d'),
    d('confTO_CONNECT', '10s'),
    d('confTO_ICONNECT', '10s'),
    // Deliveries connect to the sink's port.
    d('ESMTP_MAILER_ARGS', `TCP $h ${o.sinkPort}`),
    d('SMTP_MAILER_ARGS', `TCP $h ${o.sinkPort}`),
    d('RELAY_MAILER_ARGS', `TCP $h ${o.sinkPort}`),
    "FEATURE(`nocanonify')dnl",
    "FEATURE(`no_default_msa')dnl",
    `FEATURE(\`mailertable', \`hash -o ${join(o.dir, 'mailertable')}')dnl`,
    `DAEMON_OPTIONS(\`Port=${o.port}, Addr=127.0.0.1, Name=MTA')dnl`,
    "MAILER(`local')dnl",
    "MAILER(`smtp')dnl",
    '',
  ].join('\n');
}
