// Unit tests for the pure sendmail class w parsers (src/config/sendmail-cf.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type ClassFileRef,
  type ClassWord,
  parseClassFile,
  parseSendmailCf,
} from '../../src/config/sendmail-cf.js';
import { isLocalOrLiteral as isLocalhostName } from '../../src/config/local-names.js';

const CF = '/etc/mail/sendmail.cf';
const cf = (...lines: string[]) => parseSendmailCf(lines.join('\n'), CF);
const words = (entries: readonly (ClassWord | ClassFileRef)[]): string[] =>
  entries.filter((e): e is ClassWord => 'word' in e).map((e) => e.word);
const files = (entries: readonly (ClassWord | ClassFileRef)[]): ClassFileRef[] =>
  entries.filter((e): e is ClassFileRef => 'path' in e);

describe('parseSendmailCf: Cw lines', () => {
  test('"Cwlocalhost" gives the word localhost', () => {
    const def = cf('Cwlocalhost');
    assert.deepEqual(def.entries, [{ word: 'localhost', file: CF, line: 1 }]);
    assert.deepEqual(def.warnings, []);
  });

  test('a Cw line with several words gives each word with its line number', () => {
    const def = cf('# comment', 'Cwa.example b.example');
    assert.deepEqual(def.entries, [
      { word: 'a.example', file: CF, line: 2 },
      { word: 'b.example', file: CF, line: 2 },
    ]);
  });

  test('a space after "Cw" is allowed', () => {
    assert.deepEqual(words(cf('Cw a.example\tb.example').entries), ['a.example', 'b.example']);
  });

  test('the long form C{w} is read like Cw', () => {
    assert.deepEqual(words(cf('C{w}localhost.localdomain').entries), ['localhost.localdomain']);
  });

  test('several Cw lines are read in file order', () => {
    assert.deepEqual(words(cf('Cwz.example', 'CPREDIRECT', 'Cwa.example', 'C{w}m.example').entries), [
      'z.example',
      'a.example',
      'm.example',
    ]);
  });

  test('a word with a macro is skipped with a warning naming its line', () => {
    const def = cf('Cwa.example', 'Cw$j b.example');
    assert.deepEqual(words(def.entries), ['a.example', 'b.example']);
    assert.equal(def.warnings.length, 1);
    assert.equal(def.warnings[0]?.line, 2);
    assert.equal(def.warnings[0]?.file, CF);
    assert.match(def.warnings[0]?.message ?? '', /\$j/);
    assert.match(def.warnings[0]?.message ?? '', /macro/);
  });

  test('"Cw$j" alone gives no word and one warning', () => {
    const def = cf('Cw$j');
    assert.deepEqual(def.entries, []);
    assert.equal(def.warnings.length, 1);
    assert.equal(def.warnings[0]?.line, 1);
  });

  test('a # after the words of a Cw line starts a comment, as in sendmail\'s readcf', () => {
    // sendmail (ConfigLevel >= 3) deletes an unescaped "#" and the rest of the
    // line; that is why generated cf files write the Fw pattern as %[^\#].
    const def = cf('Cwa.example b.example # our names', 'Cwc.example\t#local');
    assert.deepEqual(words(def.entries), ['a.example', 'b.example', 'c.example']);
  });

  test('an empty Cw line gives nothing', () => {
    const def = cf('Cw', 'Cw   ');
    assert.deepEqual(def.entries, []);
    assert.deepEqual(def.warnings, []);
  });
});

describe('parseSendmailCf: Fw lines', () => {
  test('an Fw line with a scanf pattern names a mandatory class file', () => {
    const def = cf('Fw/etc/mail/local-host-names %[^\\#]');
    assert.deepEqual(def.entries, [{ path: '/etc/mail/local-host-names', optional: false, line: 1 }]);
    assert.deepEqual(def.warnings, []);
  });

  test('an Fw line without a pattern names a mandatory class file', () => {
    assert.deepEqual(files(cf('Fw/etc/mail/local-host-names').entries), [
      { path: '/etc/mail/local-host-names', optional: false, line: 1 },
    ]);
  });

  test('"Fw-o FILE" names an optional class file', () => {
    assert.deepEqual(cf('Fw-o /etc/mail/local-host-names %[^\\#]').entries, [
      { path: '/etc/mail/local-host-names', optional: true, line: 1 },
    ]);
  });

  test('the long form F{w} is read like Fw', () => {
    assert.deepEqual(cf('F{w}/x').entries, [{ path: '/x', optional: false, line: 1 }]);
    assert.deepEqual(cf('F{w}-o /y').entries, [{ path: '/y', optional: true, line: 1 }]);
  });

  test('a class file read from a program is skipped with a warning naming its line', () => {
    const def = cf('Cwa.example', '', 'Fw|/usr/bin/prog');
    assert.deepEqual(files(def.entries), []);
    assert.equal(def.warnings.length, 1);
    assert.equal(def.warnings[0]?.line, 3);
    assert.equal(def.warnings[0]?.file, CF);
    assert.match(def.warnings[0]?.message ?? '', /\/usr\/bin\/prog/);
  });

  test('a class file named with a macro is skipped with a warning', () => {
    const def = cf('Fw$z/local-host-names');
    assert.deepEqual(def.entries, []);
    assert.equal(def.warnings.length, 1);
    assert.match(def.warnings[0]?.message ?? '', /macro/);
  });

  test('a class file that is not an absolute path is skipped with a warning', () => {
    const def = cf('Fwlocal-host-names');
    assert.deepEqual(def.entries, []);
    assert.equal(def.warnings.length, 1);
  });

  test('an Fw line that names no file gives a warning', () => {
    const def = cf('Fw', 'Fw-o');
    assert.deepEqual(def.entries, []);
    assert.equal(def.warnings.length, 2);
    assert.deepEqual(
      def.warnings.map((w) => w.line),
      [1, 2],
    );
  });

  test('words and class files keep their relative order', () => {
    const def = cf('Cwa.example', 'Fw/f1', 'Cwb.example', 'Fw-o /f2');
    assert.deepEqual(
      def.entries.map((e) => ('word' in e ? e.word : e.path)),
      ['a.example', '/f1', 'b.example', '/f2'],
    );
  });
});

