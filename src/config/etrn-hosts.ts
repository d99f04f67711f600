// Parsing of ETRN_HOSTS (etrn(1M), Solaris /etc/default/sendmail) and of
// --etrn-hosts: white-space separated groups `server[:client[,client...]]`,
// each one session with `server` asking for its clients (RFC 1985 §4 nodes),
// or for the discovered names when the group has no `:clients`. Pure: checks
// every name before anything is sent.
import { isIPv6 } from 'node:net';
import { InvalidNameError, UsageError } from '../errors.js';
import { normalizeNodes } from '../names/node.js';
import { serverHostName } from '../names/server.js';
import { quote } from '../escape.js';

/** Most groups one ETRN_HOSTS may hold. */
export const MAX_GROUPS = 1000;
/** Most clients one group may name. */
export const MAX_NODES_PER_GROUP = 1000;

export interface EtrnHostsGroup {
  /** Host name in A-labels without a trailing dot, an IPv4 address, or an IPv6 address without brackets. */
  readonly server: string;
  /** The clients to send ETRN for, normalised, case-insensitive duplicates removed; empty: use discovery. */
  readonly nodes: string[];
  /** The group as written. */
  readonly text: string;
}

/** The shell's default field separators, as the Solaris script's `for i in $ETRN_HOSTS` split them. */
const SEPARATORS = /[ \t\r\n]+/;

/** Re-throws a name error with the group named, keeping its class and `input`. */
function inGroup(error: unknown, group: string, variable: string): never {
  if (!(error instanceof InvalidNameError)) throw error;
  throw new InvalidNameError(error.input, `${error.reason} (in ${variable} group ${quote(group)})`);
}

/** Splits a group into its server text and its client list text (null: no ":"). */
function splitGroup(group: string, variable: string): { server: string; clients: string | null; bracketed: boolean } {
  const quoted = quote(group);
  if (group.startsWith('[')) {
    const close = group.indexOf(']');
    if (close < 0) throw new UsageError(`${variable} group ${quoted} has "[" without "]"`);
    const rest = group.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) {
      throw new UsageError(`${variable} group ${quoted} has text after "]" (clients follow a ":")`);
    }
    return { server: group.slice(1, close), clients: rest === '' ? null : rest.slice(1), bracketed: true };
  }
  const colon = group.indexOf(':');
  if (colon < 0) return { server: group, clients: null, bracketed: false };
  if (group.indexOf(':', colon + 1) >= 0) {
    throw new UsageError(
      `${variable} group ${quoted} has more than one ":" (an IPv6 server goes in brackets, e.g. "[2001:db8::1]:client"; ` +
        'a port cannot be given here, use --port)',
    );
  }
  return { server: group.slice(0, colon), clients: group.slice(colon + 1), bracketed: false };
}

function parseGroupServer(server: string, bracketed: boolean, group: string, variable: string): string {
  const quoted = quote(group);
  if (server === '') throw new UsageError(`${variable} group ${quoted} has an empty server`);
  if (bracketed) {
    if (!isIPv6(server)) throw new InvalidNameError(server, `server-host in brackets must be an IPv6 address (in ${variable} group ${quoted})`);
    return server;
  }
  try {
    return serverHostName(server);
  } catch (error) {
    inGroup(error, group, variable);
  }
}

function parseGroupClients(clients: string, group: string, variable: string): string[] {
  const quoted = quote(group);
  if (clients === '') throw new UsageError(`${variable} group ${quoted} has an empty client list`);
  const names = clients.split(',');
  if (names.length > MAX_NODES_PER_GROUP) {
    throw new UsageError(`${variable} group ${quoted} names ${names.length} clients; at most ${MAX_NODES_PER_GROUP} are allowed`);
  }
  for (const name of names) {
    if (name === '') {
      throw new UsageError(
        `${variable} group ${quoted} has an empty client name (two commas, or a comma at an end; ` +
          'blanks separate groups, so none may follow a comma)',
      );
    }
    // A single all-digit client is almost surely a port written as "server:port".
    if (/^\d+$/.test(name)) {
      throw new UsageError(
        `${variable} group ${quoted}: client ${quote(name)} looks like a port; a group's server cannot carry a port, use --port`,
      );
    }
  }
  try {
    return normalizeNodes(names);
  } catch (error) {
    inGroup(error, group, variable);
  }
}

/**
 * Parses an ETRN_HOSTS value (or ATRN_HOSTS: `variable` is the name the
 * messages name). An empty or blank value gives no groups.
 * Throws UsageError for a malformed group and InvalidNameError for a bad
 * server or client name; both messages name the group.
 */
export function parseEtrnHosts(spec: string, variable = 'ETRN_HOSTS'): EtrnHostsGroup[] {
  const texts = spec.split(SEPARATORS).filter((t) => t !== '');
  if (texts.length > MAX_GROUPS) {
    throw new UsageError(`${variable} has ${texts.length} groups; at most ${MAX_GROUPS} are allowed`);
  }
  const groups = texts.map((text) => {
    const { server, clients, bracketed } = splitGroup(text, variable);
    return {
      server: parseGroupServer(server, bracketed, text, variable),
      nodes: clients === null ? [] : parseGroupClients(clients, text, variable),
      text,
    };
  });
  checkPerServer(groups, variable);
  return groups;
}

/** The client limit holds per server, also when ETRN_HOSTS names a server in several groups. */
function checkPerServer(groups: readonly EtrnHostsGroup[], variable: string): void {
  const counts = new Map<string, number>();
  for (const g of groups) {
    const key = g.server.toLowerCase();
    const n = (counts.get(key) ?? 0) + g.nodes.length;
    counts.set(key, n);
    if (n > MAX_NODES_PER_GROUP) {
      throw new UsageError(`${variable} names ${n} clients for server ${quote(g.server)} over its groups; at most ${MAX_NODES_PER_GROUP} are allowed`);
    }
  }
}
