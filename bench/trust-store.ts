// What the run's trust anchors cost (src/transport/trust.ts): in fresh
// processes, building them (Node's roots + the system store + extra) in
// wall and CPU time, and the first verified-or-not handshake to a loopback
// TLS server with them against Node's default CA list (which Node builds
// lazily on its first handshake too). Run: node dist/bench/trust-store.js [reps]
// SSL_CERT_FILE, SSL_CERT_DIR and NODE_EXTRA_CA_CERTS are removed from the
// children's environment, so the defaults (/etc/ssl/certs) are what is read.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connect, createServer } from 'node:tls';
import { buildTrust } from '../src/transport/trust.js';
import { makeCerts } from '../test/helpers/certs.js';

interface Sample {
  readonly buildWallMs: number;
  readonly buildCpuMs: number;
  readonly count: number;
  readonly handshakeMs: number;
}

async function child(mode: 'trust' | 'default', port: number): Promise<Sample> {
  let buildWallMs = 0;
  let buildCpuMs = 0;
  let count = 0;
  let context;
  if (mode === 'trust') {
    const cpu = process.cpuUsage();
    const trust = buildTrust(undefined);
    const used = process.cpuUsage(cpu);
    buildWallMs = trust.ms;
    buildCpuMs = (used.user + used.system) / 1000;
    count = trust.count;
    context = trust.context;
  }
  const started = performance.now();
  const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(context ? { secureContext: context } : {}) });
  await once(socket, 'secureConnect');
  const handshakeMs = performance.now() - started;
  socket.destroy();
  return { buildWallMs, buildCpuMs, count, handshakeMs };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const [mode, port] = process.argv.slice(2);
  if (mode === 'trust' || mode === 'default') {
    process.stdout.write(JSON.stringify(await child(mode, Number(port))));
    return;
  }
  const reps = Number(mode ?? 15);
  const certs = makeCerts();
  const server = createServer({ key: certs.key, cert: certs.cert }, (s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const serverPort = String((server.address() as { port: number }).port);
  const env = { ...process.env };
  for (const name of ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS']) delete env[name];
  const self = fileURLToPath(import.meta.url);
  const samples: Record<'trust' | 'default', Sample[]> = { trust: [], default: [] };
  for (let i = -1; i < reps; i++) {
    for (const m of ['trust', 'default'] as const) {
      // execFileSync would block this process's server: run the child asynchronously.
      const out = await new Promise<string>((resolve, reject) => {
        import('node:child_process').then(({ execFile }) =>
          execFile(process.execPath, [self, m, serverPort], { env }, (e, stdout) => (e ? reject(e) : resolve(stdout))),
        );
      });
      if (i >= 0) samples[m].push(JSON.parse(out) as Sample);
    }
  }
  server.close();
  const t = samples.trust;
  const d = samples.default;
  const load = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim();
  console.log(`node ${process.version}, ${reps} fresh processes each, load average ${load}`);
  console.log(`trust anchors: ${t[0]!.count} certificates`);
  console.log(`build (read + secure context): median ${median(t.map((s) => s.buildWallMs)).toFixed(1)} ms wall, ${median(t.map((s) => s.buildCpuMs)).toFixed(1)} ms CPU`);
  console.log(`first handshake with them: median ${median(t.map((s) => s.handshakeMs)).toFixed(1)} ms`);
  console.log(`first handshake with Node's default CA list (built lazily then): median ${median(d.map((s) => s.handshakeMs)).toFixed(1)} ms`);
  console.log(
    `extra per run: median ${(median(t.map((s) => s.buildWallMs + s.handshakeMs)) - median(d.map((s) => s.handshakeMs))).toFixed(1)} ms wall`,
  );
}

await main();
