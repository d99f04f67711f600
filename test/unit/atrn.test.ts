// The pure parts of ATRN (src/protocol/atrn.ts), without sockets: the ATRN
// command and reply meanings (RFC 2645 §4), the customer session fed byte by
// byte, the relay ledger, and the end-of-DATA scanner in every chunk split.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AtrnSession,
  DataEndScanner,
  RelayLedger,
  atrnCommand,
  classifyCommand,
  interpretAtrnReply,
  relayableEhlo,
} from '../../src/protocol/atrn.js';
import type { Reply } from '../../src/protocol/reply.js';

const reply = (code: number, text = ''): Reply => ({ code, enhanced: null, lines: [text] });

describe('ATRN command and replies', () => {
  test('ATRN joins the domains with commas and refuses unsafe ones', () => {
    assert.equal(atrnCommand(['a.test', 'b.test']), 'ATRN a.test,b.test');
    assert.throws(() => atrnCommand([]));
    assert.throws(() => atrnCommand(['a.test\r\nRSET']));
    assert.throws(() => atrnCommand(['a,b']));
  });

  test('250 turns, 453 is no mail, 450/451 temporary, 530 auth, 502 unavailable', () => {
    assert.equal(interpretAtrnReply(reply(250)).type, 'turn');
    assert.equal(interpretAtrnReply(reply(453, 'You have no mail')).type, 'nomail');
    for (const [code, kind] of [[450, 'refused'], [451, 'refused'], [530, 'auth'], [502, 'unavailable'], [554, 'unavailable'], [354, 'protocol']] as const) {
      const v = interpretAtrnReply(reply(code));
      assert.equal(v.type === 'fail' && v.kind, kind, `code ${code}`);
    }
  });
});

/** Feeds `text` one byte at a time; the last action. */
function feed(s: AtrnSession, text: string): ReturnType<AtrnSession['receiveData']> {
  let last: ReturnType<AtrnSession['receiveData']> = null;
  for (const byte of Buffer.from(text)) last = s.receiveData(Uint8Array.of(byte)) ?? last;
  return last;
}

describe('AtrnSession', () => {
  const auth = { user: 'u', password: 'p', allowCleartext: true };

  test('greeting, EHLO, AUTH, ATRN, then turn, byte by byte', () => {
    const s = new AtrnSession({ heloName: 'site.test', domains: ['a.test', 'b.test'], tls: 'off', auth });
    assert.deepEqual(feed(s, '220 provider\r\n'), { type: 'send', line: 'EHLO site.test', delayMs: 0 });
    s.written();
    const authAction = feed(s, '250-provider\r\n250-AUTH PLAIN\r\n250 ATRN\r\n');
    assert.equal(authAction?.type === 'send' && authAction.line.startsWith('AUTH PLAIN '), true);
    s.written();
    assert.deepEqual(feed(s, '235 ok\r\n'), { type: 'send', line: 'ATRN a.test,b.test', delayMs: 0 });
    assert.equal(s.atrnSent, false);
    s.written();
    assert.equal(s.atrnSent, true);
    assert.deepEqual(feed(s, '250 OK, now reversing the connection\r\n'), { type: 'turn' });
    assert.equal(s.turned, true);
    assert.equal(s.error, null);
  });

  test('no ATRN in EHLO: QUIT before AUTH, unavailable', () => {
    const s = new AtrnSession({ heloName: 'site.test', domains: ['a.test'], tls: 'off', auth });
    feed(s, '220 p\r\n');
    s.written();
    assert.deepEqual(feed(s, '250-p\r\n250 AUTH PLAIN\r\n'), { type: 'send', line: 'QUIT', delayMs: 0 });
    assert.equal(s.error?.kind, 'unavailable');
    assert.equal(s.atrnAdvertised, false);
  });

  test('453 says QUIT and is no error', () => {
    const s = new AtrnSession({ heloName: 'site.test', domains: ['a.test'], tls: 'off', auth });
    feed(s, '220 p\r\n');
    s.written();
    feed(s, '250-p\r\n250-AUTH PLAIN\r\n250 ATRN\r\n');
    s.written();
    feed(s, '235 ok\r\n');
    s.written();
    assert.deepEqual(feed(s, '453 You have no mail\r\n'), { type: 'send', line: 'QUIT', delayMs: 0 });
    assert.equal(s.error, null);
    assert.equal(s.atrnReply?.type, 'nomail');
  });

  test('bytes right behind the 250 (before our greeting) are a protocol error', () => {
    const s = new AtrnSession({ heloName: 'site.test', domains: ['a.test'], tls: 'off', auth });
    feed(s, '220 p\r\n');
    s.written();
    feed(s, '250-p\r\n250-AUTH PLAIN\r\n250 ATRN\r\n');
    s.written();
    feed(s, '235 ok\r\n');
    s.written();
    assert.deepEqual(s.receiveData(Buffer.from('250 OK\r\nEHLO provider\r\n')), { type: 'close' });
    assert.equal(s.error?.kind, 'protocol');
  });

  test('without AUTH configured ATRN is never sent', () => {
    const s = new AtrnSession({ heloName: 'site.test', domains: ['a.test'], tls: 'off' });
    feed(s, '220 p\r\n');
    s.written();
    assert.deepEqual(feed(s, '250-p\r\n250 ATRN\r\n'), { type: 'send', line: 'QUIT', delayMs: 0 });
    assert.equal(s.error?.kind, 'auth');
  });
});

