// Reading ETRN_HOSTS from a defaults file (/etc/default/sendmail, as the
// Solaris start script did for etrn(1M)): the thin file-reading layer over
// the pure parsers in shell-assign.ts and etrn-hosts.ts.
import { ConfigError, EtrnError } from '../errors.js';
import { CONFIG_FILE_MAX_BYTES, readRegularFile } from './bounded-read.js';
import { type EtrnHostsGroup, parseEtrnHosts } from './etrn-hosts.js';
import type { Diagnostic } from './diagnostic.js';
import { parseShellAssignments } from './shell-assign.js';

export const DEFAULT_DEFAULTS_FILE = '/etc/default/sendmail';
export const ETRN_HOSTS_VARIABLE = 'ETRN_HOSTS';
/** The ATRN providers (RFC 2645), read instead of ETRN_HOSTS by `--atrn --defaults`: same syntax. */
export const ATRN_HOSTS_VARIABLE = 'ATRN_HOSTS';

export interface EtrnHostsSetting {
  /** The value of ETRN_HOSTS, or undefined if the file never sets it (or unsets it). */
  readonly value: string | undefined;
  /** The line of the assignment that set it; 0 when it is not set. */
  readonly line: number;
  readonly warnings: Diagnostic[];
}

export interface EtrnHostsFile extends EtrnHostsSetting {
  /** The parsed groups; empty when ETRN_HOSTS is unset, empty or blank. */
  readonly groups: EtrnHostsGroup[];
}

/**
 * Reads `path` (a regular file of at most CONFIG_FILE_MAX_BYTES) and returns
 * its ETRN_HOSTS. Throws ConfigError naming the file (and line).
 */
export async function readEtrnHostsFile(path: string, signal?: AbortSignal, variable = ETRN_HOSTS_VARIABLE): Promise<EtrnHostsSetting> {
  const { text } = await readRegularFile(path, { what: 'defaults file', maxBytes: CONFIG_FILE_MAX_BYTES, signal });
  const { vars, warnings } = parseShellAssignments(text, path);
  const found = vars.get(variable);
  return { value: found?.value, line: found?.line ?? 0, warnings };
}

/**
 * Reads `path` and parses its ETRN_HOSTS into groups. A malformed value is a
 * ConfigError at the line of its assignment (the file is configuration, so
 * exit 78), carrying the parser's message that names the group.
 */
export async function loadEtrnHostsFile(path: string, signal?: AbortSignal, variable = ETRN_HOSTS_VARIABLE): Promise<EtrnHostsFile> {
  const setting = await readEtrnHostsFile(path, signal, variable);
  if (setting.value === undefined) return { ...setting, groups: [] };
  try {
    return { ...setting, groups: parseEtrnHosts(setting.value, variable) };
  } catch (error) {
    if (error instanceof EtrnError) throw new ConfigError(error.message, path, setting.line);
    throw error;
  }
}
