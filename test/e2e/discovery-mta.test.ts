// End-to-end: discovery of the names a Postfix or Exim host accepts mail for
// (src/config/mta-discovery.ts), asking the real programs from Debian's
// packages that lab/install-postfix.sh and lab/install-exim.sh unpack under
// ${ETRN_LAB_CACHE:-<repo>/.cache/lab}: postconf -c <dir> with a main.cf
// written here, and exim -C <file> with a configuration written here. No
// daemon is started.
//
// A missing lab makes these tests fail (with the install command to run),
// never skip.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { parsePostfixDomains } from '../../src/config/postfix-domains.js';
import { parseEximLocalDomains } from '../../src/config/exim-domains.js';
import { detectMta, discoverEximNodes, discoverPostfixNodes, MTA_QUERY_TIMEOUT_MS } from '../../src/config/mta-discovery.js';
import { labEnv, labRoot, run } from '../lab/mta-common.js';

const POSTCONF = 'usr/sbin/postconf';
const EXIM = 'usr/sbin/exim4';

/** The unpacked Postfix: postconf, and the environment it needs (its private libraries live in usr/lib/postfix). */
function postfixLab(): { postconf: string; sbin: string; env: NodeJS.ProcessEnv } {
  const root = labRoot('postfix', [POSTCONF, 'usr/lib/postfix']);
  return { postconf: join(root, POSTCONF), sbin: join(root, 'usr/sbin'), env: labEnv({ LD_LIBRARY_PATH: join(root, 'usr/lib/postfix') }) };
}

function eximLab(): { exim: string; sbin: string; env: NodeJS.ProcessEnv } {
  const root = labRoot('exim', [EXIM]);
  return { exim: join(root, EXIM), sbin: join(root, 'usr/sbin'), env: labEnv() };
}

let scratch: string | undefined;
async function tempDir(name: string): Promise<string> {
  scratch ??= await mkdtemp(join(tmpdir(), 'etrn-discovery-mta-'));
  await chmod(scratch, 0o755);
  const dir = join(scratch, name);
  await mkdir(dir);
  return dir;
}
after(async () => {
  if (scratch !== undefined && !process.env.ETRN_LAB_KEEP) await rm(scratch, { recursive: true, force: true });
});

/**
 * A Postfix configuration folder holding `mainCf` (and an empty master.cf,
 * which postconf would warn about). Both are dated a minute back: Postfix
 * waits (up to about 2 s, polling every 0.3 s) until a just-written main.cf
 * has aged, in case it is still being edited.
 */
async function postfixConfig(name: string, mainCf: string[]): Promise<string> {
  const dir = await tempDir(name);
  const past = new Date(Date.now() - 60_000);
  for (const [file, text] of [['main.cf', `${mainCf.join('\n')}\n`], ['master.cf', '']] as const) {
    await writeFile(join(dir, file), text);
    await utimes(join(dir, file), past, past);
  }
  return dir;
}

const PARAMETERS = ['mydestination', 'virtual_mailbox_domains', 'relay_domains', 'myhostname', 'mydomain'];

