/**
 * The dashboard tells the truth after the end: a campaign whose task server was attached after it
 * started runs to its end in Chromium, the page stays open 20 s longer, and nothing it shows moves
 * (clock, rate, utilization, counts), while the server still shows as observed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Result } from '../../src/models/result.js';
import { Dashboard } from '../../src/monitor/dashboard/dashboard.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { agent, BaseThinker, resultProcessor, ResourceCounter, taskSubmitter } from '../../src/thinker/index.js';
import { threadMethods } from '../helpers/methods.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

interface PageNode {
  textContent: string | null;
  querySelectorAll(selector: string): ArrayLike<PageNode> & Iterable<PageNode>;
}
declare const document: { getElementById(id: string): PageNode | null; querySelectorAll(selector: string): ArrayLike<PageNode> & Iterable<PageNode> };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TASKS = 24;
const THREADS = 2;
/** How long the page stays open after the end, as the issue asks. */
const AFTER_END_MS = 20_000;
type Methods = { sleep: (ms: number) => Promise<number>; fail: (message: string) => never };

class Campaign extends BaseThinker<Methods> {
  left = TASKS;
  received = 0;

  @agent({ startup: true })
  async allocate() {
    await this.rec.reallocate(null, 'sim', THREADS);
  }

  @taskSubmitter({ taskType: 'sim' })
  async submit() {
    if (this.left-- <= 0) return;
    await this.queues.sendInputs('sleep', [30]);
  }

  @resultProcessor()
  receive(_result: Result) {
    this.rec.release('sim', 1);
    if (++this.received === TASKS) this.done.set();
  }
}

/** Everything on the page that is a figure of the campaign. */
function figures(page: Page): Promise<Record<string, string>> {
  // No helper functions inside: the page runs this as it is, without tsx's name helpers.
  return page.evaluate(() => {
    const shown: Record<string, string> = {};
    for (const id of ['elapsed', 'status', 'done-count', 'throughput', 'servers']) shown[id] = document.getElementById(id)?.textContent ?? '';
    shown.utilization = [...document.querySelectorAll('#utilization .title')].map((n) => n.textContent ?? '').join(' | ');
    return shown;
  });
}

describe('the dashboard after the campaign ends, in chromium', { timeout: 120_000 }, () => {
  let userDataDir: string | null = null;
  let context: BrowserContext | null = null;
  let dashboard: Dashboard | null = null;
  let queues: LocalQueues<Methods> | null = null;
  let server: LocalTaskServer | null = null;

  before(() => assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (bash scripts/install-system-deps.sh)`));
  after(async () => {
    await context?.close().catch(() => {});
    if (server?.state === 'running') {
      await queues?.sendKillSignal().catch(() => {});
      await server.join().catch(() => {});
    }
    await queues?.close();
    await dashboard?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  test('stops its clock, rate and utilization at the end, and observes a server attached after start()', async () => {
    const { sleep, fail } = threadMethods();
    queues = new LocalQueues<Methods>();
    server = new LocalTaskServer(queues, { methods: { sleep, fail }, threads: THREADS }).start();
    const thinker = new Campaign(queues, new ResourceCounter(THREADS, ['sim']));
    // Attached after start(), as every doc writes it.
    const opened = performance.now();
    dashboard = await Dashboard.open({ thinker, server, workers: THREADS, intervalMs: 100 });
    userDataDir = await mkdtemp(join(tmpdir(), 'colmena-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(dashboard.url);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'live');

    const started = performance.now();
    await thinker.run();
    await queues.sendKillSignal();
    await server.join();
    const campaignSeconds = (performance.now() - started) / 1000;
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'campaign ended', undefined, { timeout: 30_000 });
    await page.waitForFunction((n) => document.getElementById('done-count')?.textContent === String(n), TASKS);
    const atEnd = await figures(page);
    const viewAtEnd = dashboard.view();

    assert.equal(viewAtEnd.campaign.ended, true);
    assert.equal(viewAtEnd.servers.length, 1, 'the server attached after start() is observed');
    assert.match(atEnd.servers!, /task-server/);
    assert.match(atEnd.utilization!, /worker utilization: \d+\.\d %/);
    // The clock counts from when the dashboard opened (chromium's start-up included, seconds on a
    // loaded machine), and stops at the end rather than running on.
    const sinceOpened = (performance.now() - opened) / 1000;
    assert.ok(viewAtEnd.now <= sinceOpened + 0.5, `clock at the end ${viewAtEnd.now} s, ${sinceOpened.toFixed(1)} s after the dashboard opened (campaign ${campaignSeconds.toFixed(1)} s)`);
    const workers = viewAtEnd.utilization.find((p) => p.source === 'tasks');
    assert.ok(workers && workers.utilization > 0, 'worker utilization measured');

    // The page stays open: what it shows must not move.
    await new Promise((resolve) => setTimeout(resolve, AFTER_END_MS));
    assert.deepEqual(await figures(page), atEnd);
    const viewLater = dashboard.view();
    assert.equal(viewLater.now, viewAtEnd.now, 'the clock stopped at the end');
    assert.equal(viewLater.totals.throughput, viewAtEnd.totals.throughput, 'the rate is over the campaign span');
    assert.deepEqual(viewLater.utilization.map((p) => p.utilization), viewAtEnd.utilization.map((p) => p.utilization));
  });
});
