/**
 * A newcomer's first hour, done as a newcomer does it: `npm pack`, a new project, the package
 * installed from the tarball, the README's files copied out of README.md itself, run with tsx and
 * with tsc + node; each docs/*.md snippet with a file name type-checked under `tsc --init`'s strict
 * settings (exactOptionalPropertyTypes included).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type FreshProject, freshProject, packColmena } from './fresh-project.js';
import { type Snippet, jsoncParse, titledSnippets } from './snippets.js';

const run = promisify(execFile);
const REPO = new URL('../../', import.meta.url).pathname;
/** What main.ts prints, as the README shows it. */
const RESULT_LINE = /^best of 100: simulate\((-?\d+\.\d{3})\) = (\d+\.\d{4}), (\d+) failed$/;

let root: string;
let project: FreshProject;
let readmeText: string;
let readme: Snippet[];

async function npm(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  return run('npm', args, { cwd: project.dir, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
}

function checkResult(stdout: string): void {
  const lines = stdout.trim().split('\n');
  const match = RESULT_LINE.exec(lines.at(-1)!);
  assert.ok(match, `main.ts printed:\n${stdout}`);
  const [, x, y, failed] = match;
  assert.equal(failed, '0');
  // 100 uniform draws in [0, 10): one lands within 1 of the minimum at 3 but with odds of 0.8^100.
  assert.ok(Math.abs(Number(x) - 3) < 1 && Number(y) < 1, `best ${x} → ${y}`);
}

describe("the README's first campaign in a new project", { timeout: 600_000 }, () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'colmena-newcomer-'));
    readmeText = await readFile(join(REPO, 'README.md'), 'utf8');
    readme = titledSnippets(readmeText);
    const manifest = readme.find((s) => s.title === 'package.json');
    assert.ok(manifest, 'the README shows the package.json');
    const tarball = await packColmena(root);
    project = await freshProject(root, tarball, JSON.parse(manifest.code) as Record<string, unknown>);
    for (const snippet of readme.filter((s) => s.title !== 'package.json')) await writeFile(join(project.dir, snippet.title), snippet.code);
  });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('shows every file it needs, and says it is an ES module', () => {
    assert.deepEqual(readme.map((s) => s.title).sort(), ['main.ts', 'package.json', 'simulate.ts', 'tsconfig.json']);
    assert.equal((JSON.parse(readme.find((s) => s.title === 'package.json')!.code) as { type?: string }).type, 'module');
  });

  it('keeps to what tsc --init writes, but for target and types', async () => {
    const init = join(root, 'tsc-init');
    await mkdir(init);
    await run(join(project.dir, 'node_modules/.bin/tsc'), ['--init'], { cwd: init });
    const defaults = (jsoncParse(await readFile(join(init, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> }).compilerOptions;
    const ours = (jsoncParse(readme.find((s) => s.title === 'tsconfig.json')!.code) as { compilerOptions: Record<string, unknown> }).compilerOptions;
    for (const [option, value] of Object.entries(ours)) {
      if (option === 'target' || option === 'types') continue;
      assert.deepEqual(value, defaults[option], `tsconfig.json's ${option} differs from tsc --init's`);
    }
  });

  it('prints its result under tsx (npm start)', async () => {
    const { stdout, stderr } = await npm(['start', '--silent']);
    checkResult(stdout);
    assert.match(stderr, /"msg":"thinker completed"/, 'logs at info by default');
  });

  it('prints its result compiled by tsc and run by node (npm run build && npm run serve)', async () => {
    await npm(['run', 'build', '--silent']);
    assert.ok(existsSync(join(project.dir, 'main.js')) && existsSync(join(project.dir, 'simulate.js')));
    const { stdout, stderr } = await npm(['run', 'serve', '--silent'], { COLMENA_LOG_LEVEL: 'warn' });
    checkResult(stdout);
    assert.equal(stderr.trim(), '', 'COLMENA_LOG_LEVEL=warn leaves only problems on stderr');
  });

  it('prints what the README says it prints', () => {
    const shown = /```text\n(best of 100:[^\n]*)\n```/.exec(readmeText)?.[1];
    assert.ok(shown && RESULT_LINE.test(shown), `README's sample output: ${shown}`);
  });

  it('ships a LICENSE, no source maps into unshipped sources, and a working colmena --version', async () => {
    const installed = join(project.dir, 'node_modules/colmena');
    assert.match(await readFile(join(installed, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
    const files = await readdir(installed, { recursive: true });
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), []);
    assert.equal(files.some((f) => f.startsWith('src')), false);
    const { stdout } = await run(join(project.dir, 'node_modules/.bin/colmena'), ['--version']);
    const { version } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    assert.equal(stdout.trim(), version);
  });

  it("type-checks every docs/*.md snippet that names its file, under tsc --init's strict settings", async () => {
    const docs = join(project.dir, 'docs-check');
    await mkdir(docs);
    await run(join(project.dir, 'node_modules/.bin/tsc'), ['--init'], { cwd: docs });
    let count = 0;
    for (const name of (await readdir(join(REPO, 'docs'))).filter((f) => f.endsWith('.md'))) {
      for (const snippet of titledSnippets(await readFile(join(REPO, 'docs', name), 'utf8'))) {
        if (!/\.ts$/.test(snippet.title)) continue;
        const path = join(docs, name.replace(/\.md$/, ''), snippet.title);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, snippet.code);
        count++;
      }
    }
    assert.ok(count >= 2, `only ${count} titled snippets found in docs/`);
    const tsc = join(project.dir, 'node_modules/.bin/tsc');
    await run(tsc, ['-p', '.', '--noEmit', '--target', 'es2022', '--types', 'node'], { cwd: docs }).catch((error: { stdout: string }) => {
      assert.fail(`docs snippets do not type-check:\n${error.stdout}`);
    });
  });
});
