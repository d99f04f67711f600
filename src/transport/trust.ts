// The trust anchors a run verifies server certificates against. Node's own
// CA list is its bundled Mozilla roots unless Node was built to use
// OpenSSL's store (Debian's is, the upstream binaries are not), so a site's
// CA added with update-ca-certificates would be trusted by one Node build
// and not by another. This module makes them all alike: Node's bundled roots
// plus the store OpenSSL itself reads (the bundle file, SSL_CERT_FILE, and
// the c_rehash directory, SSL_CERT_DIR) plus NODE_EXTRA_CA_CERTS; or, with
// --tls-ca, that file alone. Read once per run, on its first TLS handshake;
// every file is bounded in size and an unreadable entry is skipped. The
// reads are synchronous: a few hundred small local files take a few ms that
// way, several times less than through the thread pool, and no special file
// (a FIFO named like a certificate) can hold the run: it is opened without
// blocking and skipped unless it is a regular file.
import { closeSync, constants, fstatSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type SecureContext, createSecureContext, rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';

/** The bundle files OpenSSL builds use by default, in the order tried (the first that exists is read). */
export const SYSTEM_BUNDLES: readonly string[] = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Gentoo, Arch
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/pki/tls/cacert.pem', // OpenELEC
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS, RHEL 7
  '/etc/ssl/cert.pem', // Alpine, BSDs
];
/** The hashed directory OpenSSL looks certificates up in by default. */
export const SYSTEM_DIRS: readonly string[] = ['/etc/ssl/certs'];

/** Limits: a bundle file, one file of a hashed directory, entries read from one directory, bytes in all. */
export const TRUST_LIMITS = Object.freeze({
  bundleBytes: 8 * 1024 * 1024,
  entryBytes: 256 * 1024,
  dirEntries: 4096,
  totalBytes: 32 * 1024 * 1024,
});

/** c_rehash names: eight hex digits, a dot, a number (".rN" are CRLs). */
const HASHED = /^[0-9a-f]{8}\.\d+$/;
const PEM_BLOCK = /-----BEGIN (TRUSTED )?CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END \1CERTIFICATE-----/g;

export interface TrustAnchors {
  /** PEM certificates, each once. */
  readonly certificates: readonly string[];
  /** Where they came from ("node", files, directories), for -v. */
  readonly sources: readonly string[];
  /** Entries skipped, with why ("FILE: too large"). */
  readonly skipped: readonly string[];
}

/** Where to look; tests and embedders may point elsewhere. */
export interface TrustLookup {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly bundles?: readonly string[];
  readonly dirs?: readonly string[];
  /** Include Node's bundled roots (default true). */
  readonly nodeRoots?: boolean;
}

/**
 * What tells one PEM certificate from another whatever its line length
 * (Node wraps at 72, Debian at 64): the last 64 base64 digits, which encode
 * the signature, a few hundred bytes no two certificates share. Cheaper
 * than normalizing whole certificates.
 */
function identity(pem: string): string {
  const end = pem.lastIndexOf('-----END');
  return pem.slice(Math.max(0, end - 200), end).replace(/\s+/g, '').slice(-64);
}

class Collector {
  readonly certificates: string[] = [];
  readonly sources: string[] = [];
  readonly skipped: string[] = [];
  private readonly seen = new Set<string>();
  private bytes = 0;

  add(source: string, text: string): number {
    let added = 0;
    for (const match of text.matchAll(PEM_BLOCK)) {
      const key = identity(match[0]);
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.certificates.push(match[0]);
      added += 1;
    }
    if (added > 0 && !this.sources.includes(source)) this.sources.push(source);
    return added;
  }