describe('RelayLedger', () => {
  test('counts accepted, refused recipients, deferred and refused messages', () => {
    const l = new RelayLedger();
    const say = (line: string, code: number): void => {
      l.command(classifyCommand(line));
      l.reply(code);
    };
    say('EHLO p', 250);
    say('MAIL FROM:<a@x>', 250);
    say('RCPT TO:<b@y>', 250);
    say('RCPT TO:<c@y>', 550);
    say('DATA', 354);
    l.command('eod');
    l.reply(250);
    say('MAIL FROM:<a@x>', 250);
    say('RCPT TO:<d@y>', 450);
    say('DATA', 554);
    say('MAIL FROM:<a@x>', 250);
    say('RCPT TO:<e@y>', 550);
    say('RSET', 250);
    say('MAIL FROM:<a@x>', 250);
    say('RCPT TO:<f@y>', 250);
    say('DATA', 354);
    l.command('eod');
    l.reply(552);
    say('MAIL FROM:<a@x>', 451);
    say('MAIL FROM:<a@x>', 250);
    const counts = l.close(); // the last one never finished: deferred
    // 1 accepted; 2 deferred (450 recipient); 3 refused (every recipient 550, RSET);
    // 4 refused (552 at the end of DATA); 5 deferred (451 to MAIL); 6 deferred (cut off).
    assert.deepEqual(counts, { offered: 6, accepted: 1, refused: 2, deferred: 3, recipientsRefused: 2, quit: false });
  });

  test('pipelined commands match replies in order', () => {
    const l = new RelayLedger();
    for (const c of ['MAIL FROM:<a>', 'RCPT TO:<b>', 'DATA']) l.command(classifyCommand(c));
    assert.equal(l.reply(250), 'mail');
    assert.equal(l.reply(250), 'rcpt');
    assert.equal(l.reply(354), 'data');
    assert.equal(l.outstanding, 0);
  });
});

describe('DataEndScanner', () => {
  const body = 'Subject: x\r\n\r\n.leading dot stuffed\r\n..\r\nnot the end .\r\n\r\n.\r\nMAIL FROM:<next>\r\n';
  const end = body.indexOf('\r\n.\r\n') + 5;

  test('finds the end of DATA at every split into two chunks', () => {
    const bytes = Buffer.from(body);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const s = new DataEndScanner();
      const first = s.scan(bytes.subarray(0, cut));
      const found = first >= 0 ? first : cut + s.scan(bytes.subarray(cut));
      assert.equal(found, end, `split at ${cut}`);
    }
  });

  test('byte by byte, and a body that is only "."', () => {
    const s = new DataEndScanner();
    let found = -1;
    Buffer.from(body).forEach((b, i) => {
      if (found < 0 && s.scan(Uint8Array.of(b)) === 1) found = i + 1;
    });
    assert.equal(found, end);
    assert.equal(new DataEndScanner().scan(Buffer.from('.\r\n')), 3);
    assert.equal(new DataEndScanner().scan(Buffer.from('..\r\nx\r\n')), -1);
  });
});

describe('relayableEhlo', () => {
  test('drops CHUNKING and BINARYMIME (BDAT cannot be line-relayed) and keeps the reply terminated', () => {
    assert.deepEqual(relayableEhlo(['250-mx.test', '250-PIPELINING', '250-8BITMIME', '250 CHUNKING']), ['250-mx.test', '250-PIPELINING', '250 8BITMIME']);
    assert.deepEqual(relayableEhlo(['250-mx.test', '250-BINARYMIME', '250-CHUNKING', '250 SMTPUTF8']), ['250-mx.test', '250 SMTPUTF8']);
    assert.deepEqual(relayableEhlo(['250 mx.test']), ['250 mx.test']);
  });
});

describe('planning ATRN sessions', () => {
  test('many domains are split so that every ATRN line fits in 510 octets; every domain is asked once', async () => {
    const { plan } = await import('../../src/run/index.js');
    const { atrnCommand, ATRN_LINE_MAX } = await import('../../src/protocol/atrn.js');
    const domains = Array.from({ length: 60 }, (_, i) => `a-rather-long-domain-name-${i}.customer.example`);
    const p = await plan({
      targets: [{ server: '127.0.0.1', nodes: domains }],
      atrn: true,
      auth: { user: 'site', password: 'secret', allowCleartext: true },
      heloName: 'site.test',
      bootCheck: false,
    });
    assert.ok(p.sessions.length > 1, `${p.sessions.length} sessions`);
    for (const s of p.sessions) assert.ok(atrnCommand(s.nodes).length <= ATRN_LINE_MAX);
    assert.deepEqual(p.sessions.flatMap((s) => s.nodes), domains);
    assert.equal(new Set(p.sessions.map((s) => s.label)).size, p.sessions.length, 'each session has its own label');
  });
});
