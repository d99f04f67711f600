// Unit tests for the pure Exim local_domains parser (src/config/exim-domains.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from '../../src/config/diagnostic.js';
import { parseEximLocalDomains as parseDiagnostics, splitEximList } from '../../src/config/exim-domains.js';

/** The parse, with its diagnostics as the text etrn prints ("local_domains: message"). */
const parseEximLocalDomains = (output: string) => {
  const r = parseDiagnostics(output);
  return { names: r.names, warnings: r.warnings.map(formatDiagnostic) };
};
const out = (value: string): string => `domainlist local_domains = ${value}\n`;
const parse = (value: string) => parseEximLocalDomains(out(value));

describe('splitEximList', () => {
  test('colons separate items, and white space around items is dropped', () => {
    assert.deepEqual(splitEximList('@ : localhost:example.org  :  b.example'), ['@', 'localhost', 'example.org', 'b.example']);
  });

  test('empty items are dropped', () => {
    assert.deepEqual(splitEximList(' : a.example : : b.example :'), ['a.example', 'b.example']);
    assert.deepEqual(splitEximList(''), []);
  });

  test('a doubled separator is one literal separator character', () => {
    assert.deepEqual(splitEximList('a::b : c.example'), ['a:b', 'c.example']);
  });

  test('"<;" at the start makes ";" the separator', () => {
    assert.deepEqual(splitEximList('<; a.example ; b.example;c.example'), ['a.example', 'b.example', 'c.example']);
  });

  test('with a changed separator, colons are ordinary and the new separator doubles', () => {
    assert.deepEqual(splitEximList(' <, a:b, lsearch;;x,,y , c.example'), ['a:b', 'lsearch;;x,y', 'c.example']);
    assert.deepEqual(splitEximList('<; lsearch;;/etc/d ; c.example'), ['lsearch;/etc/d', 'c.example']);
  });

  test('"<" followed by a letter or digit is not a separator change', () => {
    assert.deepEqual(splitEximList('<a.example : b.example'), ['<a.example', 'b.example']);
  });
});

describe('parseEximLocalDomains: output forms', () => {
  test('the labelled output of exim -bP +local_domains', () => {
    assert.deepEqual(parseEximLocalDomains('domainlist local_domains = @ : localhost : example.org\n'), {
      names: ['example.org'],
      warnings: [],
    });
  });

  test('the unlabelled output of exim -n -bP +local_domains', () => {
    assert.deepEqual(parseEximLocalDomains('@ : localhost : example.org\n').names, ['example.org']);
  });

  test('a same-named list of another type is ignored', () => {
    assert.deepEqual(parseEximLocalDomains('hostlist local_domains = 192.0.2.1\ndomainlist local_domains = a.example\n').names, ['a.example']);
  });

  test('an empty list gives no names and no warning', () => {
    assert.deepEqual(parseEximLocalDomains('domainlist local_domains = \n'), { names: [], warnings: [] });
    assert.deepEqual(parseEximLocalDomains('domainlist local_domains =\n'), { names: [], warnings: [] });
    assert.deepEqual(parseEximLocalDomains(''), { names: [], warnings: [] });
  });

  test('no local_domains list gives a warning', () => {
    assert.deepEqual(parseEximLocalDomains('no address, domain, host, or local part list called "local_domains" exists\n'), {
      names: [],
      warnings: ['local_domains: no domainlist local_domains is defined'],
    });
  });

  test('output that is not a local_domains list gives a warning', () => {
    assert.deepEqual(parseEximLocalDomains('hostlist local_domains = 192.0.2.1\n'), {
      names: [],
      warnings: ['local_domains: no domainlist local_domains in "hostlist local_domains = 192.0.2.1"'],
    });
  });

  test('a hidden list gives a warning', () => {
    assert.deepEqual(parseEximLocalDomains('domainlist local_domains = <value not displayable>\n'), {
      names: [],
      warnings: ['local_domains: the list is defined with "hide" and its items are not shown'],
    });
  });

  test('CRLF line ends are accepted', () => {
    assert.deepEqual(parseEximLocalDomains('domainlist local_domains = a.example : b.example\r\n').names, ['a.example', 'b.example']);
  });
});

