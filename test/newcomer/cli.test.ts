/** CLI manners: one line saying what went wrong, where to read more, exit 2 for usage errors; --version. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer } from '../helpers/redis-server.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'colmena-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function colmena(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, COLMENA_PREFIX: '', COLMENA_REDIS_URL: '' },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The error, then the help pointer, and nothing else (no help text buried around it). */
function assertOneLineError(stderr: string, help: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2, `two lines expected, got:\n${stderr}`);
  assert.match(lines[0]!, pattern);
  assert.equal(lines[1], `see '${help} --help'`);
}

describe('colmena on the command line', () => {
  it('prints its version', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const run = colmena('--version');
    assert.equal(run.status, 0);
    assert.equal(run.stdout.trim(), version);
  });

  const usage: [string[], string, RegExp][] = [
    [['bogus'], 'colmena', /unknown command 'bogus'/],
    [['report'], 'colmena report', /missing required argument 'run-log'/],
    [['report', 'x.jsonl', '--bogus'], 'colmena report', /unknown option '--bogus'/],
    [['demo', '--budget', 'x'], 'colmena demo', /--budget.*'x' is invalid. expected a positive integer/],
    [['dashboard'], 'colmena dashboard', /needs the campaign's key prefix: --prefix/],
  ];
  for (const [args, help, pattern] of usage) {
    it(`answers 'colmena ${args.join(' ')}' with one line and exit code 2`, () => {
      const run = colmena(...args);
      assert.equal(run.status, 2, run.stderr);
      assertOneLineError(run.stderr, help, pattern);
    });
  }

  it('says what is wrong with the run log it was given (exit code 1)', () => {
    const empty = join(scratch, 'empty.jsonl');
    writeFileSync(empty, '');
    const cases: [string, RegExp][] = [
      [join(scratch, 'missing.jsonl'), /^No run log at .*missing\.jsonl: give the run\.jsonl/],
      [scratch, /is a folder without a run\.jsonl/],
      [empty, /has no usable run-log record \(the file is empty\)/],
    ];
    for (const [path, pattern] of cases) {
      const run = colmena('report', path, '--out', join(scratch, 'report'));
      assert.equal(run.status, 1, run.stderr);
      assertOneLineError(run.stderr, 'colmena report', pattern);
    }
  });

  it('says a password-protected Redis wants a password, not that it is unreachable', async () => {
    const redis = await startRedisServer();
    try {
      const admin = new Redis(redis.url);
      await admin.config('SET', 'requirepass', 'a-secret-password');
      admin.disconnect();
      const run = colmena('dashboard', '--redis', redis.url, '--prefix', 'campaign', '--port', '0');
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /wants a password and none was given/);
      assert.doesNotMatch(run.stderr, /is it running|Cannot reach/);
      assert.doesNotMatch(run.stderr, /a-secret-password/);
    } finally {
      await redis.stop();
    }
  });
});
