/**
 * A newcomer's project: a new folder, colmena installed from the tarball `npm pack` makes, plus tsx,
 * TypeScript and Node's types. Installed offline: a lockfile for the new project is cut from this
 * repository's own (same versions, same integrity hashes), so `npm ci --offline` finds every
 * package in the local npm cache and asks the network for nothing.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = new URL('../../', import.meta.url).pathname;

/** The tools a newcomer adds beside colmena, at the versions this repository uses. */
const TOOLS = ['tsx', 'typescript', '@types/node'] as const;

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  devOptional?: boolean;
  [field: string]: unknown;
}

export interface FreshProject {
  dir: string;
  /** The packed tarball, beside the project. */
  tarball: string;
}

/** `npm pack` this repository into `into` (runs its prepare script: a clean build). */
export async function packColmena(into: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', into], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string }[];
  if (!packed) throw new Error(`npm pack printed no package: ${stdout}`);
  return join(into, packed.filename);
}

/**
 * A new project in a temporary folder with `packageJson` as its package.json, whose
 * `dependencies.colmena` is replaced by the tarball, installed offline.
 */
export async function freshProject(root: string, tarball: string, packageJson: Record<string, unknown>): Promise<FreshProject> {
  const dir = await mkdtemp(join(root, 'project-'));
  const repoLock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const repoManifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as LockEntry & { bin?: Record<string, string> };
  const tarballBytes = await readFile(tarball);
  const spec = `file:${tarball}`;

  const dependencies = { ...(packageJson.dependencies as Record<string, string> | undefined), colmena: spec };
  const devDependencies: Record<string, string> = {};
  for (const tool of TOOLS) devDependencies[tool] = repoManifest.devDependencies ? (repoManifest.devDependencies as Record<string, string>)[tool]! : '*';
  const manifest = { name: 'first-campaign', version: '1.0.0', private: true, ...packageJson, dependencies, devDependencies };

  const packages: Record<string, LockEntry> = {
    '': { name: manifest.name, version: manifest.version, dependencies, devDependencies },
    'node_modules/colmena': {
      version: repoManifest.version!,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(tarballBytes).digest('base64')}`,
      license: 'Apache-2.0',
      dependencies: repoManifest.dependencies!,
      bin: repoManifest.bin!,
      engines: repoManifest.engines as Record<string, string>,
    },
  };
  // Every package the roots need, found where Node's resolution would find it in the repo's tree.
  const wanted: [string, string][] = [...Object.keys(repoManifest.dependencies ?? {}), ...TOOLS].map((name) => ['', name]);
  while (wanted.length > 0) {
    const [from, name] = wanted.pop()!;
    let key: string | undefined;
    for (let base = from; ; base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : '') {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (repoLock.packages[candidate]) {
        key = candidate;
        break;
      }
      if (base === '') break;
    }
    if (!key || packages[key]) continue;
    const entry = { ...repoLock.packages[key]! };
    delete entry.dev;
    delete entry.devOptional;
    packages[key] = entry;
    const optionalPeers = Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n);
    for (const dep of [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers.includes(n)),
    ]) {
      wanted.push([key, dep]);
    }
  }
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(dir, 'package-lock.json'), `${JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages }, null, 2)}\n`);
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts=false'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  return { dir, tarball };
}

/** The names in `dir` (for checking that a run left nothing behind). */
export async function entriesOf(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}
