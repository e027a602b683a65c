/**
 * A campaign publishes its events through a real redis-server; `colmena dashboard --redis --prefix`
 * (the real command, in its own process) follows it live, and a second one started after the
 * campaign, with the stream trimmed and a bad entry in it, still shows the whole campaign.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { checkpointKey, DashboardPublisher, eventsKey } from '../../src/monitor/dashboard/publisher.js';
import type { DashboardView } from '../../src/monitor/dashboard/view.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { threadMethods } from '../helpers/methods.js';
import { redisFixture } from '../helpers/redis.js';
import { until } from '../helpers/until.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TASKS = 30;
const FAILS = 3;
type Methods = { sleep: (ms: number) => Promise<number>; fail: (message: string) => never };

interface RunningCommand {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Start `colmena dashboard` on a free port and wait for the address it prints. */
async function startCommand(redisUrl: string, prefix: string): Promise<RunningCommand> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'dashboard', '--redis', redisUrl, '--prefix', prefix, '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, COLMENA_LOG_LEVEL: 'warn' },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await until(() => output.includes('Ctrl-C to stop') || child.exitCode !== null, 'the dashboard command to say it is ready', 20_000);
  const url = output.match(/http:\/\/127\.0\.0\.1:\d+\//)?.[0];
  assert.ok(url, `colmena dashboard printed no address:\n${output}`);
  return { child, url, output: () => output };
}

async function stopCommand(command: RunningCommand | null): Promise<number | null> {
  if (!command || command.child.exitCode !== null) return command?.child.exitCode ?? null;
  const exited = once(command.child, 'exit');
  command.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

async function fetchView(url: string): Promise<DashboardView> {
  const response = await fetch(`${url}api/view`);
  assert.equal(response.status, 200);
  return (await response.json()) as DashboardView;
}

/** The view, once it satisfies `condition`. */
async function viewWhen(url: string, condition: (view: DashboardView) => boolean, what: string): Promise<DashboardView> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const view = await fetchView(url);
    if (condition(view)) return view;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; totals ${JSON.stringify(view.totals)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a dashboard of a campaign elsewhere, through Redis', () => {
  const redis = redisFixture();
  let live: RunningCommand | null = null;
  let late: RunningCommand | null = null;
  let client: Redis | null = null;
  let publisher: DashboardPublisher | null = null;
  let queues: LocalQueues<Methods> | null = null;
  let server: LocalTaskServer | null = null;
  let prefix: string;

  before(async () => {
    await redis.start();
    prefix = redis.prefix();
    client = new Redis(redis.url);
  });

  after(async () => {
    // Whatever failed, leave nothing running.
    if (server?.state === 'running') await server.stop();
    await queues?.close();
    await publisher?.close();
    await stopCommand(live);
    await stopCommand(late);
    await client?.quit();
    await redis.stop();
  });

  test('follows the campaign live, then shows all of it to a dashboard started later', async () => {
    publisher = await DashboardPublisher.open({ url: redis.url, prefix, intervalMs: 50, checkpointIntervalMs: 100, meta: { campaign: 'redis test' } });
    live = await startCommand(redis.url, prefix);
    assert.match(live.output(), new RegExp(`following prefix '${prefix}'`));

    const { sleep, fail } = threadMethods();
    queues = new LocalQueues<Methods>();
    server = new LocalTaskServer(queues, { methods: { sleep, fail }, threads: 2 });
    publisher.attachQueues(queues).attachTaskServer(server, { workers: 2 });
    server.start();
    let sent = 0;
    const q = queues;
    const submit = () => (sent % 11 === 10 ? q.sendInputs('fail', [`task ${sent++}`]) : q.sendInputs('sleep', [5 + (sent++ % 3) * 5]));
    for (let i = 0; i < 4; i++) await submit();
    for (let received = 0; received < TASKS + FAILS; received++) {
      const result = await queues.getResult();
      if (result.success) publisher.recordValue('last', result.value as number);
      if (sent < TASKS + FAILS) await submit();
    }

    // The live dashboard catches up while the campaign's publisher is still open.
    let view = await viewWhen(live.url, (v) => v.totals.done + v.totals.failed === TASKS + FAILS, 'the live dashboard to see every result');
    assert.deepEqual(view.totals, { ...view.totals, sent: TASKS + FAILS, done: TASKS, failed: FAILS, queued: 0, running: 0 });
    assert.deepEqual(view.servers.map((s) => [s.name, s.state, s.workers]), [['task-server', 'running', 2]]);
    assert.equal(view.campaign.meta.campaign, 'redis test');

    await queues.sendKillSignal();
    await server.join();
    await queues.close();
    await publisher.close();
    assert.equal(publisher.dropped, 0);
    view = await viewWhen(live.url, (v) => v.campaign.ended, 'the live dashboard to see the campaign end');
    assert.equal(view.campaign.ended, true, 'the live dashboard sees the campaign end');
    assert.equal(view.servers[0]?.state, 'stopped');

    // Keep only the last two entries of the stream, and add one that is not ours.
    assert.ok((await client!.xlen(eventsKey(prefix))) > 3, 'the campaign wrote several batches');
    await client!.xtrim(eventsKey(prefix), 'MAXLEN', 2);
    await client!.xadd(eventsKey(prefix), '*', 'records', 'not json\n{"type":"sent","t":1}');
    assert.ok(await client!.get(checkpointKey(prefix)), 'a checkpoint was saved');

    late = await startCommand(redis.url, prefix);
    const restored = await fetchView(late.url);
    assert.deepEqual(restored.totals, { ...restored.totals, sent: TASKS + FAILS, done: TASKS, failed: FAILS });
    assert.equal(restored.campaign.ended, true);
    assert.equal(restored.failures.length, FAILS);
    assert.ok(restored.failures.every((f) => f.stack?.includes('RangeError: asked to fail')), 'stacks survive the checkpoint');
    assert.equal(restored.stream.spans.length, TASKS + FAILS, 'every run is in the task stream');
    assert.ok(restored.values.some((v) => v.name === 'last'));
    assert.equal(restored.latency.methods.find((m) => m.method === 'sleep')?.count, TASKS);
    assert.match(late.output(), /skipped an invalid dashboard event/);

    assert.equal(await stopCommand(live), 0);
    assert.equal(await stopCommand(late), 0);
  });
});
