/**
 * The live dashboard in a real browser: Debian's chromium driven by playwright-core watches a
 * small thinker campaign (worker threads, a resource counter, some failing tasks) through the
 * page, from an empty page to the last result. Saves test-artifacts/dashboard.png.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Result } from '../../src/models/result.js';
import { Dashboard } from '../../src/monitor/dashboard/dashboard.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { agent, BaseThinker, resultProcessor, ResourceCounter, taskSubmitter, WorkQueue } from '../../src/thinker/index.js';
import { threadMethods } from '../helpers/methods.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

// The callbacks given to page.evaluate run in the page. The project compiles without the DOM
// library, so here is the little of it they use.
interface PageNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): PageNodes;
  open?: boolean;
}
type PageNodes = ArrayLike<PageNode> & Iterable<PageNode>;
declare const document: { getElementById(id: string): PageNode | null; querySelectorAll(selector: string): PageNodes };
declare const window: { doneSeen?: string[] };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(node: PageNode, options: { childList: boolean; characterData: boolean; subtree: boolean }): void;
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** As root on a machine without network: no sandbox, and nothing that reaches out. */
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

const TASKS = 48;
const FAILS = 4;
const THREADS = 3;
type Methods = { sleep: (ms: number) => Promise<number>; fail: (message: string) => never };

/** Keeps three simulations going on the `sim` pool; every twelfth task is one that fails. */
class Campaign extends BaseThinker<Methods> {
  readonly todo = new WorkQueue<number>(Array.from({ length: TASKS + FAILS }, (_, i) => i));
  processed = 0;
  best = Infinity;
  onBest: (value: number) => void = () => {};

  @agent({ startup: true })
  async allocate() {
    await this.rec.reallocate(null, 'sim', THREADS);
    this.todo.close();
  }

  @taskSubmitter({ taskType: 'sim', workQueue: 'todo' })
  async submit(i: number) {
    if (i % 13 === 12) await this.queues.sendInputs('fail', [`task ${i}`], { topic: 'sim' });
    else await this.queues.sendInputs('sleep', [20 + ((i * 7) % 5) * 15], { topic: 'sim' });
  }

  @resultProcessor({ topic: 'sim' })
  collect(result: Result) {
    this.rec.release('sim', 1);
    // A made-up objective that improves now and then, for the recorded-values chart.
    const score = 1 / (1 + this.processed) + (this.processed % 5) / 50;
    if (result.success && score < this.best) this.onBest((this.best = score));
    if (++this.processed === TASKS + FAILS) this.done.set();
  }
}

