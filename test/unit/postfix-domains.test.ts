// Unit tests for the pure Postfix domain parser (src/config/postfix-domains.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from '../../src/config/diagnostic.js';
import { parsePostfixDomains, splitPostfixList, type PostfixDomainValues } from '../../src/config/postfix-domains.js';

const base: PostfixDomainValues = { mydestination: '', myhostname: 'host.example.net', mydomain: 'example.net' };
/** The parse, with its diagnostics as the text etrn prints ("parameter: message"). */
const parse = (values: Partial<PostfixDomainValues>) => {
  const r = parsePostfixDomains({ ...base, ...values });
  return { names: r.names, warnings: r.warnings.map(formatDiagnostic) };
};
const names = (values: Partial<PostfixDomainValues>) => parse(values).names;

describe('splitPostfixList', () => {
  test('commas, spaces, tabs and line breaks all separate entries, in any mix', () => {
    assert.deepEqual(splitPostfixList('a.example,b.example c.example ,\td.example\n  e.example,,f.example'), [
      'a.example',
      'b.example',
      'c.example',
      'd.example',
      'e.example',
      'f.example',
    ]);
  });

  test('an empty or blank value has no entries', () => {
    assert.deepEqual(splitPostfixList(''), []);
    assert.deepEqual(splitPostfixList(' , \t'), []);
  });

  test('separators inside braces do not split, and a braced entry loses its braces', () => {
    assert.deepEqual(splitPostfixList('a.example, { b.example }, inline:{x, y} ${{$a} == {1} ? {c} : {d}}'), [
      'a.example',
      'b.example',
      'inline:{x, y}',
      '${{$a} == {1} ? {c} : {d}}',
    ]);
  });
});

describe('parsePostfixDomains: plain names', () => {
  test('mydestination names are kept in order', () => {
    const r = parse({ mydestination: 'mail.example.org, example.org other.example' });
    assert.deepEqual(r.names, ['mail.example.org', 'example.org', 'other.example']);
    assert.deepEqual(r.warnings, []);
  });

  test('mydestination, then virtual_mailbox_domains, then relay_domains', () => {
    assert.deepEqual(names({ relay_domains: 'r.example', virtual_mailbox_domains: 'v.example', mydestination: 'd.example' }), [
      'd.example',
      'v.example',
      'r.example',
    ]);
  });

  test('virtual_mailbox_domains and relay_domains may be absent or empty', () => {
    assert.deepEqual(names({ mydestination: 'd.example' }), ['d.example']);
    assert.deepEqual(names({ mydestination: 'd.example', virtual_mailbox_domains: '', relay_domains: '' }), ['d.example']);
  });

  test('an empty mydestination gives no names and no warning', () => {
    assert.deepEqual(parse({}), { names: [], warnings: [] });
  });

  test('case-insensitive duplicates are dropped, the first spelling kept, across parameters', () => {
    assert.deepEqual(
      names({ mydestination: 'Mail.Example.ORG, mail.example.org', virtual_mailbox_domains: 'MAIL.example.org', relay_domains: 'r.example' }),
      ['Mail.Example.ORG', 'r.example'],
    );
  });

  test('a trailing dot does not make a different name', () => {
    assert.deepEqual(names({ mydestination: 'a.example. a.example' }), ['a.example.']);
  });

  test('myhostname and mydomain alone are not names to ask for', () => {
    assert.deepEqual(names({ mydestination: 'd.example' }), ['d.example']);
  });
});

describe('parsePostfixDomains: localhost and address literals', () => {
  test('localhost, localhost.domain and address literals are skipped without a warning', () => {
    const r = parse({ mydestination: 'localhost, LOCALHOST.example.net, localhost.localdomain, [127.0.0.1], [ipv6:::1], 192.0.2.1, d.example' });
    assert.deepEqual(r.names, ['d.example']);
    assert.deepEqual(r.warnings, []);
  });
});

