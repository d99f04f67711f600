// The etrn command against hostile and broken SMTP servers on loopback: each
// scenario is run twice, for the human output and for --json, and must end
// with the right sysexits status, one error line naming what went wrong, no
// stack trace, and within the reply deadline, whatever the server does.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliRun } from '../helpers/cli.js';
import { describeWhere } from '../../src/cli/output.js';
import type { SessionError, SessionResult } from '../../src/result.js';
import type { Conn, Script, ScriptServer } from '../helpers/script-server.js';
import {
  type JsonDoc,
  TERMINAL_UNSAFE,
  assertNoStackTrace,
  closeAll,
  deadPort,
  etrnCli,
  parseDoc,
  serve,
  sleep,
  writeForever,
} from './harness.js';

after(closeAll);

// ---------------------------------------------------------------- servers

type Outcome = 'stop' | void;
const STOP: Outcome = 'stop';
type Step = (conn: Conn, line: string, count: number) => Promise<Outcome> | Outcome;

interface Hostile {
  /** Replaces the 220 greeting. */
  greeting?: (conn: Conn) => Promise<Outcome> | Outcome;
  ehlo?: Step;
  helo?: Step;
  /** `count` is 1 for the first ETRN of the connection. */
  etrn?: Step;
  /** Replaces the 221 to QUIT; the script ends after it. */
  quit?: Step;
  /** Default: 454, TLS not available. */
  starttls?: Step;
}

const EHLO_OK = ['250-mx.test', '250-PIPELINING', '250 ETRN'];

/** A server that behaves until one of its hooks misbehaves; 'stop' ends the script (the socket stays as the hook left it). */
function hostile(h: Hostile): Script {
  return async (conn) => {
    const greeting = h.greeting ?? ((c: Conn) => c.send('220 mx.test ESMTP hostile'));
    if ((await greeting(conn)) === STOP) return;
    let etrns = 0;
    for (;;) {
      const line = await conn.readLine();
      if (line === null) return;
      const verb = line.split(' ')[0]!.toUpperCase();
      let outcome: Outcome = undefined;
      if (verb === 'EHLO') outcome = await (h.ehlo ?? ((c: Conn) => c.send(...EHLO_OK)))(conn, line, 0);
      else if (verb === 'HELO') outcome = await (h.helo ?? ((c: Conn) => c.send('250 mx.test')))(conn, line, 0);
      else if (verb === 'ETRN') {
        etrns += 1;
        const accept: Step = (c, l) => c.send(`250 2.0.0 Queuing for node ${l.slice(5)} started`);
        outcome = await (h.etrn ?? accept)(conn, line, etrns);
      } else if (verb === 'STARTTLS') {
        outcome = await (h.starttls ?? ((c: Conn) => c.send('454 4.7.0 TLS not available')))(conn, line, 0);
      } else if (verb === 'QUIT') {
        if (h.quit) {
          await h.quit(conn, line, 0);
          return;
        }
        conn.send('221 2.0.0 Bye');
        conn.socket.end();
        return;
      } else conn.send('502 5.5.2 Error: command not recognized');
      if (outcome === STOP) return;
    }
  };
}

/** Holds the connection, saying nothing, until the client leaves. */
const hold = async (conn: Conn): Promise<Outcome> => {
  await conn.closed();
  return STOP;
};
/** Sends `text` one byte every 200 ms, for ever (until the client leaves). */
const trickle = (text: string) => async (conn: Conn): Promise<Outcome> => {
  await writeForever(conn.socket, (i) => text[i % text.length]!, 200);
  return STOP;
};
const MIB_NO_CRLF = Buffer.alloc(1 << 20, 'x');

// ---------------------------------------------------------------- scenarios

interface Scenario {
  readonly name: string;
  readonly script?: Script;
  /** Connect to a port nothing listens on instead. */
  readonly dead?: boolean;
  readonly nodes?: readonly string[];
  readonly flags?: readonly string[];
  /** -t, in seconds. */
  readonly timeout?: number;
  /** The run must end within this many ms (a failure that must not wait for the deadline). */
  readonly fastMs?: number;
  readonly exit: number;
  /** Key words of the session's error line (stderr, and error.message in --json); null: no session error. */
  readonly error: RegExp | null;
  readonly kind: 'timeout' | 'refused' | 'protocol' | 'unavailable' | null;
  /** Extra checks on the --json document and on what the server received. */
  readonly json?: (doc: JsonDoc, server: ScriptServer | null) => void;
  readonly human?: (run: CliRun, server: ScriptServer | null) => void;
}

