// Cyrus SASL for the Postfix lab (test/lab/postfix.ts), from the packages
// lab/install-sasl.sh unpacks into ${ETRN_LAB_CACHE:-<repo>/.cache/lab}/sasl:
// a private sasldb (auxprop) with one account, an smtpd.conf that offers
// SCRAM-SHA-256 and PLAIN, and the main.cf lines that make smtpd use them
// (smtpd_sasl_type = cyrus, cyrus_sasl_config_path, SASL_PATH for the
// plugins). Passwords go to saslpasswd2 as raw UTF-8 bytes: Cyrus stores and
// compares them as they are (it does no SASLprep of its own).
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labEnv, labRoot, runOk } from './mta-common.js';

export interface CyrusSasl {
  /** main.cf lines for PostfixLabOptions.mainCf. */
  readonly mainCf: readonly string[];
  /** The plugin folder (SASL_PATH). */
  readonly plugins: string;
  /** The account names in the sasldb (user@realm), as sasldblistusers2 shows them. */
  listUsers(): Promise<string>;
}

export interface CyrusSaslOptions {
  /**
   * A folder of the lab (created; must be readable by the postfix user).
   * Debian's smtpd reads smtpd.conf from $config_directory/sasl whatever
   * cyrus_sasl_config_path says: pass <lab>/etc/sasl.
   */
  readonly dir: string;
  /** The realm (smtpd_sasl_local_domain). */
  readonly realm: string;
  readonly user: string;
  /** Stored as these UTF-8 bytes. */
  readonly password: string;
  readonly mechanisms?: readonly string[];
}

/** The multiarch plugin folder inside the unpacked tree (usr/lib/<triplet>/sasl2). */
function pluginDir(root: string): string {
  const triplets = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf', 'i386-linux-gnu'];
  const found = triplets.map((t) => join(root, 'usr/lib', t, 'sasl2')).find((d) => existsSync(join(d, 'libscram.so')));
  if (!found) throw new Error(`sasl lab: no usr/lib/*/sasl2/libscram.so in ${root}: run \`sudo lab/install-sasl.sh\``);
  return found;
}

/** Writes smtpd.conf and the sasldb with the account; returns the main.cf lines. */
export async function setUpCyrusSasl(o: CyrusSaslOptions, postfixGid: number): Promise<CyrusSasl> {
  const root = labRoot('sasl', ['usr/sbin/saslpasswd2', 'usr/sbin/sasldblistusers2']);
  const plugins = pluginDir(root);
  const dir = o.dir;
  await mkdir(dir, { recursive: true, mode: 0o750 });
  await chown(dir, 0, postfixGid);
  const sasldb = join(dir, 'sasldb2');
  const conf = [
    'pwcheck_method: auxprop',
    'auxprop_plugin: sasldb',
    `mech_list: ${(o.mechanisms ?? ['SCRAM-SHA-256', 'PLAIN']).join(' ')}`,
    `sasldb_path: ${sasldb}`,
    'log_level: 7',
    '',
  ].join('\n');
  await writeFile(join(dir, 'smtpd.conf'), conf);
  await writeFile(join(dir, 'saslpasswd.conf'), conf);
  const env = labEnv({ SASL_PATH: plugins, SASL_CONF_PATH: dir });
  const saslpasswd2 = join(root, 'usr/sbin/saslpasswd2');
  await runOk('saslpasswd2', saslpasswd2, ['-f', sasldb, '-c', '-p', '-u', o.realm, o.user], { env, input: o.password });
  await chown(sasldb, 0, postfixGid);
  await chmod(sasldb, 0o640);
  return {
    plugins,
    mainCf: [
      'smtpd_sasl_auth_enable = yes',
      'smtpd_sasl_type = cyrus',
      'smtpd_sasl_path = smtpd',
      `cyrus_sasl_config_path = ${dir}`,
      `smtpd_sasl_local_domain = ${o.realm}`,
      'smtpd_sasl_security_options = noanonymous',
      'smtpd_tls_auth_only = yes',
      // ETRN only for an authenticated client: a failed AUTH cannot flush anything.
      'smtpd_etrn_restrictions = permit_sasl_authenticated, reject',
    ],
    listUsers: async () =>
      (await runOk('sasldblistusers2', join(root, 'usr/sbin/sasldblistusers2'), ['-f', sasldb], { env })).stdout,
  };
}