describe('parsePostfixDomains: parameter references', () => {
  test('the stock default "$myhostname, localhost.$mydomain, localhost" gives just the host name', () => {
    const r = parse({ mydestination: '$myhostname, localhost.$mydomain, localhost' });
    assert.deepEqual(r.names, ['host.example.net']);
    assert.deepEqual(r.warnings, []);
  });

  test('${name} and $(name) are expanded like $name', () => {
    assert.deepEqual(names({ mydestination: '${myhostname} mail.$(mydomain) ${mydomain}' }), [
      'host.example.net',
      'mail.example.net',
      'example.net',
    ]);
  });

  test('already expanded values (postconf -x) give the same names', () => {
    const raw = parse({ mydestination: '$myhostname, localhost.$mydomain, localhost, mail.example.org' });
    const expanded = parse({ mydestination: 'host.example.net, localhost.example.net, localhost, mail.example.org' });
    assert.deepEqual(raw, expanded);
    assert.deepEqual(raw.names, ['host.example.net', 'mail.example.org']);
  });

  test('a reference to a list parameter expands to all of its entries ($mydestination in relay_domains)', () => {
    const r = parse({ mydestination: 'a.example b.example', relay_domains: '$mydestination, r.example', virtual_mailbox_domains: '$relay_domains' });
    assert.deepEqual(r.names, ['a.example', 'b.example', 'r.example']);
    assert.deepEqual(r.warnings, []);
  });

  test('references inside referenced values are expanded too', () => {
    assert.deepEqual(names({ mydomain: '$myhostname', mydestination: 'mail.$mydomain' }), ['mail.host.example.net']);
  });

  test('a reference to any other parameter skips the entry with a warning', () => {
    const r = parse({ mydestination: 'a.example, $myorigin', virtual_mailbox_domains: '$virtual_mailbox_maps' });
    assert.deepEqual(r.names, ['a.example']);
    assert.deepEqual(r.warnings, [
      'mydestination: skipped "$myorigin": unknown parameter $myorigin',
      'virtual_mailbox_domains: skipped "$virtual_mailbox_maps": unknown parameter $virtual_mailbox_maps',
    ]);
  });

  test('a reference to an absent optional parameter is an unknown one', () => {
    assert.deepEqual(parse({ mydestination: '$relay_domains' }).warnings, ['mydestination: skipped "$relay_domains": unknown parameter $relay_domains']);
  });

  test('the relay_domains default (a compatibility_level conditional) is skipped with a warning', () => {
    const value = '${{$compatibility_level} <level {2} ? {$mydestination} : {}}';
    const r = parse({ mydestination: 'd.example', relay_domains: value });
    assert.deepEqual(r.names, ['d.example']);
    assert.deepEqual(r.warnings, [`relay_domains: skipped ${JSON.stringify(value)}: conditional or computed parameter expressions are not evaluated`]);
  });

  test('${name?value} and ${name:value} are not evaluated', () => {
    assert.deepEqual(parse({ mydestination: '${myhostname?x.example} ${mydomain:y.example}' }).warnings, [
      'mydestination: skipped "${myhostname?x.example}": conditional or computed parameter expressions are not evaluated',
      'mydestination: skipped "${mydomain:y.example}": conditional or computed parameter expressions are not evaluated',
    ]);
  });

  test('a lone "$" and an unclosed reference are skipped with a warning', () => {
    assert.deepEqual(parse({ mydestination: 'a$ $(myhostname' }).warnings, [
      'mydestination: skipped "a$": a "$" that names no parameter',
      'mydestination: skipped "$(myhostname": unbalanced parameter reference',
    ]);
  });

  test('a reference loop ends with a warning instead of running forever', () => {
    const r = parse({ mydestination: '$relay_domains', relay_domains: '$mydestination' });
    assert.deepEqual(r.names, []);
    assert.equal(r.warnings.length, 2);
    for (const w of r.warnings) assert.match(w, /skipped "\$(mydestination|relay_domains)": parameter references nest too deep \(a loop\?\)$/);
  });
});

describe('parsePostfixDomains: files, tables and patterns', () => {
  test('a /file/name entry is skipped with a warning', () => {
    const r = parse({ mydestination: '/etc/postfix/local-domains, d.example' });
    assert.deepEqual(r.names, ['d.example']);
    assert.deepEqual(r.warnings, ['mydestination: skipped "/etc/postfix/local-domains": files are not read']);
  });

  test('type:table entries are skipped with a warning each', () => {
    const r = parse({
      mydestination: 'd.example',
      virtual_mailbox_domains: 'hash:/etc/postfix/vmd, v.example',
      relay_domains: 'proxy:mysql:/etc/postfix/relay.cf lmdb:/etc/postfix/relay inline:{ a.example, b.example }',
    });
    assert.deepEqual(r.names, ['d.example', 'v.example']);
    assert.deepEqual(r.warnings, [
      'virtual_mailbox_domains: skipped "hash:/etc/postfix/vmd": lookup tables are not read',
      'relay_domains: skipped "proxy:mysql:/etc/postfix/relay.cf": lookup tables are not read',
      'relay_domains: skipped "lmdb:/etc/postfix/relay": lookup tables are not read',
      'relay_domains: skipped "inline:{ a.example, b.example }": lookup tables are not read',
    ]);
  });

  test('a table named through a parameter is reported after expansion is attempted', () => {
    assert.deepEqual(parse({ mydestination: 'hash:$mydomain/x' }).warnings, ['mydestination: skipped "hash:example.net/x": lookup tables are not read']);
  });

  test('an !exclusion is skipped with a warning', () => {
    assert.deepEqual(parse({ relay_domains: '!bad.example good.example' }), {
      names: ['good.example'],
      warnings: ['relay_domains: skipped "!bad.example": exclusions are not applied'],
    });
  });

  test('a .domain subdomain pattern is skipped with a warning', () => {
    assert.deepEqual(parse({ relay_domains: '.example.org example.org' }), {
      names: ['example.org'],
      warnings: ['relay_domains: skipped ".example.org": subdomain patterns name no host'],
    });
  });

  test('names are not validated here: that is normalizeDomain\'s job', () => {
    assert.deepEqual(names({ mydestination: 'under_score.example bad..example' }), ['under_score.example', 'bad..example']);
  });
});
