/**
 * Build the package once into a scratch folder inside the repository (so its imports resolve
 * against this node_modules) and ask a fresh `node` which packages one import loads and how long
 * it takes — the view a user gets from `import('colmena')`.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BuiltPackage {
  dir: string;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function buildPackage(): Promise<BuiltPackage> {
  const dir = await mkdtemp(join(ROOT, '.probe-dist-'));
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dir, '--sourceMap', 'false', '--declaration', 'false', '--declarationMap', 'false']);
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

export interface ImportProbe {
  /** Milliseconds the dynamic import took, in a fresh process. */
  ms: number;
  /** Packages (by name) whose files were loaded through the ESM loader or `require`. */
  packages: string[];
}

/** Import `file` in a fresh node process and report its load time and the packages it loaded. */
export async function probeImport(file: string): Promise<ImportProbe> {
  const script = join(ROOT, `.probe-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
  await writeFile(
    script,
    `import { register, createRequire } from 'node:module';
import Module from 'node:module';
const seen = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => seen.add(url));
port1.unref();
register('data:text/javascript,' + encodeURIComponent(\`let port; export function initialize(d) { port = d.port; }
export async function resolve(s, c, n) { const r = await n(s, c); port.postMessage(r.url); return r; }\`), { data: { port: port2 }, transferList: [port2] });
const load = Module._load;
Module._load = function (request, parent, isMain) { const r = load.apply(this, arguments); try { seen.add('file://' + Module._resolveFilename(request, parent)); } catch {} return r; };
const t0 = performance.now();
await import(${JSON.stringify(new URL(`file://${file}`).href)});
const ms = performance.now() - t0;
await new Promise((r) => setTimeout(r, 50));
const packages = new Set();
for (const url of seen) { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(url); if (m) packages.add(m[1]); }
process.stdout.write(JSON.stringify({ ms, packages: [...packages].sort() }) + '\\n', () => process.exit(0));
`,
  );
  try {
    // With an IPC channel, as a worker process has one.
    const child = spawn(process.execPath, [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`importing ${file} exited with ${String(code)}`);
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as ImportProbe;
  } finally {
    await rm(script, { force: true });
  }
}
