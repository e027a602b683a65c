/**
 * Passwords never reach logs or messages: a campaign with a Redis store behind a password (and a
 * wrong password tried first) runs in a process of its own; its whole output and Redis's MONITOR
 * stream of the run are searched for either password.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';

const PASSWORD = `pw-${randomUUID()}`;
const WRONG = `wrong-${randomUUID()}`;
let server: RedisServerHandle;
let admin: Redis;

before(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
  await admin.config('SET', 'requirepass', PASSWORD);
});
after(async () => {
  admin.disconnect();
  await server.stop();
});

it('keeps the password out of logs, errors, messages and the MONITOR stream', async () => {
  const withPassword = (password: string): string => server.url.replace('redis://', `redis://:${encodeURIComponent(password)}@`);
  const base = new Redis(withPassword(PASSWORD));
  const monitor = await base.monitor();
  const seen: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.join(' ')));
  const prefix = `secrets-${randomUUID()}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./secret-campaign.ts', import.meta.url)), withPassword(PASSWORD), withPassword(WRONG), prefix],
    { env: { ...process.env, COLMENA_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  await until(() => seen.some((line) => line.includes(`${prefix}-store_`)), 'MONITOR to show the store traffic');
  monitor.disconnect();
  base.disconnect();

  assert.equal(code, 0, output);
  const line = output.split('\n').find((l) => l.startsWith('{"wrongStoreLabel"'));
  assert.ok(line, output);
  const report = JSON.parse(line) as Record<string, unknown>;
  for (const result of report.results as { success: boolean; length: number; failure?: string }[]) {
    assert.equal(result.success, true, result.failure);
    assert.equal(result.length, 1000);
  }
  assert.match(String(report.wrongStorePut), /WRONGPASS|NOAUTH|invalid|password/i, 'the failure says what is wrong');
  assert.match(String(report.storeLabel), /\*\*\*@/, 'the label shows the URL redacted');
  const everything = `${output}\n${seen.join('\n')}`;
  assert.ok(seen.length > 10, 'MONITOR saw the run');
  for (const secret of [PASSWORD, WRONG, encodeURIComponent(PASSWORD)]) {
    const hits = everything.split(secret).length - 1;
    assert.equal(hits, 0, `${hits} occurrence(s) of a password in the logs or the MONITOR stream`);
  }
});
