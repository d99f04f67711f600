// The run's trust anchors (src/transport/trust.ts): Node's roots, the bundle
// file and c_rehash directory OpenSSL reads (SSL_CERT_FILE, SSL_CERT_DIR),
// NODE_EXTRA_CA_CERTS; bounded, deduplicated, tolerant of bad entries;
// --tls-ca replaces them all. Fixtures are temporary folders, never the
// host's store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { TRUST_LIMITS, buildTrust, loadTrustAnchors } from '../../src/transport/trust.js';
import { makeCerts } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';

const certs = makeCerts();
const CA = certs.ca.trim();
const LEAF = certs.cert.trim();
const has = (list: readonly string[], pem: string): boolean => list.some((c) => c.replace(/\s+/g, '') === pem.replace(/\s+/g, ''));
const only = { nodeRoots: false, env: {} } as const;

test("Node's bundled roots come first, each once", async () => {
  const a = await loadTrustAnchors({ env: {}, bundles: [], dirs: [] });
  assert.equal(a.certificates.length, new Set(rootCertificates).size);
  assert.deepEqual(a.sources, ['node']);
});

test('the first bundle file that exists is read, and only it', async () => {
  const dir = tempDir('trust');
  writeFileSync(join(dir, 'second.crt'), CA);
  writeFileSync(join(dir, 'third.crt'), LEAF);
  const a = await loadTrustAnchors({ ...only, bundles: [join(dir, 'missing.crt'), join(dir, 'second.crt'), join(dir, 'third.crt')], dirs: [] });
  assert.ok(has(a.certificates, CA));
  assert.ok(!has(a.certificates, LEAF));
  assert.deepEqual(a.skipped, [], 'a missing default bundle is no news');
});

test('SSL_CERT_FILE replaces the default bundles; SSL_CERT_DIR the default directories', async () => {
  const dir = tempDir('trust');
  writeFileSync(join(dir, 'default.crt'), LEAF);
  writeFileSync(join(dir, 'mine.crt'), CA);
  const hashed = join(dir, 'hashed');
  mkdirSync(hashed);
  writeFileSync(join(hashed, '0123abcd.0'), LEAF);
  const a = await loadTrustAnchors({ nodeRoots: false, env: { SSL_CERT_FILE: join(dir, 'mine.crt') }, bundles: [join(dir, 'default.crt')], dirs: [] });
  assert.deepEqual(a.certificates.map((c) => c.trim()), [CA]);
  const b = await loadTrustAnchors({ nodeRoots: false, env: { SSL_CERT_DIR: `/nonexistent:${hashed}` }, bundles: [], dirs: [join(dir, 'nothing')] });
  assert.deepEqual(b.certificates.map((c) => c.trim()), [LEAF]);
  assert.deepEqual(b.sources, [hashed]);
});

test('a hashed directory: HASH.N entries are read (as OpenSSL looks them up), other names are not; duplicates count once', async () => {
  const dir = tempDir('trust');
  writeFileSync(join(dir, 'site-ca.pem'), CA);
  symlinkSync('site-ca.pem', join(dir, 'abcdef01.0'));
  symlinkSync('site-ca.pem', join(dir, 'abcdef01.1'));
  writeFileSync(join(dir, 'loose.pem'), LEAF);
  writeFileSync(join(dir, 'abcdef01.r0'), LEAF); // a CRL name
  writeFileSync(join(dir, 'bundle.crt'), CA);
  const a = await loadTrustAnchors({ ...only, bundles: [join(dir, 'bundle.crt')], dirs: [dir] });
  assert.deepEqual(a.certificates.map((c) => c.trim()), [CA]);
});

test('unreadable entries are skipped with a note, never thrown: a dangling link, a directory, a FIFO, an oversized file', async () => {
  const dir = tempDir('trust');
  symlinkSync('nowhere.pem', join(dir, '11111111.0'));
  mkdirSync(join(dir, '22222222.0'));
  execFileSync('mkfifo', [join(dir, '55555555.0')]);
  writeFileSync(join(dir, '33333333.0'), CA);
  const big = join(dir, '44444444.0');
  writeFileSync(big, LEAF);
  truncateSync(big, TRUST_LIMITS.entryBytes + 1);
  const bigBundle = join(dir, 'big.crt');
  writeFileSync(bigBundle, '');
  truncateSync(bigBundle, TRUST_LIMITS.bundleBytes + 1);
  const a = await loadTrustAnchors({ ...only, bundles: [bigBundle], dirs: [dir] });
  assert.deepEqual(a.certificates.map((c) => c.trim()), [CA]);
  assert.equal(a.skipped.length, 5, a.skipped.join('\n'));
  assert.ok(a.skipped.some((s) => s.startsWith(join(dir, '11111111.0')) && s.includes('ENOENT')));
  assert.ok(a.skipped.some((s) => s.startsWith(join(dir, '22222222.0')) && s.includes('not a regular file')));
  assert.ok(a.skipped.some((s) => s.startsWith(join(dir, '55555555.0')) && s.includes('not a regular file')), 'a FIFO is not waited on');
  assert.ok(a.skipped.some((s) => s.startsWith(big) && s.includes('too large')));
  assert.ok(a.skipped.some((s) => s.startsWith(bigBundle) && s.includes('too large')));
});

test('NODE_EXTRA_CA_CERTS is added', async () => {
  const dir = tempDir('trust');
  writeFileSync(join(dir, 'extra.pem'), `${CA}\n${LEAF}\n`);
  const a = await loadTrustAnchors({ nodeRoots: false, env: { NODE_EXTRA_CA_CERTS: join(dir, 'extra.pem') }, bundles: [], dirs: [] });
  assert.equal(a.certificates.length, 2);
});

test('buildTrust: --tls-ca replaces every other anchor; a corrupt PEM block does not fail the run', async () => {
  const withCa = await buildTrust(certs.ca);
  assert.equal(withCa.count, 1);
  assert.deepEqual(withCa.sources, ['--tls-ca']);
  const dir = tempDir('trust');
  writeFileSync(join(dir, 'bundle.crt'), `-----BEGIN CERTIFICATE-----\nAAAAnotacert\n-----END CERTIFICATE-----\n${CA}\n`);
  const system = await buildTrust(undefined, { env: {}, bundles: [join(dir, 'bundle.crt')], dirs: [] });
  assert.ok(system.count > rootCertificates.length);
  assert.ok(system.ms >= 0);
});