describe('parseSendmailCf: other lines', () => {
  test('comment lines are ignored', () => {
    const def = cf('# Cwcomment.example', '#Fw/etc/x', 'Cwreal.example');
    assert.deepEqual(words(def.entries), ['real.example']);
    assert.deepEqual(def.warnings, []);
  });

  test('a line starting with a tab or space continues the line before', () => {
    const def = cf('Cwa.example', '\tb.example c.example', '  d.example', 'Cwe.example');
    assert.deepEqual(def.entries, [
      { word: 'a.example', file: CF, line: 1 },
      { word: 'b.example', file: CF, line: 1 },
      { word: 'c.example', file: CF, line: 1 },
      { word: 'd.example', file: CF, line: 1 },
      { word: 'e.example', file: CF, line: 4 },
    ]);
  });

  test('a continuation of a comment stays part of the comment', () => {
    assert.deepEqual(words(cf('# comment', '\tCwnot.example', 'Cwyes.example').entries), ['yes.example']);
  });

  test('a continuation of another class does not add to class w', () => {
    assert.deepEqual(words(cf('CPREDIRECT', '\tother.example', 'Cwa.example').entries), ['a.example']);
  });

  test('other classes are ignored', () => {
    const def = cf('CP.', 'C{M}mail.example', 'CO @ % !', 'C{w2}x.example', 'CWupper.example', 'FM/etc/mail/m', 'Cwa.example');
    assert.deepEqual(words(def.entries), ['a.example']);
    assert.deepEqual(files(def.entries), []);
    assert.deepEqual(def.warnings, []);
  });

  test('other kinds of lines are ignored', () => {
    const def = cf('V10/Berkeley', 'DjHOST.example', 'O QueueDirectory=/var/spool/mqueue', 'R$* $@ $1', 'Kmap hash /x', 'Cwa.example');
    assert.deepEqual(words(def.entries), ['a.example']);
  });

  test('CRLF line ends are read like LF', () => {
    const def = parseSendmailCf('Cwa.example\r\nFw-o /f\r\nCwb.example\r\n', CF);
    assert.deepEqual(
      def.entries.map((e) => ('word' in e ? e.word : e.path)),
      ['a.example', '/f', 'b.example'],
    );
    assert.equal(def.entries[2]?.line, 3);
  });

  test('another class name can be asked for', () => {
    assert.deepEqual(words(parseSendmailCf('Cwa.example\nCRb.example', CF, 'R').entries), ['b.example']);
  });

  test('an empty file gives nothing', () => {
    assert.deepEqual(parseSendmailCf('', CF), { entries: [], warnings: [] });
  });
});

describe('parseClassFile', () => {
  const F = '/etc/mail/local-host-names';

  test('each word is returned with its file and line number', () => {
    assert.deepEqual(parseClassFile('a.example\nb.example\n', F), [
      { word: 'a.example', file: F, line: 1 },
      { word: 'b.example', file: F, line: 2 },
    ]);
  });

  test('several words on one line are all taken', () => {
    assert.deepEqual(
      parseClassFile('a.example b.example\tc.example\n', F).map((w) => w.word),
      ['a.example', 'b.example', 'c.example'],
    );
  });

  test('a # starts a comment, on its own line or after words', () => {
    const got = parseClassFile('# local names\na.example # main\n#b.example\nc.example#d.example\n', F);
    assert.deepEqual(
      got.map((w) => [w.word, w.line]),
      [
        ['a.example', 2],
        ['c.example', 4],
      ],
    );
  });

  test('blank lines and white space are skipped and do not shift line numbers', () => {
    const got = parseClassFile('\n   \n\t a.example  \n\nb.example', F);
    assert.deepEqual(
      got.map((w) => [w.word, w.line]),
      [
        ['a.example', 3],
        ['b.example', 5],
      ],
    );
  });

  test('CRLF line ends are read like LF', () => {
    assert.deepEqual(
      parseClassFile('a.example\r\nb.example\r\n', F).map((w) => w.word),
      ['a.example', 'b.example'],
    );
  });

  test('an empty file gives no words', () => {
    assert.deepEqual(parseClassFile('', F), []);
  });
});

describe('isLocalOrLiteral (one rule for class w, Postfix and Exim)', () => {
  test('localhost and localhost.anything are localhost names, in any case', () => {
    for (const name of ['localhost', 'LOCALHOST', 'localhost.localdomain', 'Localhost.Example', 'localhost.']) {
      assert.equal(isLocalhostName(name), true, name);
    }
  });

  test('address literals are localhost names', () => {
    assert.equal(isLocalhostName('[127.0.0.1]'), true);
    assert.equal(isLocalhostName('[IPv6:::1]'), true);
    assert.equal(isLocalhostName('192.0.2.1'), true);
  });

  test('names that merely contain localhost are not', () => {
    for (const name of ['mylocalhost', 'localhostx.example', 'a.localhost.example', 'mail.example']) {
      assert.equal(isLocalhostName(name), false, name);
    }
  });
});
