// Discovery of the nodes to ask for when no client-host is given: this
// host's fully qualified name, then sendmail's class w (see sendmail-cf.ts).
// The thin file-reading layer over the pure parsers.
import { hostname } from 'node:os';
import { ConfigError } from '../errors.js';
import { InvalidNameError } from '../errors.js';
import { CONFIG_FILE_MAX_BYTES, readRegularFile, UnreadableFileError } from './bounded-read.js';
import { normalizeDomain, uniqueNames } from '../names/node.js';
import type { Diagnostic } from './diagnostic.js';
import { isLocalOrLiteral } from './local-names.js';
import { parseClassFile, parseSendmailCf } from './sendmail-cf.js';

export const DEFAULT_SENDMAIL_CF = '/etc/mail/sendmail.cf';

export interface Discovery {
  /** Names to send ETRN for, in order, without duplicates or localhost names. */
  readonly nodes: string[];
  readonly warnings: Diagnostic[];
}

async function readConfig(path: string, what: string, signal: AbortSignal | undefined): Promise<string> {
  return (await readRegularFile(path, { what, maxBytes: CONFIG_FILE_MAX_BYTES, signal })).text;
}

/**
 * The nodes from sendmail.cf's class w, with `fqdn` first. Throws
 * ConfigError (a file that is missing, not a regular file, or over
 * CONFIG_FILE_MAX_BYTES), or the signal's reason when the run is stopped.
 */
export async function discoverSendmailNodes(sendmailCf: string, fqdn: string, signal?: AbortSignal): Promise<Discovery> {
  const cf = parseSendmailCf(await readConfig(sendmailCf, 'sendmail.cf', signal), sendmailCf);
  const warnings: Diagnostic[] = [...cf.warnings];
  const candidates: { word: string; file: string; line: number }[] = [{ word: fqdn, file: '(host name)', line: 0 }];
  for (const entry of cf.entries) {
    if ('word' in entry) {
      candidates.push(entry);
      continue;
    }
    let text: string;
    try {
      text = await readConfig(entry.path, 'class file', signal);
    } catch (error) {
      if (!(error instanceof UnreadableFileError)) throw error;
      if (entry.optional) {
        warnings.push({ file: sendmailCf, line: entry.line, message: `optional class file ${entry.path} skipped: ${error.reason}` });
        continue;
      }
      throw new ConfigError(`cannot read class file (named at ${sendmailCf}:${entry.line}): ${error.reason}`, entry.path);
    }
    candidates.push(...parseClassFile(text, entry.path));
  }
  const nodes: string[] = [];
  for (const { word, file, line } of candidates) {
    if (isLocalOrLiteral(word)) continue;
    try {
      nodes.push(normalizeDomain(word, 'class w name'));
    } catch (error) {
      if (!(error instanceof InvalidNameError)) throw error;
      warnings.push({ file, line, message: `skipped ${error.message}` });
    }
  }
  return { nodes: uniqueNames(nodes), warnings };
}

/**
 * This host's fully qualified name: the system host name if it has a dot;
 * else, from the /etc/hosts line that lists it, a name that extends it
 * ("vm" → "vm.example.net"), or that line's first name if qualified (as
 * gethostbyname would answer with "hosts: files"); else the bare host
 * name. No DNS query is made.
 */
export async function localFqdn(hostsFile = '/etc/hosts', signal?: AbortSignal): Promise<string> {
  const short = hostname();
  if (short.includes('.')) return short;
  let text = '';
  try {
    text = await readConfig(hostsFile, 'hosts file', signal);
  } catch (error) {
    if (error instanceof ConfigError) return short;
    throw error;
  }
  return canonicalFromHosts(text, short) ?? short;
}

/** From the hosts(5) line that lists `name`: a qualified name extending it, else its qualified first name. */
export function canonicalFromHosts(text: string, name: string): string | null {
  for (const raw of text.split('\n')) {
    const fields = raw.replace(/#.*/, '').trim().split(/\s+/);
    const names = fields.slice(1);
    if (!names.some((n) => n.toLowerCase() === name.toLowerCase())) continue;
    const canonical = names.find((n) => n.includes('.') && n.toLowerCase().startsWith(`${name.toLowerCase()}.`));
    if (canonical) return canonical;
    const first = names[0];
    if (first && first.includes('.')) return first;
  }
  return null;
}
