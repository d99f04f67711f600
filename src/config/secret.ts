// Where the AUTH secret comes from: a file (--auth-password-file), the
// ETRN_PASSWORD environment variable or a systemd credential
// ($CREDENTIALS_DIRECTORY/etrn-password, from LoadCredential=), never the
// command line (argv is visible to every local user in ps).
import { join } from 'node:path';
import { ConfigError, UsageError } from '../errors.js';
import { readRegularFile, SECRET_FILE_MAX_BYTES } from './bounded-read.js';

export interface Secret {
  readonly password: string;
  /** A warning to show (a file readable by others). */
  readonly warning: string | null;
}

/**
 * Reads the first line of a password file (a regular file of at most
 * SECRET_FILE_MAX_BYTES); warns when group or others may read it.
 */
export async function readPasswordFile(path: string, signal?: AbortSignal): Promise<Secret> {
  const { text, mode } = await readRegularFile(path, { what: 'password file', maxBytes: SECRET_FILE_MAX_BYTES, signal });
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') throw new ConfigError('password file is empty', path);
  const warning = (mode & 0o077) !== 0 ? `${path}: password file is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it` : null;
  return { password, warning };
}

/** The name of the systemd credential etrn reads (LoadCredential=etrn-password:FILE). */
export const CREDENTIAL_NAME = 'etrn-password';

/**
 * The secret for --auth-user: the file if given, else ETRN_PASSWORD, else the
 * systemd credential when the service manager passed one
 * ($CREDENTIALS_DIRECTORY is set only for units with LoadCredential= etc.).
 */
export async function findSecret(file: string | undefined, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<Secret> {
  if (file !== undefined) return readPasswordFile(file, signal);
  const password = env.ETRN_PASSWORD;
  if (password === undefined || password === '') {
    const credentials = env.CREDENTIALS_DIRECTORY;
    if (credentials !== undefined && credentials !== '') return readPasswordFile(join(credentials, CREDENTIAL_NAME), signal);
    throw new UsageError(
      '--auth-user needs the secret in ETRN_PASSWORD or --auth-password-file FILE (or the systemd credential etrn-password)',
    );
  }
  return { password, warning: null };
}