const NODES = ['a.example', 'b.example'];

const firstOkRestUnanswered = (doc: JsonDoc): void => {
  const [a, ...rest] = doc.sessions[0]!.nodes;
  assert.equal(a!.ok, true, 'the first node was accepted before the failure');
  assert.equal(a!.code, 250);
  for (const n of rest) assert.deepEqual(unanswered(n), { node: n.node, ok: false }, `${n.node} was never answered`);
  assert.ok(rest.filter((n) => n.sent).length <= 1, 'at most the ETRN in flight was sent');
};
const noneAnswered = (doc: JsonDoc): void => {
  for (const n of doc.sessions[0]!.nodes) assert.deepEqual(unanswered(n), { node: n.node, ok: false });
};
/** A node without `sent`, which depends on how far the session got. */
function unanswered(n: JsonDoc['sessions'][number]['nodes'][number]): object {
  const { sent, ...rest } = n;
  assert.equal(typeof sent, 'boolean', `${n.node}: sent is a boolean`);
  return rest;
}
const sentNoEtrn = (_doc: JsonDoc, s: ScriptServer | null): void => {
  assert.ok(!s!.received.some((l) => l.startsWith('ETRN')), `no ETRN may be sent: ${JSON.stringify(s!.received)}`);
};

const scenarios: Scenario[] = [
  // --- silence and slowness: the deadline, never the server, ends the run
  {
    name: 'no greeting: the server reads but never speaks',
    script: hostile({ greeting: hold }),
    timeout: 0.5,
    exit: 75,
    error: /no complete reply within 0\.5 s \(while receiving the initial server greeting\)/,
    kind: 'timeout',
    json: noneAnswered,
  },
  {
    name: 'the server accepts the connection and then neither reads nor writes',
    script: hostile({
      greeting: (conn) => {
        conn.socket.pause();
        return hold(conn);
      },
    }),
    timeout: 0.5,
    exit: 75,
    error: /no complete reply within 0\.5 s \(while receiving the initial server greeting\)/,
    kind: 'timeout',
    json: noneAnswered,
  },
  {
    name: 'a greeting that trickles one byte every 200 ms for ever',
    script: hostile({ greeting: trickle('220 mx.test ESMTP very slowly indeed ') }),
    timeout: 1,
    exit: 75,
    error: /no complete reply within 1 s \(while receiving the initial server greeting\)/,
    kind: 'timeout',
  },
  {
    name: 'an EHLO reply that trickles one byte every 200 ms for ever',
    script: hostile({ ehlo: trickle('250-mx.test slowly\r\n') }),
    timeout: 1,
    exit: 75,
    error: /no complete reply within 1 s \(while receiving the EHLO reply\)/,
    kind: 'timeout',
  },
  {
    name: 'the second ETRN reply trickles for ever: the first node is still reported accepted',
    script: hostile({ etrn: (c, l, n) => (n === 1 ? c.send('250 OK') : trickle('250 slow ')(c)) }),
    nodes: ['a.example', 'b.example', 'c.example'],
    timeout: 1,
    exit: 75,
    error: /no complete reply within 1 s \(while receiving the ETRN reply for b\.example\)/,
    kind: 'timeout',
    json: firstOkRestUnanswered,
  },
  {
    name: 'a multi-line EHLO reply that never ends, one "250-x" line every 50 ms',
    script: hostile({
      ehlo: async (c) => {
        await writeForever(c.socket, () => '250-x\r\n', 50);
        return STOP;
      },
    }),
    timeout: 1,
    exit: 75,
    error: /no complete reply within 1 s \(while receiving the EHLO reply\)/,
    kind: 'timeout',
  },
  {
    name: 'a TCP connection to a port nothing listens on',
    dead: true,
    timeout: 10,
    fastMs: 8000,
    exit: 75,
    error: /connection refused \(while connecting\)/,
    kind: 'refused',
    json: noneAnswered,
  },

  // --- limits: a flood is a protocol error as soon as a limit is crossed
  {
    name: 'a greeting line of 1 MiB without CRLF',
    script: hostile({
      greeting: async (c) => {
        c.raw(Buffer.concat([Buffer.from('220 '), MIB_NO_CRLF]));
        return hold(c);
      },
    }),
    timeout: 10,
    fastMs: 8000,
    exit: 76,
    error: /reply line longer than 2048 octets \(while receiving the initial server greeting\)/,
    kind: 'protocol',
  },
  {
    name: 'an ETRN reply line of 1 MiB without CRLF',
    script: hostile({
      etrn: (c) => {
        c.raw(Buffer.concat([Buffer.from('250 '), MIB_NO_CRLF]));
        return hold(c);
      },
    }),
    timeout: 10,
    fastMs: 8000,
    exit: 76,
    error: /reply line longer than 2048 octets \(while receiving the ETRN reply for a\.example\)/,
    kind: 'protocol',
    json: noneAnswered,
  },
  {
    name: 'a multi-line greeting that never ends, "220-x" lines as fast as they drain',
    script: hostile({
      greeting: async (c) => {
        await writeForever(c.socket, () => '220-x\r\n'.repeat(32), 0);
        return STOP;
      },
    }),
    timeout: 10,
    fastMs: 8000,
    exit: 76,
    error: /reply has more than 200 lines \(while receiving the initial server greeting\)/,
    kind: 'protocol',
  },
  {
    name: 'a multi-line EHLO reply over 64 KiB in lines under the line limit',
    script: hostile({
      ehlo: async (c) => {
        await writeForever(c.socket, () => `250-${'y'.repeat(2000)}\r\n`, 0);
        return STOP;
      },
    }),
    timeout: 10,
    fastMs: 8000,
    exit: 76,
    error: /reply longer than 65536 octets \(while receiving the EHLO reply\)/,
    kind: 'protocol',
  },

  // --- replies that are not SMTP
  {
    name: 'a greeting that is not SMTP (an HTTP server on the port)',
    script: hostile({
      greeting: (c) => {
        c.send('HTTP/1.1 400 Bad Request', 'Content-Length: 0', '');
        return hold(c);
      },
    }),
    exit: 76,
    error: /not an SMTP reply: "HTTP\/1\.1 400 Bad Request" \(while receiving the initial server greeting\)/,
    kind: 'protocol',
  },
  {
    name: 'a non-numeric ETRN reply ("25O ok")',
    script: hostile({ etrn: (c) => c.send('25O ok') }),
    exit: 76,
    error: /not an SMTP reply: "25O ok" \(while receiving the ETRN reply for a\.example\)/,
    kind: 'protocol',
    json: noneAnswered,
  },
  {
    name: 'a greeting with code 199 (below 2xx)',
    script: hostile({ greeting: (c) => c.send('199 mx.test hello') }),
    exit: 76,
    error: /not an SMTP reply: "199 mx\.test hello"/,
    kind: 'protocol',
  },
  {
    name: 'an EHLO reply with code 100',
    script: hostile({ ehlo: (c) => c.send('100 continue') }),
    exit: 76,
    error: /not an SMTP reply: "100 continue" \(while receiving the EHLO reply\)/,
    kind: 'protocol',
  },
  {
    name: 'an ETRN reply with code 600 (above 5xx)',
    script: hostile({ etrn: (c) => c.send('600 6.0.0 what') }),
    exit: 76,
    error: /not an SMTP reply: "600 6\.0\.0 what" \(while receiving the ETRN reply for a\.example\)/,
    kind: 'protocol',
  },
  {
    name: 'a reply code followed by neither space nor hyphen ("250xETRN")',
    script: hostile({ ehlo: (c) => c.send('250-mx.test', '250xETRN') }),
    exit: 76,
    error: /not an SMTP reply: "250xETRN"/,
    kind: 'protocol',
  },
  {
    name: 'a multi-line EHLO reply whose lines carry different codes',
    script: hostile({ ehlo: (c) => c.send('250-mx.test', '251 ETRN') }),
    exit: 76,
    error: /reply lines carry different codes \(250, then 251\)/,
    kind: 'protocol',
  },
  {
    name: 'a greeting with code 250 instead of 220',
    script: hostile({ greeting: (c) => c.send('250 mx.test hello') }),
    exit: 76,
    error: /unexpected greeting: 250 mx\.test hello/,
    kind: 'protocol',
  },
  {
    name: 'an EHLO answered with 354',
    script: hostile({ ehlo: (c) => c.send('354 go ahead') }),
    exit: 76,
    error: /unexpected EHLO reply: 354 go ahead/,
    kind: 'protocol',
  },
  {
    name: 'an ETRN answered with 354 (the server is in some other conversation)',
    script: hostile({ etrn: (c) => c.send('354 End data with <CR><LF>.<CR><LF>') }),
    exit: 76,
    error: /unexpected ETRN reply: 354 /,
    kind: 'protocol',
    json: noneAnswered,
  },
  {
    name: 'an ETRN answered with 221',
    script: hostile({ etrn: (c) => c.send('221 2.0.0 Bye') }),
    exit: 76,
    error: /unexpected ETRN reply: 221 2\.0\.0 Bye/,
    kind: 'protocol',
    json: noneAnswered,
  },

  // --- odd but valid bytes: these must work
  {
    name: 'replies that end in a bare LF work',
    script: hostile({
      greeting: (c) => c.raw('220 mx.test ESMTP lf-only\n'),
      ehlo: (c) => c.raw('250-mx.test\n250 ETRN\n'),
      etrn: (c, l) => c.raw(`250 2.0.0 Queuing for node ${l.slice(5)} started\n`),
    }),
    exit: 0,
    error: null,
    kind: null,
    json: (doc) => {
      assert.deepEqual(
        doc.sessions[0]!.nodes.map((n) => [n.node, n.code, n.text]),
        NODES.map((n) => [n, 250, `Queuing for node ${n} started`]),
      );
    },
  },
  {
    name: 'NUL, invalid UTF-8 and terminal escapes in reply texts work, cleaned',
    script: hostile({
      greeting: (c) => c.raw(Buffer.from('220 mx.test \x00\xff\xfe hello\r\n', 'latin1')),
      ehlo: (c) => c.raw(Buffer.from('250-mx.test \x00\xc3\r\n250 ETRN\r\n', 'latin1')),
      etrn: (c) => c.raw(Buffer.from('250 2.0.0 Queuing\x00 \xff\xfe\x1b[31m started\x07\r\n', 'latin1')),
    }),
    exit: 0,
    error: null,
    kind: null,
    json: (doc) => {
      for (const n of doc.sessions[0]!.nodes) {
        assert.equal(n.ok, true);
        assert.equal(n.enhanced, '2.0.0');
        assert.match(n.text!, /^Queuing.* .*\[31m started.?$/);
        assert.doesNotMatch(n.text!, /[\u0000\u001b\u0007\ufffd]/);
      }
    },
    human: (run) => {
      assert.doesNotMatch(run.stdout, TERMINAL_UNSAFE, 'no raw control byte reaches the terminal');
      assert.match(run.stdout, /a\.example: accepted: 250 2\.0\.0 Queuing/);
    },
  },
  {
    name: 'enhanced status codes are split from the text, on every line of the reply',
    script: hostile({ etrn: (c) => c.send('250-2.0.0 Queuing for node', '250 2.0.0 started') }),
    exit: 0,
    error: null,
    kind: null,
    json: (doc) => {
      for (const n of doc.sessions[0]!.nodes) {
        assert.deepEqual([n.code, n.enhanced, n.text], [250, '2.0.0', 'Queuing for node started']);
      }
    },
  },
  {
    name: 'an enhanced code of another class than the reply stays in the text',
    script: hostile({ etrn: (c) => c.send('250 5.0.0 odd but accepted') }),
    exit: 0,
    error: null,
    kind: null,
    json: (doc) => {
      const n = doc.sessions[0]!.nodes[0]!;
      assert.deepEqual([n.code, n.enhanced, n.text], [250, null, '5.0.0 odd but accepted']);
    },
  },

  // --- connections that end early
  {
    name: 'the connection closes in the middle of a multi-line greeting',
    script: hostile({
      greeting: (c) => {
        c.raw('220-mx.test first line\r\n220-mx.te');
        c.socket.end();
        return STOP;
      },
    }),
    exit: 75,
    error: /connection closed by server \(while receiving the initial server greeting\)/,
    kind: 'refused',
    json: noneAnswered,
  },
  {
    name: 'the connection closes in the middle of a multi-line EHLO reply',
    script: hostile({
      ehlo: (c) => {
        c.raw('250-mx.test\r\n250-PIPEL');
        c.socket.end();
        return STOP;
      },
    }),
    exit: 75,
    error: /connection closed by server \(while receiving the EHLO reply\)/,
    kind: 'refused',
  },
  {
    name: 'the connection closes in the middle of an ETRN reply line',
    script: hostile({
      etrn: (c) => {
        c.raw('250 2.0.0 Queuing for no');
        c.socket.end();
        return STOP;
      },
    }),
    exit: 75,
    error: /connection closed by server \(while receiving the ETRN reply for a\.example\)/,
    kind: 'refused',
    json: noneAnswered,
  },
  {
    name: 'the connection closes right after the greeting',
    script: hostile({
      greeting: (c) => {
        c.send('220 mx.test ESMTP bye now');
        c.socket.end();
        return STOP;
      },
    }),
    exit: 75,
    error: /connection (closed by (server|peer)|reset by peer) \(while receiving the EHLO reply\)/,
    kind: 'refused',
    json: noneAnswered,
  },
  {
    name: 'the connection closes after EHLO, without a reply',
    script: hostile({
      ehlo: (c) => {
        c.socket.end();
        return STOP;
      },
    }),
    exit: 75,
    error: /connection closed by server \(while receiving the EHLO reply\)/,
    kind: 'refused',
    json: noneAnswered,
  },
  {
    name: 'the connection closes between two ETRNs: the first node is still reported accepted',
    script: hostile({
      etrn: (c) => {
        c.send('250 OK');
        c.socket.end();
        return STOP;
      },
    }),
    nodes: ['a.example', 'b.example', 'c.example'],
    exit: 75,
    error: /connection (closed by (server|peer)|reset by peer) \(while receiving the ETRN reply for b\.example\)/,
    kind: 'refused',
    json: firstOkRestUnanswered,
  },
  {
    name: 'a TCP reset instead of the greeting',
    script: hostile({
      greeting: async (c) => {
        await sleep(20);
        c.socket.resetAndDestroy();
        return STOP;
      },
    }),
    exit: 75,
    error: /connection (reset by peer|closed by server) \(while receiving the initial server greeting\)/,
    kind: 'refused',
    json: noneAnswered,
  },
  {
    name: 'a TCP reset in answer to EHLO',
    script: hostile({
      ehlo: (c) => {
        c.socket.resetAndDestroy();
        return STOP;
      },
    }),
    exit: 75,
    error: /connection (reset by peer|closed by server) \(while receiving the EHLO reply\)/,
    kind: 'refused',
  },
  {
    name: 'a TCP reset in answer to the second ETRN: the first node is still reported accepted',
    script: hostile({
      etrn: (c, _l, n) => {
        if (n === 1) return c.send('250 OK');
        c.socket.resetAndDestroy();
        return STOP;
      },
    }),
    nodes: ['a.example', 'b.example', 'c.example'],
    exit: 75,
    error: /connection (reset by peer|closed by server) \(while receiving the ETRN reply for b\.example\)/,
    kind: 'refused',
    json: firstOkRestUnanswered,
  },

  // --- 421 and 554
  {
    name: '421 at the greeting',
    script: hostile({ greeting: (c) => c.send('421 4.3.2 mx.test busy, try later') }),
    exit: 75,
    error: /server refused the session: 421 4\.3\.2 mx\.test busy, try later \(while receiving the initial server greeting\)/,
    kind: 'refused',
    json: noneAnswered,
  },
  {
    name: '421 in answer to EHLO',
    script: hostile({ ehlo: (c) => c.send('421 4.3.2 shutting down') }),
    exit: 75,
    error: /server closed the session: 421 4\.3\.2 shutting down \(while receiving the EHLO reply\)/,
    kind: 'refused',
    json: (doc, s) => {
      noneAnswered(doc);
      sentNoEtrn(doc, s);
    },
  },
  {
    name: '421 in answer to the second ETRN: the first node is still reported accepted',
    script: hostile({ etrn: (c, _l, n) => c.send(n === 1 ? '250 OK' : '421 4.3.2 shutting down') }),
    nodes: ['a.example', 'b.example', 'c.example'],
    exit: 75,
    error: /server closed the session: 421 4\.3\.2 shutting down \(while receiving the ETRN reply for b\.example\)/,
    kind: 'refused',
    json: (doc, s) => {
      const [a, b, c] = doc.sessions[0]!.nodes;
      assert.deepEqual([a!.ok, a!.code], [true, 250]);
      assert.deepEqual([b!.ok, b!.code, b!.enhanced], [false, 421, '4.3.2']);
      assert.deepEqual(c, { node: 'c.example', ok: false, sent: false });
      assert.ok(!s!.received.includes('ETRN c.example'), 'nothing is sent after 421');
      // The reply that ended the session and where, as fields (issue 13 item 1).
      assert.equal(doc.sessions[0]!.error?.phase, 'etrn');
      assert.deepEqual(doc.sessions[0]!.error?.reply, { code: 421, enhanced: '4.3.2', text: 'shutting down' });
    },
  },
  {
    name: '554 at the greeting: unavailable, and etrn says QUIT',
    script: hostile({ greeting: (c) => c.send('554 5.3.2 no service for you') }),
    exit: 69,
    error: /server refused the session: 554 5\.3\.2 no service for you \(while receiving the initial server greeting\)/,
    kind: 'unavailable',
    json: (doc, s) => {
      noneAnswered(doc);
      assert.deepEqual(s!.received, ['QUIT']);
    },
  },

  // --- replies nobody asked for
  {
    name: 'two replies to EHLO in one packet',
    script: hostile({ ehlo: (c) => c.send(...EHLO_OK, '250 2.0.0 and another thing') }),
    exit: 76,
    error: /unsolicited/,
    kind: 'protocol',
    json: sentNoEtrn,
  },
  {
    name: 'a reply right behind the greeting, before any command was sent',
    script: hostile({ greeting: (c) => c.send('220 mx.test ESMTP', '250 2.0.0 OK') }),
    exit: 76,
    error: /unsolicited/,
    kind: 'protocol',
    json: sentNoEtrn,
  },
  {
    name: 'two replies to the first ETRN: the second answers a command never sent',
    script: hostile({ etrn: (c) => c.send('250 OK', '250 OK again') }),
    exit: 76,
    error: /unsolicited/,
    kind: 'protocol',
    json: (doc, s) => {
      assert.ok(!s!.received.includes('ETRN b.example'), 'the extra reply is not taken for the next ETRN');
    },
  },
  {
    name: 'two replies to the last ETRN: the second answers a command never sent',
    script: hostile({ etrn: (c) => c.send('250 OK', '250 OK again') }),
    nodes: ['a.example'],
    exit: 76,
    error: /unsolicited/,
    kind: 'protocol',
  },
  {
    name: 'a reply while etrn pauses between two ETRNs (--delay)',
    script: hostile({
      etrn: async (c, _l, n) => {
        c.send('250 OK');
        if (n === 1) {
          await sleep(100);
          c.send('250 2.0.0 by the way');
        }
      },
    }),
    flags: ['--delay', '0.5'],
    exit: 76,
    error: /unsolicited|no command was outstanding/,
    kind: 'protocol',
    json: (doc) => {
      assert.equal(doc.sessions[0]!.nodes[0]!.ok, true, 'the first node was accepted before');
      // The reply came during the --delay pause: ETRN b.example was never written (issue 11 item 8).
      assert.deepEqual(doc.sessions[0]!.nodes[1], { node: 'b.example', ok: false, sent: false });
    },
  },

  // --- STARTTLS offered by a hostile server (the default --tls is opportunistic)
  {
    name: 'plaintext injected behind the 220 to STARTTLS (CVE-2011-0411)',
    script: hostile({
      ehlo: (c) => c.send('250-mx.test', '250-STARTTLS', '250 ETRN'),
      starttls: (c) => c.send('220 2.0.0 Ready to start TLS', '250 2.0.0 injected'),
    }),
    exit: 76,
    error: /after its 220 to STARTTLS.*injection/,
    kind: 'protocol',
    json: sentNoEtrn,
  },
  {
    name: 'STARTTLS refused with 454: opportunistic TLS carries on in clear',
    script: hostile({
      ehlo: (c) => c.send('250-mx.test', '250-STARTTLS', '250 ETRN'),
      starttls: (c) => c.send('454 4.7.0 TLS not available'),
    }),
    exit: 0,
    error: null,
    kind: null,
    json: (_doc, s) => {
      assert.deepEqual(s!.received, ['EHLO client.example', 'STARTTLS', 'ETRN a.example', 'ETRN b.example', 'QUIT']);
    },
  },
  {
    name: 'garbage instead of a TLS handshake: one reconnect in clear, then it works',
    script: (conn, index) =>
      hostile({
        ehlo: (c) => (index === 0 ? c.send('250-mx.test', '250-STARTTLS', '250 ETRN') : c.send('250-mx.test', '250 ETRN')),
        starttls: (c) => {
          c.send('220 2.0.0 Ready to start TLS');
          // Garbage where the ServerHello should be; sent once the ClientHello is in.
          c.socket.once('data', () => c.raw('this is not TLS at all\r\n'.repeat(4)));
          return STOP;
        },
      })(conn, index),
    exit: 0,
    error: null,
    kind: null,
    json: (_doc, s) => {
      assert.equal(s!.connections.length, 2, 'one reconnect');
      assert.ok(!s!.connections[1]!.includes('STARTTLS'), 'the second connection stays in clear');
    },
  },
  {
    name: 'a TLS handshake that never completes: bounded by -t, then one reconnect in clear',
    script: (conn, index) =>
      hostile({
        ehlo: (c) => (index === 0 ? c.send('250-mx.test', '250-STARTTLS', '250 ETRN') : c.send('250-mx.test', '250 ETRN')),
        starttls: (c) => {
          c.send('220 2.0.0 Ready to start TLS');
          return hold(c);
        },
      })(conn, index),
    timeout: 0.5,
    exit: 0,
    error: null,
    kind: null,
    json: (_doc, s) => {
      assert.equal(s!.connections.length, 2, 'one reconnect');
    },
  },

  // --- EHLO/HELO and the ETRN capability
  {
    name: 'EHLO refused with 500, HELO accepted: no ETRN without --force',
    script: hostile({ ehlo: (c) => c.send('500 5.5.1 command unrecognized') }),
    exit: 69,
    error: /server refused EHLO, so it cannot offer ETRN/,
    kind: 'unavailable',
    json: (doc, s) => {
      sentNoEtrn(doc, s);
      assert.equal(doc.sessions[0]!.etrnAdvertised, false);
      assert.deepEqual(s!.received, ['EHLO client.example', 'HELO client.example', 'QUIT']);
    },
  },
  {
    name: 'EHLO refused with 500, HELO accepted: ETRN with --force works',
    script: hostile({ ehlo: (c) => c.send('500 5.5.1 command unrecognized') }),
    flags: ['--force'],
    exit: 0,
    error: null,
    kind: null,
    json: (_doc, s) => {
      assert.deepEqual(s!.received, ['EHLO client.example', 'HELO client.example', 'ETRN a.example', 'ETRN b.example', 'QUIT']);
    },
  },
  {
    name: 'EHLO and HELO both refused',
    script: hostile({ ehlo: (c) => c.send('502 5.5.2 no'), helo: (c) => c.send('550 5.7.1 go away') }),
    flags: ['--force'],
    exit: 69,
    error: /server refused EHLO and HELO: 550 5\.7\.1 go away/,
    kind: 'unavailable',
    json: sentNoEtrn,
  },
  {
    name: 'ETRN not advertised: not sent without --force',
    script: hostile({ ehlo: (c) => c.send('250-mx.test', '250 PIPELINING') }),
    exit: 69,
    error: /server does not offer ETRN/,
    kind: 'unavailable',
    json: (doc, s) => {
      sentNoEtrn(doc, s);
      assert.equal(doc.sessions[0]!.etrnAdvertised, false);
    },
  },
  {
    name: 'ETRN not advertised but accepted with --force',
    script: hostile({ ehlo: (c) => c.send('250 mx.test') }),
    flags: ['--force'],
    exit: 0,
    error: null,
    kind: null,
    json: (doc) => {
      assert.equal(doc.sessions[0]!.etrnAdvertised, false);
    },
  },

  // --- a node refused: the next one is still asked
  {
    name: 'every reply arrives one byte per packet: works',
    script: (() => {
      const dribble = async (c: Conn, text: string): Promise<void> => {
        c.socket.setNoDelay(true);
        for (const ch of text) {
          c.raw(ch);
          await sleep(1);
        }
      };
      return hostile({
        greeting: (c) => dribble(c, '220 mx.test ESMTP\r\n'),
        ehlo: (c) => dribble(c, '250-mx.test\r\n250 ETRN\r\n'),
        etrn: (c) => dribble(c, '250 2.0.0 started\r\n'),
      });
    })(),
    exit: 0,
    error: null,
    kind: null,
    json: (doc) => {
      for (const n of doc.sessions[0]!.nodes) assert.deepEqual([n.code, n.enhanced, n.text], [250, '2.0.0', 'started']);
    },
  },
  {
    name: 'garbage and a reset in answer to QUIT change nothing: every result was in',
    script: hostile({
      quit: async (c) => {
        c.raw(Buffer.concat([Buffer.from('221-bye\r\n999 \x00'), Buffer.alloc(100_000, 0xff)]));
        await sleep(20);
        c.socket.resetAndDestroy();
      },
    }),
    exit: 0,
    error: null,
    kind: null,
    json: (_doc, s) => {
      assert.equal(s!.received.at(-1), 'QUIT');
    },
  },
  ...([
    [458, 75, '4.4.0', 'failed temporarily'],
    [459, 69, '4.7.1', 'refused'],
    [500, 69, '5.5.1', 'refused'],
    [501, 69, '5.5.4', 'refused'],
    [502, 69, '5.5.1', 'refused'],
    [504, 69, '5.5.4', 'refused'],
    [550, 69, '5.7.1', 'refused'],
  ] as const).map(
    ([code, exit, enhanced, how]): Scenario => ({
      name: `ETRN answered ${code} for one node: exit ${exit}, the next node still asked`,
      script: hostile({ etrn: (c, l) => c.send(l === 'ETRN a.example' ? `${code} ${enhanced} not for ${l.slice(5)}` : '250 OK') }),
      exit,
      error: null,
      kind: null,
      json: (doc, s) => {
        const [a, b] = doc.sessions[0]!.nodes;
        assert.deepEqual([a!.code, a!.enhanced, a!.text, a!.ok], [code, enhanced, 'not for a.example', false]);
        assert.deepEqual([b!.code, b!.ok], [250, true]);
        assert.ok(s!.received.includes('ETRN b.example'));
        assert.equal(s!.received.at(-1), 'QUIT');
      },
      human: (run) => {
        const line = new RegExp(`^etrn: 127\\.0\\.0\\.1:\\d+: ETRN a\\.example ${how}: ${code} ${enhanced.replace(/\./g, '\\.')} not for a\\.example$`, 'm');
        assert.match(run.stderr, line);
        assert.equal(run.stderr.trim().split('\n').length, 1, 'one line on stderr');
        assert.match(run.stdout, /b\.example: accepted: 250 OK/);
      },
    }),
  ),
];

// ---------------------------------------------------------------- runner

async function runScenario(sc: Scenario, json: boolean): Promise<{ run: CliRun; server: ScriptServer | null }> {
  const server = sc.dead ? null : await serve(sc.script!);
  const port = server ? server.port : await deadPort();
  const timeout = sc.timeout ?? 1;
  const args = [
    ...(json ? ['--json'] : []),
    '--helo',
    'client.example',
    '-t',
    String(timeout),
    ...(sc.flags ?? []),
    `127.0.0.1:${port}`,
    ...(sc.nodes ?? NODES),
  ];
  const run = await etrnCli(args, { killAfterMs: timeout * 1000 + 10_000 });
  return { run, server };
}

function checkCommon(sc: Scenario, run: CliRun, what: string): void {
  const timeout = sc.timeout ?? 1;
  assert.equal(run.signal, null, `${what}: killed by ${run.signal}`);
  assert.equal(run.code, sc.exit, `${what}: exit status\nstderr: ${run.stderr}\nstdout: ${run.stdout}`);
  assertNoStackTrace(run.stderr);
  // "No hang" bounds, generous for a loaded machine: a multiple of the timeout.
  const bound = sc.fastMs ?? timeout * 1000 * 4 + 6000;
  assert.ok(run.elapsedMs < bound, `${what}: took ${Math.round(run.elapsedMs)} ms, bound ${bound} ms`);
}

describe('hostile servers against the etrn command', { concurrency: 3 }, () => {
  for (const sc of scenarios) {
    test(`${sc.name} (exit ${sc.exit})`, async () => {
      const [human, json] = await Promise.all([runScenario(sc, false), runScenario(sc, true)]);

      checkCommon(sc, human.run, 'human');
      const errLines = human.run.stderr.split('\n').filter((l) => l !== '');
      for (const l of errLines) assert.match(l, /^etrn: /, 'every stderr line is an etrn message');
      assert.doesNotMatch(human.run.stderr, TERMINAL_UNSAFE, 'stderr carries no raw control bytes');
      if (sc.error) {
        const matching = errLines.filter((l) => sc.error!.test(l));
        assert.equal(matching.length, 1, `one error line matching ${sc.error}:\n${human.run.stderr}`);
        assert.match(matching[0]!, /^etrn: 127\.0\.0\.1:\d+: /, 'the error line names the server');
      }
      if (sc.exit === 0) assert.equal(human.run.stderr, '', 'nothing on stderr on success');
      sc.human?.(human.run, human.server);

      checkCommon(sc, json.run, '--json');
      assert.equal(json.run.stderr, '', '--json has the errors; nothing on stderr');
      const doc = parseDoc(json.run.stdout, sc.exit, sc.nodes ?? NODES);
      assert.equal(doc.sessions.length, 1);
      const error = doc.sessions[0]!.error;
      if (sc.kind === null) assert.equal(error, null, 'no session error');
      else {
        assert.equal(error?.kind, sc.kind, `error.kind: ${JSON.stringify(error)}`);
        // The human sentence is made from the document's fields: phase, reply, nodes' sent.
        const where = describeWhere(doc.sessions[0] as unknown as SessionResult, error as SessionError);
        assert.match(`${error.message} (while ${where})`, sc.error!);
        if (sc.kind === 'timeout') assert.equal(error.reply, null, 'a timeout ends without a reply');
      }
      sc.json?.(doc, json.server);
    });
  }
});

test('the scenario table is as large as promised', () => {
  assert.ok(scenarios.length >= 30, `${scenarios.length} scenarios`);
});
