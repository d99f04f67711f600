// A real Exim 4.96 for end-to-end tests, run from the unpacked Debian packages
// (exim4-daemon-light, exim4-base) that lab/install-exim.sh leaves in
// ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/exim (no system-wide install).
//
// Each lab has its own configuration, spool and logs in a fresh temporary
// folder and runs `exim -bdf` (foreground daemon, no queue runner) on
// 127.0.0.1:<port>, inside a private UTS + mount namespace (host name
// exim.lab.test, no DNS). Exim drops to the Debian-exim user because the
// configuration is not a trusted one; that user owns spool/ and log/.
// A manualroute router sends <domain> and *.<domain> to 127.0.0.1:<sinkPort>.
//
// ETRN: Exim's stock handling only takes `ETRN #domain` ("501 argument must
// begin with #" otherwise) and execs the compiled-in /usr/sbin/exim, which is
// not installed here. So the lab sets smtp_etrn_command to run this Exim with
// this configuration: `exim -C exim.conf -Rf <domain>`. Exim refuses to put a
// client-supplied (tainted) argument on a command line, so the domain is
// mapped through an lsearch lookup of the etrn-domains file with ret=key.
// Both `ETRN client.test` and `ETRN #client.test` are accepted ("250 OK") and
// flush client.test and its subdomains (-R matches a substring of the
// domain); an ETRN for any other node is refused by acl_smtp_etrn with
// "459 Node <node> not allowed: ..." (an ETRN ACL deny is a 4xx: without the
// code in the message Exim says "458 <message>"), and a repeat of an argument whose queue run is still going
// gets "458 Already processing <domain>" (smtp_etrn_serialize).
//
// Options (startExim(opts: EximLabOptions)):
//   - tls: STARTTLS offered to everyone (tls_advertise_hosts = *) with the
//     given certificate and key, copied into the lab folder for Debian-exim;
//   - auth: one fixed account checked by plaintext authenticators (PLAIN and
//     LOGIN by default, no SASL daemon), advertised only on a TLS connection
//     (auth_advertise_hosts), and acl_smtp_etrn then accepts only an
//     authenticated client: any other gets "458 <authRefusal>" (an ETRN ACL
//     deny is always 4xx in Exim). Needs tls.
import { chmod, chown, copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  labRoot,
  makeNamespace,
  queueWithOdq,
  reservePort,
  withLabDir,
  type MtaLab,
  type MtaLabOptions,
} from './mta-common.js';

const HOSTNAME = 'exim.lab.test';
const EXIM = 'usr/sbin/exim4';
const EXIM_USER = 'Debian-exim';