describe('the dashboard in chromium', () => {
  let userDataDir: string | null = null;
  let context: BrowserContext | null = null;
  let page: Page;
  let dashboard: Dashboard | null = null;
  let queues: LocalQueues<Methods> | null = null;
  let server: LocalTaskServer | null = null;
  let thinker: Campaign;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (bash scripts/install-system-deps.sh)`);
    const { sleep, fail } = threadMethods();
    queues = new LocalQueues<Methods>({ topics: ['sim'] });
    server = new LocalTaskServer(queues, { methods: { sleep, fail }, threads: THREADS });
    thinker = new Campaign(queues, new ResourceCounter(THREADS + 1, ['sim']));
    dashboard = await Dashboard.open({ thinker, server, workers: THREADS, meta: { campaign: 'browser test', tasks: TASKS + FAILS } });
    const live = dashboard;
    thinker.onBest = (value) => live.recordValue('best', value);
    userDataDir = await mkdtemp(join(tmpdir(), 'colmena-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  after(async () => {
    // Whatever happened, leave no browser, server or thread behind.
    await context?.close().catch(() => {});
    if (server?.state === 'running') {
      await queues?.sendKillSignal().catch(() => {});
      await server.join().catch(() => {});
    } else {
      await server?.stop().catch(() => {});
    }
    await queues?.close();
    await dashboard?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  test('the done-count rises to the number of tasks, every chart draws, and a screenshot is saved', async () => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    await page.goto(dashboard!.url);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'live');
    assert.equal(await page.textContent('#done-count'), '0', 'nothing is done before the campaign starts');
    // Every value the done-count shows, as the page changes it.
    await page.evaluate(() => {
      const seen: string[] = [];
      window.doneSeen = seen;
      const node = document.getElementById('done-count')!;
      new MutationObserver(() => seen.push(node.textContent ?? '')).observe(node, { childList: true, characterData: true, subtree: true });
    });

    server!.start();
    await thinker.run();
    await page.waitForFunction((n) => document.getElementById('done-count')?.textContent === String(n), TASKS, { timeout: 10_000 });
    await page.waitForFunction((n) => document.getElementById('failed-count')?.textContent === String(n), FAILS, { timeout: 5_000 });

    const seen = (await page.evaluate(() => window.doneSeen ?? [])).map(Number);
    assert.ok(seen.length > 0 && seen.at(-1) === TASKS, `the done-count ends at ${TASKS}: ${seen.join(', ')}`);
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b), 'the done-count never goes down');

    // The page agrees with the dashboard's own view.
    const view = dashboard!.view();
    assert.deepEqual({ done: view.totals.done, failed: view.totals.failed, queued: view.totals.queued, running: view.totals.running }, { done: TASKS, failed: FAILS, queued: 0, running: 0 });
    assert.equal(await page.textContent('#sent-count'), String(TASKS + FAILS));

    // Charts: utilization for the sim pool and the workers, one bar per run in the stream, the latency bars.
    await page.waitForFunction((n) => document.querySelectorAll('#stream rect.span').length === n, TASKS + FAILS, { timeout: 5_000 });
    const charts = await page.evaluate(() => ({
      utilization: [...document.querySelectorAll('#utilization svg[data-drawn]')].map((svg) => svg.getAttribute('aria-label')),
      busyPaths: [...document.querySelectorAll('#utilization path.busy')].map((p) => (p.getAttribute('d') ?? '').length),
      failedSpans: document.querySelectorAll('#stream rect.span.failed').length,
      latencyBars: document.querySelectorAll('#latency rect.part').length,
      latencyRows: [...document.querySelectorAll('#latency-table tbody tr td:first-child')].map((td) => td.textContent),
      taskRows: [...document.querySelectorAll('#tasks tbody tr')].map((tr) => [...tr.querySelectorAll('td')].slice(0, 6).map((td) => td.textContent)),
      stacks: [...document.querySelectorAll('#failures details pre')].map((pre) => pre.textContent ?? ''),
      agents: [...document.querySelectorAll('#agents tbody tr td:first-child')].map((td) => td.textContent),
      pools: [...document.querySelectorAll('#pools tbody tr')].map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)),
      values: document.querySelectorAll('#values path.value-line').length,
    }));
    assert.deepEqual(charts.utilization, ['utilization of (unallocated)', 'utilization of sim', 'utilization of workers']);
    assert.ok(charts.busyPaths.slice(1).every((length) => length > 20), `busy areas drawn: ${charts.busyPaths.join(', ')}`);
    assert.equal(charts.failedSpans, FAILS, 'failed runs are outlined');
    assert.ok(charts.latencyBars >= 4, `latency bars drawn: ${charts.latencyBars}`);
    assert.deepEqual(charts.latencyRows.sort(), ['fail', 'sleep']);
    assert.deepEqual(charts.taskRows.sort(), [
      ['fail', 'sim', '0', '0', '0', String(FAILS)],
      ['sleep', 'sim', '0', '0', String(TASKS), '0'],
    ]);
    assert.equal(charts.stacks.length, FAILS);
    assert.ok(charts.stacks.every((stack) => stack.includes('RangeError: asked to fail')), 'failures show their stacks');
    assert.deepEqual(charts.agents.sort(), ['allocate', 'collect', 'submit']);
    assert.deepEqual(charts.pools, [['(unallocated)', '1', '0'], ['sim', String(THREADS), '0']]);
    assert.equal(charts.values, 1, 'the recorded value is charted');
    assert.deepEqual(errors, [], 'no error on the page');

    await mkdir(ARTIFACTS, { recursive: true });
    await page.locator('#failures details').first().evaluate((details) => ((details as unknown as PageNode).open = true));
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // When the dashboard closes, the page keeps the last view and says the campaign ended.
    await dashboard!.close();
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'campaign ended', null, { timeout: 5_000 });
    assert.equal(await page.textContent('#done-count'), String(TASKS));
  });
});