  /** Reads `file` if it is a regular file within `limit` bytes; null (and a note) otherwise, or when absent and `quietIfMissing`. */
  read(file: string, limit: number, quietIfMissing: boolean): string | null {
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      if (!(quietIfMissing && code === 'ENOENT')) this.skipped.push(`${file}: ${code}`);
      return null;
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) {
        this.skipped.push(`${file}: not a regular file`);
        return null;
      }
      if (stat.size > limit || this.bytes + stat.size > TRUST_LIMITS.totalBytes) {
        this.skipped.push(`${file}: too large (${stat.size} bytes)`);
        return null;
      }
      this.bytes += stat.size;
      return readFileSync(fd, 'latin1');
    } catch (error) {
      this.skipped.push(`${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      return null;
    } finally {
      closeSync(fd);
    }
  }
}

/** The list of `name` in `env`, split on ':' as OpenSSL does for SSL_CERT_DIR; undefined when unset or empty. */
function envList(env: Readonly<Record<string, string | undefined>>, name: string): string[] | undefined {
  const value = env[name];
  return value ? value.split(':').filter((p) => p !== '') : undefined;
}

/** Reads the system store OpenSSL uses, plus Node's roots and NODE_EXTRA_CA_CERTS. Never throws. */
export function loadTrustAnchors(lookup: TrustLookup = {}): TrustAnchors {
  const env = lookup.env ?? process.env;
  const c = new Collector();
  if (lookup.nodeRoots ?? true) c.add('node', rootCertificates.join('\n'));
  // SSL_CERT_FILE replaces the default bundle, SSL_CERT_DIR the default directory (OpenSSL's rules).
  const bundleFile = env['SSL_CERT_FILE'];
  const bundles = bundleFile ? [bundleFile] : (lookup.bundles ?? SYSTEM_BUNDLES);
  for (const file of bundles) {
    const text = c.read(file, TRUST_LIMITS.bundleBytes, !bundleFile);
    if (text !== null) {
      c.add(file, text);
      break;
    }
  }
  for (const dir of envList(env, 'SSL_CERT_DIR') ?? lookup.dirs ?? SYSTEM_DIRS) readHashedDir(c, dir);
  const extra = env['NODE_EXTRA_CA_CERTS'];
  if (extra) {
    const text = c.read(extra, TRUST_LIMITS.bundleBytes, false);
    if (text !== null) c.add(extra, text);
  }
  return { certificates: c.certificates, sources: c.sources, skipped: c.skipped };
}

/** The certificates of a c_rehash directory (HASH.N files, which is what OpenSSL looks up). */
function readHashedDir(c: Collector, dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') c.skipped.push(`${dir}: ${code ?? String(error)}`);
    return;
  }
  const hashed = names.filter((n) => HASHED.test(n)).sort();
  if (hashed.length > TRUST_LIMITS.dirEntries) c.skipped.push(`${dir}: only the first ${TRUST_LIMITS.dirEntries} of ${hashed.length} entries read`);
  for (const name of hashed.slice(0, TRUST_LIMITS.dirEntries)) {
    const text = c.read(join(dir, name), TRUST_LIMITS.entryBytes, false);
    if (text !== null) c.add(dir, text);
  }
}

/** What a run verifies against, and what it cost to build. */
export interface RunTrust {
  readonly context: SecureContext;
  /** How many anchors, where from, what was skipped, how long it took (ms). */
  readonly count: number;
  readonly sources: readonly string[];
  readonly skipped: readonly string[];
  readonly ms: number;
}

/**
 * The secure context every TLS connection of a run shares: the --tls-ca
 * PEM when given (it replaces every other anchor), else the system's store
 * as above. TLS 1.2 at least.
 */
export function buildTrust(tlsCa: string | undefined, lookup?: TrustLookup): RunTrust {
  const started = performance.now();
  const anchors: TrustAnchors = tlsCa === undefined ? loadTrustAnchors(lookup) : { certificates: [tlsCa], sources: ['--tls-ca'], skipped: [] };
  const context = secureContext(anchors.certificates);
  return {
    context,
    count: tlsCa === undefined ? anchors.certificates.length : [...tlsCa.matchAll(PEM_BLOCK)].length,
    sources: anchors.sources,
    skipped: anchors.skipped,
    ms: performance.now() - started,
  };
}

/** A client context trusting `ca`; a certificate OpenSSL cannot parse is left out rather than failing the run. */
function secureContext(ca: readonly string[]): SecureContext {
  try {
    return createSecureContext({ ca: [...ca], minVersion: 'TLSv1.2' });
  } catch {
    const parsable = ca.filter((pem) => {
      try {
        new X509Certificate(pem);
        return true;
      } catch {
        return false;
      }
    });
    return createSecureContext({ ca: parsable, minVersion: 'TLSv1.2' });
  }
}