describe('parseEximLocalDomains: items', () => {
  test('plain names are kept in order', () => {
    assert.deepEqual(parse('z.example : a.example : m.example').names, ['z.example', 'a.example', 'm.example']);
  });

  test('case-insensitive duplicates (and trailing-dot twins) are dropped, the first spelling kept', () => {
    assert.deepEqual(parse('Example.ORG : example.org : EXAMPLE.org. : b.example').names, ['Example.ORG', 'b.example']);
  });

  test('"@", "@[]", localhost names and address literals are skipped without a warning', () => {
    assert.deepEqual(parse('@ : @[] : localhost : localhost.localdomain : [127.0.0.1] : 192.0.2.1 : a.example'), {
      names: ['a.example'],
      warnings: [],
    });
  });

  test('@mx_any, @mx_primary, @mx_secondary (with options) are skipped with a warning each', () => {
    assert.deepEqual(parse('@mx_any : @mx_primary/ignore=127.0.0.1 : @mx_secondary : a.example'), {
      names: ['a.example'],
      warnings: [
        'local_domains: skipped "@mx_any": MX-based items match domains that cannot be listed',
        'local_domains: skipped "@mx_primary/ignore=127.0.0.1": MX-based items match domains that cannot be listed',
        'local_domains: skipped "@mx_secondary": MX-based items match domains that cannot be listed',
      ],
    });
  });

  test('another @ special is skipped with a warning', () => {
    assert.deepEqual(parse('@something').warnings, ['local_domains: skipped "@something": special items are not interpreted']);
  });

  test('lookups are skipped with a warning each', () => {
    assert.deepEqual(parse('lsearch;/etc/exim4/domains : dsearch;/var/mail/domains : partial-dbm;/etc/d.db : a.example'), {
      names: ['a.example'],
      warnings: [
        'local_domains: skipped "lsearch;/etc/exim4/domains": lookups are not read',
        'local_domains: skipped "dsearch;/var/mail/domains": lookups are not read',
        'local_domains: skipped "partial-dbm;/etc/d.db": lookups are not read',
      ],
    });
  });

  test('a lookup in a "<;" list (its ";" doubled) is skipped with a warning', () => {
    assert.deepEqual(parseEximLocalDomains('domainlist local_domains = <; a.example ; lsearch;;/etc/d\n'), {
      names: ['a.example'],
      warnings: ['local_domains: skipped "lsearch;/etc/d": lookups are not read'],
    });
  });

  test('a +list reference is skipped with a warning', () => {
    assert.deepEqual(parse('+virtual_domains : a.example').warnings, ['local_domains: skipped "+virtual_domains": named lists are not followed']);
  });

  test('a regular expression is skipped with a warning', () => {
    assert.deepEqual(parse('^mail\\d+\\.example\\.org$ : a.example').warnings, [
      'local_domains: skipped "^mail\\\\d+\\\\.example\\\\.org$": regular expressions name no host',
    ]);
  });

  test('wildcards are skipped with a warning', () => {
    assert.deepEqual(parse('*.example.org : *example.net : a.example'), {
      names: ['a.example'],
      warnings: ['local_domains: skipped "*.example.org": wildcards name no host', 'local_domains: skipped "*example.net": wildcards name no host'],
    });
  });

  test('a file of items is skipped with a warning', () => {
    assert.deepEqual(parse('/etc/exim4/local_domains : a.example').warnings, ['local_domains: skipped "/etc/exim4/local_domains": files are not read']);
  });

  test('an !exclusion is skipped with a warning', () => {
    assert.deepEqual(parse('!bad.example : a.example'), {
      names: ['a.example'],
      warnings: ['local_domains: skipped "!bad.example": exclusions are not applied'],
    });
  });

  test('an expansion is skipped with a warning', () => {
    assert.deepEqual(parse('${lookup{x}lsearch{/etc/y}} : a.example').warnings, [
      'local_domains: skipped "${lookup{x}lsearch{/etc/y}}": expansions are not evaluated',
    ]);
  });

  test('the Debian default "@:localhost:<other names>" gives the other names', () => {
    assert.deepEqual(parse('@:localhost:mail.example.org:example.org'), { names: ['mail.example.org', 'example.org'], warnings: [] });
  });

  test('names are not validated here: that is normalizeDomain\'s job', () => {
    assert.deepEqual(parse('under_score.example : a:: b').names, ['under_score.example', 'a: b']);
  });
});