/** `postconf [-x] -h <PARAMETERS>` as the values parsePostfixDomains takes. */
async function postconfValues(configDir: string, expand: boolean): Promise<{ stdout: string; values: Parameters<typeof parsePostfixDomains>[0] }> {
  const { postconf, env } = postfixLab();
  const r = await run(postconf, ['-c', configDir, '-h', ...(expand ? ['-x'] : []), ...PARAMETERS], { env, timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const [mydestination, virtual_mailbox_domains, relay_domains, myhostname, mydomain] = r.stdout.replace(/\n$/, '').split('\n') as [
    string,
    string,
    string,
    string,
    string,
  ];
  return { stdout: r.stdout, values: { mydestination, virtual_mailbox_domains, relay_domains, myhostname, mydomain } };
}

const MAIN_CF = [
  'myhostname = host.example.net',
  'mydestination = $myhostname, localhost.$mydomain, localhost, mail.example.org',
  'virtual_mailbox_domains = hash:/etc/postfix/vmd, v.example.org',
  'relay_domains = relay.example.org',
];

describe('Postfix: discoverPostfixNodes asks the real postconf', () => {
  test('mydestination, virtual_mailbox_domains and relay_domains give their names, without localhost, and the table is reported', async () => {
    const { postconf, env } = postfixLab();
    const configDir = await postfixConfig('postfix-main', MAIN_CF);
    const r = await discoverPostfixNodes({ postconf, configDir, env });
    assert.deepEqual(r, {
      nodes: ['host.example.net', 'mail.example.org', 'v.example.org', 'relay.example.org'],
      warnings: ['virtual_mailbox_domains: skipped "hash:/etc/postfix/vmd": lookup tables are not read'],
    });
  });

  test('postconf -hx prints the values expanded, postconf -h as written; the parser gets the same names from both', async () => {
    const configDir = await postfixConfig('postfix-raw', MAIN_CF);
    const expanded = await postconfValues(configDir, true);
    const raw = await postconfValues(configDir, false);
    assert.equal(
      expanded.stdout,
      'host.example.net, localhost.example.net, localhost, mail.example.org\nhash:/etc/postfix/vmd, v.example.org\nrelay.example.org\nhost.example.net\nexample.net\n',
    );
    assert.equal(
      raw.stdout,
      '$myhostname, localhost.$mydomain, localhost, mail.example.org\nhash:/etc/postfix/vmd, v.example.org\nrelay.example.org\nhost.example.net\nexample.net\n',
    );
    assert.deepEqual(parsePostfixDomains(raw.values), parsePostfixDomains(expanded.values));
  });

  test('a main.cf that sets only myhostname gives just that name: postconf -x expands the defaults', async () => {
    const { postconf, env } = postfixLab();
    const configDir = await postfixConfig('postfix-defaults', ['myhostname = host.example.net']);
    assert.deepEqual(await discoverPostfixNodes({ postconf, configDir, env }), { nodes: ['host.example.net'], warnings: [] });
    // Without -x the defaults stay references the parser cannot follow, hence -x.
    const raw = await postconfValues(configDir, false);
    assert.equal(
      raw.stdout,
      '$myhostname, localhost.$mydomain, localhost\n$virtual_mailbox_maps\n${{$compatibility_level} <level {2} ? {$mydestination} : {}}\nhost.example.net\nexample.net\n',
    );
    assert.deepEqual(parsePostfixDomains(raw.values), {
      names: ['host.example.net'],
      warnings: [
        { file: 'virtual_mailbox_domains', line: 0, message: 'skipped "$virtual_mailbox_maps": unknown parameter $virtual_mailbox_maps' },
        {
          file: 'relay_domains',
          line: 0,
          message: 'skipped "${{$compatibility_level} <level {2} ? {$mydestination} : {}}": conditional or computed parameter expressions are not evaluated',
        },
      ],
    });
  });

  test('relay_domains = $mydestination and internationalised and invalid names: normalised, duplicates dropped, invalid ones reported', async () => {
    const { postconf, env } = postfixLab();
    const configDir = await postfixConfig('postfix-names', [
      'myhostname = host.example.net',
      'mydestination = $myhostname, bücher.example, under_score.example, [192.0.2.1]',
      'relay_domains = $mydestination, Host.Example.NET., xn--bcher-kva.example',
      'virtual_mailbox_domains = /etc/postfix/virtual-domains',
    ]);
    assert.deepEqual(await discoverPostfixNodes({ postconf, configDir, env }), {
      nodes: ['host.example.net', 'xn--bcher-kva.example'],
      warnings: [
        'virtual_mailbox_domains: skipped "/etc/postfix/virtual-domains": files are not read',
        'skipped invalid name "under_score.example": Postfix name label "under_score" must be letters, digits and inner hyphens',
      ],
    });
  });

  test('postconf is found in PATH when no path is given', async () => {
    const { sbin, env } = postfixLab();
    const configDir = await postfixConfig('postfix-path', MAIN_CF);
    const r = await discoverPostfixNodes({ configDir, env: { ...env, PATH: `${sbin}:${env.PATH ?? ''}` } });
    assert.deepEqual(r.nodes, ['host.example.net', 'mail.example.org', 'v.example.org', 'relay.example.org']);
  });

  test('a missing configuration folder is a ConfigError naming the command and postconf\'s message', async () => {
    const { postconf, env } = postfixLab();
    const configDir = join(await tempDir('postfix-missing'), 'nonexistent');
    const error = await discoverPostfixNodes({ postconf, configDir, env }).then(
      () => assert.fail('expected a ConfigError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.code, 'ERR_CONFIG');
    assert.equal(
      error.message,
      `${postconf} -c ${configDir} -h -x ${PARAMETERS.join(' ')} failed: exit status 1: ${postconf}: fatal: open ${configDir}/main.cf: No such file or directory`,
    );
  });

  test('postconf without its libraries is a ConfigError with the loader\'s message', async () => {
    const { postconf } = postfixLab();
    const configDir = await postfixConfig('postfix-nolib', MAIN_CF);
    await assert.rejects(discoverPostfixNodes({ postconf, configDir, env: labEnv() }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /failed: exit status 127: .*postconf: error while loading shared libraries: libpostfix-\w+\.so/);
      return true;
    });
  });

  test('a postconf path that does not exist is a ConfigError', async () => {
    await assert.rejects(discoverPostfixNodes({ postconf: '/nonexistent/postconf', env: labEnv() }), {
      name: 'ConfigError',
      message: `/nonexistent/postconf -h -x ${PARAMETERS.join(' ')} failed: no such program`,
    });
  });

  test('a postconf too old for -x (before Postfix 2.10) is asked again without it, and the parser expands', async () => {
    const dir = await tempDir('postfix-old');
    const fake = join(dir, 'postconf');
    await writeFile(
      fake,
      [
        '#!/bin/sh',
        'for a in "$@"; do [ "$a" = -x ] && { echo "postconf: invalid option -- \'x\'" >&2; exit 1; }; done',
        "printf '%s\\n' '$myhostname, localhost.$mydomain, localhost' '' '$mydestination, relay.example.org' old.example.net example.net",
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    assert.deepEqual(await discoverPostfixNodes({ postconf: fake, env: labEnv() }), {
      nodes: ['old.example.net', 'relay.example.org'],
      warnings: [],
    });
  });

  test('postconf output without one line per parameter is a ConfigError', async () => {
    const dir = await tempDir('postfix-short');
    const fake = join(dir, 'postconf');
    await writeFile(fake, "#!/bin/sh\nprintf 'a.example\\nb.example\\n'\n", { mode: 0o755 });
    await assert.rejects(discoverPostfixNodes({ postconf: fake, env: labEnv() }), {
      name: 'ConfigError',
      message: `${fake} -h -x ${PARAMETERS.join(' ')}: expected 5 lines, got "a.example\\x0Ab.example\\x0A"`,
    });
  });

  test(`a postconf that does not answer is killed after ${MTA_QUERY_TIMEOUT_MS / 1000} s with a ConfigError`, async () => {
    const dir = await tempDir('postfix-hang');
    const fake = join(dir, 'postconf');
    await writeFile(fake, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    const started = performance.now();
    await assert.rejects(discoverPostfixNodes({ postconf: fake, env: labEnv() }), {
      name: 'ConfigError',
      message: `${fake} -h -x ${PARAMETERS.join(' ')} failed: no answer within ${MTA_QUERY_TIMEOUT_MS / 1000} s`,
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= MTA_QUERY_TIMEOUT_MS - 100 && elapsed < MTA_QUERY_TIMEOUT_MS + 3_000, `elapsed ${elapsed} ms`);
  });
});

/** An Exim configuration file with `lines` (logs and spool kept in its folder). */
async function eximConfig(name: string, lines: string[]): Promise<string> {
  const dir = await tempDir(name);
  const file = join(dir, 'exim.conf');
  await writeFile(file, [`log_file_path = ${dir}/%slog`, `spool_directory = ${dir}/spool`, ...lines, ''].join('\n'), { mode: 0o644 });
  return file;
}

describe('Exim: discoverEximNodes asks the real exim -bP', () => {
  test('plain names are kept; @, localhost and literals dropped; lookups, lists, patterns and specials reported', async () => {
    const { exim, env } = eximLab();
    const configFile = await eximConfig('exim-main', [
      'domainlist local_domains = @ : localhost : mail.example.org : Example.ORG : lsearch;/etc/exim4/domains : +virtual : ' +
        '^mx\\d+\\.example\\.org$ : *.wild.example.org : @[] : @mx_any/ignore=127.0.0.1 : example.org. : bücher.example : ' +
        'under_score.example : /etc/exim4/more-domains : !not.example : [127.0.0.1]',
      'domainlist virtual = v.example.org',
    ]);
    const raw = await run(exim, ['-C', configFile, '-bP', '+local_domains'], { env, timeoutMs: 10_000 });
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(
      raw.stdout,
      'domainlist local_domains = @ : localhost : mail.example.org : Example.ORG : lsearch;/etc/exim4/domains : +virtual : ' +
        '^mx\\d+\\.example\\.org$ : *.wild.example.org : @[] : @mx_any/ignore=127.0.0.1 : example.org. : bücher.example : ' +
        'under_score.example : /etc/exim4/more-domains : !not.example : [127.0.0.1]\n',
    );
    assert.deepEqual(await discoverEximNodes({ exim, configFile, env }), {
      nodes: ['mail.example.org', 'Example.ORG', 'xn--bcher-kva.example'],
      warnings: [
        'local_domains: skipped "lsearch;/etc/exim4/domains": lookups are not read',
        'local_domains: skipped "+virtual": named lists are not followed',
        'local_domains: skipped "^mx\\\\d+\\\\.example\\\\.org$": regular expressions name no host',
        'local_domains: skipped "*.wild.example.org": wildcards name no host',
        'local_domains: skipped "@mx_any/ignore=127.0.0.1": MX-based items match domains that cannot be listed',
        'local_domains: skipped "/etc/exim4/more-domains": files are not read',
        'local_domains: skipped "!not.example": exclusions are not applied',
        'skipped invalid name "under_score.example": Exim name label "under_score" must be letters, digits and inner hyphens',
      ],
    });
  });

  test('a "<;" list: ";" separates, a doubled ";;" is a literal ";" (a lookup here)', async () => {
    const { exim, env } = eximLab();
    const configFile = await eximConfig('exim-semicolon', ['domainlist local_domains = <; @ ; a.example ; lsearch;;/etc/d ; b.example']);
    const raw = await run(exim, ['-C', configFile, '-bP', '+local_domains'], { env, timeoutMs: 10_000 });
    assert.equal(raw.stdout, 'domainlist local_domains = <; @ ; a.example ; lsearch;;/etc/d ; b.example\n');
    assert.deepEqual(await discoverEximNodes({ exim, configFile, env }), {
      nodes: ['a.example', 'b.example'],
      warnings: ['local_domains: skipped "lsearch;/etc/d": lookups are not read'],
    });
  });

  test('the parser reads the real output like discoverEximNodes does', async () => {
    const { exim, env } = eximLab();
    const configFile = await eximConfig('exim-parser', ['domainlist local_domains = @:localhost:mail.example.org:example.org']);
    const raw = await run(exim, ['-C', configFile, '-bP', '+local_domains'], { env, timeoutMs: 10_000 });
    assert.equal(raw.stdout, 'domainlist local_domains = @:localhost:mail.example.org:example.org\n');
    assert.deepEqual(parseEximLocalDomains(raw.stdout), { names: ['mail.example.org', 'example.org'], warnings: [] });
  });

  test('a configuration without local_domains gives no names and a warning', async () => {
    const { exim, env } = eximLab();
    const configFile = await eximConfig('exim-nolist', ['primary_hostname = host.example.net']);
    const raw = await run(exim, ['-C', configFile, '-bP', '+local_domains'], { env, timeoutMs: 10_000 });
    assert.deepEqual([raw.code, raw.stdout], [1, 'no address, domain, host, or local part list called "local_domains" exists\n']);
    assert.deepEqual(await discoverEximNodes({ exim, configFile, env }), {
      nodes: [],
      warnings: ['local_domains: no domainlist local_domains is defined'],
    });
  });

  test('a hidden list gives no names and a warning', async () => {
    const { exim, env } = eximLab();
    const configFile = await eximConfig('exim-hidden', ['hide domainlist local_domains = a.example']);
    assert.deepEqual(await discoverEximNodes({ exim, configFile, env }), {
      nodes: [],
      warnings: ['local_domains: the list is defined with "hide" and its items are not shown'],
    });
  });

  test('exim is found in PATH (as exim4) when no path is given', async () => {
    const { sbin, env } = eximLab();
    const configFile = await eximConfig('exim-path', ['domainlist local_domains = @ : a.example']);
    assert.deepEqual(await discoverEximNodes({ configFile, env: { ...env, PATH: `${sbin}:${env.PATH ?? ''}` } }), {
      nodes: ['a.example'],
      warnings: [],
    });
  });

  test('a configuration error is a ConfigError with Exim\'s message, both of its lines', async () => {
    const { exim, env } = eximLab();
    const configFile = await eximConfig('exim-bad', ['domainlist local_domains = a.example', 'domainlist local_domains = b.example']);
    await assert.rejects(discoverEximNodes({ exim, configFile, env }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(
        e.message,
        `${exim} -C ${configFile} -bP +local_domains failed: exit status 1: Exim configuration error in line 4 of ${configFile}: duplicate name "local_domains" for a named domain list`,
      );
      return true;
    });
  });

  test('a missing configuration file is a ConfigError naming it', async () => {
    const { exim, env } = eximLab();
    const configFile = join(await tempDir('exim-missing'), 'nonexistent.conf');
    await assert.rejects(discoverEximNodes({ exim, configFile, env }), {
      name: 'ConfigError',
      message: `${exim} -C ${configFile} -bP +local_domains failed: exit status 1: non-existent configuration file(s): ${configFile}`,
    });
  });
});

describe('detectMta: which MTA is installed', () => {
  const none = { sbinDirs: [] as string[], sendmailCf: '/nonexistent/sendmail.cf' };

  test('postconf in PATH means Postfix', async () => {
    const { sbin } = postfixLab();
    assert.equal(await detectMta({ ...none, env: { PATH: sbin } }), 'postfix');
  });

  test('exim4 in PATH means Exim', async () => {
    const { sbin } = eximLab();
    assert.equal(await detectMta({ ...none, env: { PATH: sbin } }), 'exim');
  });

  test('the sbin folders are searched when PATH does not name them', async () => {
    assert.equal(await detectMta({ ...none, env: { PATH: '' }, sbinDirs: [eximLab().sbin] }), 'exim');
    assert.equal(await detectMta({ ...none, env: {}, sbinDirs: [postfixLab().sbin] }), 'postfix');
  });

  test('Postfix wins over Exim, and either over a sendmail.cf', async () => {
    const dir = await tempDir('detect-order');
    const cf = join(dir, 'sendmail.cf');
    await writeFile(cf, 'Cwlocalhost\n');
    const path = `${eximLab().sbin}:${postfixLab().sbin}`;
    assert.equal(await detectMta({ sbinDirs: [], sendmailCf: cf, env: { PATH: path } }), 'postfix');
    assert.equal(await detectMta({ sbinDirs: [], sendmailCf: cf, env: { PATH: eximLab().sbin } }), 'exim');
  });

  test('a sendmail.cf alone means sendmail; nothing means null', async () => {
    const dir = await tempDir('detect-sendmail');
    const cf = join(dir, 'sendmail.cf');
    await writeFile(cf, 'Cwlocalhost\n');
    assert.equal(await detectMta({ sbinDirs: [], sendmailCf: cf, env: { PATH: '/usr/bin:/bin' } }), 'sendmail');
    assert.equal(await detectMta({ ...none, env: { PATH: '/usr/bin:/bin' } }), null);
  });

  test('a relative PATH entry is not searched, even when it leads to postconf', async () => {
    const sbin = relative(process.cwd(), postfixLab().sbin);
    assert.ok(!isAbsolute(sbin));
    assert.equal(await detectMta({ ...none, env: { PATH: sbin } }), null);
  });
});

describe('the etrn command discovers through the real postconf', () => {
  test('--mta postfix with no client-hosts: FQDN, then Postfix names, in a dry run; -v says which MTA', async () => {
    const { runEtrn } = await import('../helpers/cli.js');
    const dir = await postfixConfig('cli-postfix', [
      'myhostname = host.example.net',
      'mydomain = example.net',
      'mydestination = $myhostname, localhost.$mydomain, localhost, mail.example.org',
      'relay_domains = relay.example.org',
    ]);
    const { sbin, env } = postfixLab();
    const run = await runEtrn(['-n', '-v', '--mta', 'postfix', '--helo', 'me.example', 'mx.example.net'], {
      env: { ...env, PATH: `${sbin}:${process.env.PATH ?? ''}`, MAIL_CONFIG: dir },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /== discovery: names this host accepts mail for, from postfix/);
    const etrns = run.stdout.split('\n').filter((l) => l.startsWith('  ETRN ')).map((l) => l.slice(7));
    assert.deepEqual(etrns.slice(1), ['host.example.net', 'mail.example.org', 'relay.example.org']);
    assert.match(run.stdout, /^boot check: wait for localhost:25$/m);
  });
});
