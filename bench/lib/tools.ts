// What the bench needs around it: programs on PATH, Debian packages and the
// Sendmail lab installed on demand, a built bundle, and shared constants.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { repoRoot } from '../../test/lab/mta-common.js';
import { BenchError, type Timed, describeRun, runTimed } from './process.js';

export const etrnBin = join(repoRoot, 'bin/etrn.js');
export const node = process.execPath;
export const HELO = 'bench.example';

export function onPath(binary: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Installs a Debian package when `present()` says its program is missing (root only; apt's lock waited for). */
export async function ensurePackage(pkg: string, present: () => boolean): Promise<void> {
  if (present()) return;
  if (process.getuid?.() !== 0) throw new BenchError(`${pkg} is not installed; as root: apt-get install ${pkg}`);
  console.error(`bench: installing ${pkg} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): Promise<Timed> =>
    runTimed('apt-get', ['install', '-y', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', pkg], { env, timeoutMs: 600_000 });
  let r = await install();
  if (r.code !== 0 || !present()) {
    await runTimed('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update'], { env, timeoutMs: 300_000 });
    r = await install();
  }
  if (r.code !== 0 || !present()) throw new BenchError(describeRun(`apt-get install ${pkg}`, r));
}

/** Installs the Sendmail lab (lab/install-sendmail.sh) when it is missing. */
export async function ensureSendmailLab(): Promise<void> {
  const cache = resolve(process.env.ETRN_LAB_CACHE ?? join(repoRoot, '.cache/lab'), 'sendmail');
  if (existsSync(join(cache, 'installed.stamp'))) return;
  console.error('bench: installing the Sendmail lab (lab/install-sendmail.sh)');
  const r = await runTimed('bash', [join(repoRoot, 'lab/install-sendmail.sh')], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new BenchError(describeRun('lab/install-sendmail.sh', r));
}

/** Warns when the CLI bundle is older than a source file (the bench measures dist/bundle, not src). */
export async function staleBundleWarning(): Promise<string | null> {
  const bundle = join(repoRoot, 'dist/bundle/main.js');
  if (!existsSync(bundle)) throw new BenchError('dist/bundle/main.js is missing: run `npm run build` first');
  const built = statSync(bundle).mtimeMs;
  const sources = (await readdir(join(repoRoot, 'src'), { recursive: true })).map((f) => join(repoRoot, 'src', f));
  const newer = sources.filter((f) => statSync(f).isFile() && statSync(f).mtimeMs > built);
  return newer.length > 0 ? `dist/bundle is older than ${newer.length} file(s) in src/ (e.g. ${newer[0]!.slice(repoRoot.length + 1)}): run \`npm run build\`` : null;
}