async function eximIds(): Promise<{ uid: number; gid: number }> {
  const field = async (file: string, name: string): Promise<number | undefined> => {
    const line = (await readFile(file, 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
    const id = line?.split(':')[2];
    return id === undefined ? undefined : Number(id);
  };
  const uid = await field('/etc/passwd', EXIM_USER);
  const gid = await field('/etc/group', EXIM_USER);
  if (uid === undefined || gid === undefined) {
    throw new Error(`exim lab not installed: run \`sudo lab/install-exim.sh\` (no ${EXIM_USER} user or group)`);
  }
  return { uid, gid };
}

export interface EximLabOptions extends MtaLabOptions {
  /** Offer STARTTLS with this certificate and key (PEM). Default: no TLS. */
  tls?: { certFile: string; keyFile: string };
  /**
   * One SMTP AUTH account, offered only after STARTTLS (needs `tls`), and
   * ETRN only for a client that authenticated with it. `mechanisms`: the
   * plaintext authenticators to offer, default both PLAIN and LOGIN.
   * User and password: letters, digits and -._@+ only (they go into the
   * configuration verbatim).
   */
  auth?: { user: string; password: string; mechanisms?: readonly ('PLAIN' | 'LOGIN')[] };
}

export interface EximLab extends MtaLab {
  /** Exim's main log so far (log/mainlog): connections, AUTH, ETRN, deliveries. */
  mainlog(): Promise<string>;
}

/** The text of Exim's ETRN refusal (after "458 ") for a client that did not authenticate. */
export const authRefusal = 'ETRN only after AUTH';

export async function startExim(opts: EximLabOptions): Promise<EximLab> {
  const root = labRoot('exim', [EXIM]);
  const ids = await eximIds();
  const domain = opts.domain ?? 'client.test';
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const exim = join(root, EXIM);
  if (opts.auth && !opts.tls) throw new Error('exim lab: auth needs tls (AUTH is offered only after STARTTLS)');
  for (const v of opts.auth ? [opts.auth.user, opts.auth.password] : []) {
    if (!/^[A-Za-z0-9._@+-]+$/.test(v)) throw new Error(`exim lab: auth user/password ${JSON.stringify(v)}: only letters, digits and -._@+`);
  }
  const mechanisms = opts.auth?.mechanisms ?? ['PLAIN', 'LOGIN'];
  if (opts.auth && mechanisms.length === 0) throw new Error('exim lab: auth with no mechanisms');

  return withLabDir('exim', timeoutMs, async (life) => {
    const { dir } = life;
    await chmod(dir, 0o755); // Debian-exim must reach spool/, log/ and the configuration
    const spool = join(dir, 'spool');
    const log = join(dir, 'log');
    for (const d of [spool, log]) {
      await mkdir(d, { mode: 0o750 });
      await chown(d, ids.uid, ids.gid);
    }
    const conf = join(dir, 'exim.conf');
    const etrnDomains = join(dir, 'etrn-domains');
    await writeFile(etrnDomains, `${domain}\n`);
    let tls: { certFile: string; keyFile: string } | undefined;
    if (opts.tls) {
      // Exim reads them as Debian-exim (it drops root for an untrusted -C configuration).
      const tlsDir = join(dir, 'tls');
      await mkdir(tlsDir, { mode: 0o750 });
      await chown(tlsDir, ids.uid, ids.gid);
      tls = { certFile: join(tlsDir, 'cert.pem'), keyFile: join(tlsDir, 'key.pem') };
      await copyFile(opts.tls.certFile, tls.certFile);
      await copyFile(opts.tls.keyFile, tls.keyFile);
      await chmod(tls.certFile, 0o644);
      await chmod(tls.keyFile, 0o600);
      await chown(tls.certFile, ids.uid, ids.gid);
      await chown(tls.keyFile, ids.uid, ids.gid);
    }
    const auth = opts.auth ? { user: opts.auth.user, password: opts.auth.password, mechanisms } : undefined;
    const port = await reservePort();
    await writeFile(conf, config({ dir, exim, conf, etrnDomains, port, sinkPort: opts.sinkPort, domain, tls, auth }));

    const namespace = await makeNamespace(dir, HOSTNAME);
    const inNs = (args: string[]): [string, string[]] => namespace.wrap(exim, ['-C', conf, ...args]);

    const { banner } = await life.startDaemon(inNs(['-bdf', '-oX', String(port)]), port, {
      alsoSee: `${log}/mainlog`,
      exited: async (d) => {
        const why = await readFile(join(log, 'paniclog'), 'utf8').catch(() => '');
        return `exim lab: exim -bdf exited at start (see ${d.logFile}) ${why.trim()}`;
      },
    });
    // "220 exim.lab.test ESMTP Exim 4.96 <date>"
    const version = /Exim ([0-9][^ ]*)/.exec(banner)?.[1] ?? 'unknown';

    const lab: EximLab = {
      name: 'exim',
      version,
      host: '127.0.0.1',
      port,
      dir,
      queueMessage: (to) => queueWithOdq('Exim', inNs, to, timeoutMs),
      async queueIds() {
        const files = await readdir(join(spool, 'input')).catch(() => [] as string[]);
        return files.filter((f) => f.endsWith('-H')).map((f) => f.slice(0, -2)).sort();
      },
      mainlog() {
        return readFile(join(log, 'mainlog'), 'utf8').catch(() => '');
      },
      stop: () => life.stop(),
    };
    return lab;
  });
}

function config(o: {
  dir: string;
  exim: string;
  conf: string;
  etrnDomains: string;
  port: number;
  sinkPort: number;
  domain: string;
  tls?: { certFile: string; keyFile: string } | undefined;
  auth?: { user: string; password: string; mechanisms: readonly ('PLAIN' | 'LOGIN')[] } | undefined;
}): string {
  // The ETRN argument, with the leading # of Exim's stock syntax dropped.
  const node = '${sg{$smtp_command_argument}{\\N^#\\N}{}}';
  const nodeCmd = '${sg{$domain}{\\N^#\\N}{}}';
  const tlsMain = o.tls
    ? `tls_advertise_hosts = *
tls_certificate = ${o.tls.certFile}
tls_privatekey = ${o.tls.keyFile}`
    : 'tls_advertise_hosts =';
  // AUTH only on a TLS connection: empty host list (no one) while $tls_in_cipher is empty.
  const authMain = o.auth ? 'auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}\n' : '';
  const etrnAcl = o.auth
    ? `acl_etrn:
  deny   message = ${authRefusal}
         !authenticated = *
  accept hosts = 127.0.0.0/8
         authenticated = *
         condition = \${lookup{${node}}lsearch{${o.etrnDomains}}{yes}{no}}
  deny   message = 459 Node $smtp_command_argument not allowed: no mail is relayed for it here`
    : `acl_etrn:
  accept hosts = 127.0.0.0/8
         condition = \${lookup{${node}}lsearch{${o.etrnDomains}}{yes}{no}}
  deny   message = 459 Node $smtp_command_argument not allowed: no mail is relayed for it here`;
  const authenticators = o.auth
    ? `
begin authenticators
${o.auth.mechanisms
  .map((m) =>
    m === 'PLAIN'
      ? `plain_server:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and {{eq{$auth2}{${o.auth!.user}}}{eq{$auth3}{${o.auth!.password}}}}}
  server_set_id = $auth2`
      : `login_server:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = \${if and {{eq{$auth1}{${o.auth!.user}}}{eq{$auth2}{${o.auth!.password}}}}}
  server_set_id = $auth1`,
  )
  .join('\n')}
`
    : '';
  return `# etrn test lab: queues mail for ${o.domain} until ETRN.
primary_hostname = ${HOSTNAME}
qualify_domain = lab.test
spool_directory = ${join(o.dir, 'spool')}
log_file_path = ${join(o.dir, 'log')}/%slog
pid_file_path = ${join(o.dir, 'exim.pid')}
daemon_smtp_ports = ${o.port}
local_interfaces = 127.0.0.1
disable_ipv6 = true
# no DNS, no ident
host_lookup =
rfc1413_hosts =
rfc1413_query_timeout = 0s
keep_environment =
${tlsMain}
${authMain}never_users =
trusted_users = root
deliver_drop_privilege = true
log_selector = +smtp_connection +smtp_protocol_error +smtp_syntax_error +arguments

acl_smtp_rcpt = acl_rcpt
# ETRN is advertised only when acl_smtp_etrn is set.
acl_smtp_etrn = acl_etrn
# The client's argument is tainted: only the key of a lookup may reach the command line.
smtp_etrn_command = ${o.exim} -C ${o.conf} -Rf \${lookup{${nodeCmd}}lsearch,ret=key{${o.etrnDomains}}}
smtp_etrn_serialize = true

begin acl
acl_rcpt:
  accept hosts = 127.0.0.0/8
  deny
${etrnAcl}
${authenticators}
begin routers
to_sink:
  driver = manualroute
  domains = ${o.domain} : *.${o.domain}
  route_list = * 127.0.0.1
  # 127.0.0.1 is this host: deliver there all the same (another port)
  self = send
  transport = to_sink
  no_more

begin transports
to_sink:
  driver = smtp
  port = ${o.sinkPort}
  allow_localhost
  hosts_avoid_tls = *

begin retry
# Hours: nothing but ETRN (-Rf forces) retries.
* * F,4h,4h
`;
}
