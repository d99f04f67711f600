// Shared pieces of the hostile-server tests: a registry of scripted servers
// closed after the suite, a dead port, endless writers that stop when the
// client goes away, and the assertions every hostile run must pass (no stack
// trace, one document per --json run, every node exactly once).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { SessionPhase } from '../../src/protocol/session.js';
import { type CliOptions, type CliRun, runEtrn } from '../helpers/cli.js';
import { closeAll, deadPort, serve } from '../helpers/script-server.js';

export { closeAll, deadPort, serve };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether the peer is gone (the writer loops stop then). */
export const gone = (socket: Socket): boolean => socket.destroyed || !socket.writable;

/** Writes `make(i)` every `everyMs` (0: as fast as the socket drains) until the client goes away. */
export async function writeForever(socket: Socket, make: (i: number) => string | Buffer, everyMs: number): Promise<void> {
  for (let i = 0; !gone(socket); i++) {
    const more = socket.write(make(i));
    if (everyMs > 0) await sleep(everyMs);
    else if (!more) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    else if (i % 64 === 63) await new Promise((r) => setImmediate(r));
  }
}

/** Resolves once `predicate` holds, polling; fails the test after `ms`. */
export async function eventually(predicate: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** What a crash or an unhandled rejection leaves on stderr. */
export const STACK_TRACE = /\n\s+at |Error:|node:internal/;

export function assertNoStackTrace(stderr: string): void {
  assert.doesNotMatch(stderr, STACK_TRACE, `stack trace on stderr:\n${stderr}`);
}

/** Controls other than the line feed: a hostile reply must not reach the terminal raw. */
// eslint-disable-next-line no-control-regex
export const TERMINAL_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

export interface JsonNode {
  node: string;
  code?: number;
  enhanced?: string | null;
  text?: string;
  ok: boolean | null;
  sent: boolean;
}
export interface JsonSession {
  server: string;
  port: number;
  address: string | null;
  etrnAdvertised: boolean | null;
  error: {
    kind: string;
    message: string;
    phase: SessionPhase;
    reply: { code: number; enhanced: string | null; text: string } | null;
  } | null;
  nodes: JsonNode[];
}
export interface JsonDoc {
  schemaVersion: number;
  error: { kind: string; message: string } | null;
  ok: boolean;
  exitCode: number;
  sessions: JsonSession[];
}

/** Parses a --json run and checks the invariants that hold in every case. */
export function parseDoc(stdout: string, exitCode: number, nodes: readonly string[]): JsonDoc {
  let doc: JsonDoc;
  try {
    doc = JSON.parse(stdout) as JsonDoc;
  } catch (error) {
    assert.fail(`--json output does not parse (${(error as Error).message}):\n${stdout}`);
  }
  assert.equal(doc.schemaVersion, 1, 'schemaVersion');
  assert.equal(doc.exitCode, exitCode, 'exitCode in the document');
  assert.equal(doc.ok, exitCode === 0, 'ok in the document');
  const reported = doc.sessions.flatMap((s) => s.nodes.map((n) => n.node));
  assert.deepEqual([...reported].sort(), [...nodes].sort(), 'every node exactly once');
  for (const s of doc.sessions) {
    for (const n of s.nodes) {
      if (n.code !== undefined) assert.equal(n.sent, true, `${n.node}: answered means sent`);
      if (n.code === undefined) assert.equal(n.ok, false, `${n.node}: unanswered means ok:false`);
      else assert.equal(n.ok, n.code >= 250 && n.code <= 253, `${n.node}: ok follows the code ${n.code}`);
      if (n.text !== undefined) assert.doesNotMatch(n.text, TERMINAL_UNSAFE, `${n.node}: text is cleaned`);
    }
  }
  return doc;
}

/**
 * Runs the CLI as runEtrn does, without NODE_EXTRA_CA_CERTS: Node parses that
 * whole bundle at every start, which doubles the start-up cost of each child
 * and would make this suite CPU-bound. No hostile test uses TLS.
 */
export function etrnCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return runEtrn(args, { ...options, env: { NODE_EXTRA_CA_CERTS: undefined, ...options.env } });
}
