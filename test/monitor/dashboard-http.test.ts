/** The dashboard's server: what it binds to, who it answers, its options, and a browser that stops reading. */
import assert from 'node:assert/strict';
import { request, get, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { ColmenaError } from '../../src/common/errors.js';
import { inlineMethod } from '../../src/methods/spec.js';
import { Dashboard } from '../../src/monitor/dashboard/dashboard.js';
import type { DashboardView } from '../../src/monitor/dashboard/view.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

/** A GET with any Host header (fetch will not send a made-up one). */
function raw(port: number, path: string, headers: Record<string, string> = {}, host = '127.0.0.1'): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard server', () => {
  test('on loopback it serves the page, its modules and the view, and refuses other host names', async () => {
    const dashboard = await Dashboard.open({ port: 0 });
    try {
      assert.equal(dashboard.token, null);
      assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await raw(dashboard.port, '/', { Host: `127.0.0.1:${dashboard.port}` });
      assert.equal(page.status, 200);
      assert.match(page.body, /<script type="module" src="assets\/app\.js">/);
      assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
      for (const asset of ['app.js', 'charts.js', 'format.js', 'style.css']) {
        const response = await raw(dashboard.port, `/assets/${asset}`, { Host: `localhost:${dashboard.port}` });
        assert.equal(response.status, 200, asset);
        assert.match(String(response.headers['content-type']), asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      }
      assert.equal((await raw(dashboard.port, '/assets/../../package.json', { Host: 'localhost' })).status, 404);
      assert.equal((await raw(dashboard.port, '/assets/secret.js', { Host: 'localhost' })).status, 404);
      const view = JSON.parse((await raw(dashboard.port, '/api/view', { Host: 'localhost' })).body) as DashboardView;
      assert.equal(view.totals.sent, 0);
      // A page from elsewhere that points a name at 127.0.0.1 (DNS rebinding) gets nothing.
      const rebound = await raw(dashboard.port, '/api/view', { Host: `attacker.example:${dashboard.port}` });
      assert.equal(rebound.status, 403);
    } finally {
      await dashboard.close();
    }
  });

  test('on another loopback address (--host 127.0.0.2) it answers pages opened by that address', async () => {
    const dashboard = await Dashboard.open({ host: '127.0.0.2', port: 0 });
    try {
      assert.equal(dashboard.token, null);
      assert.equal(dashboard.url, `http://127.0.0.2:${dashboard.port}/`);
      assert.equal((await raw(dashboard.port, '/api/view', { Host: `127.0.0.2:${dashboard.port}` }, '127.0.0.2')).status, 200);
      const rebound = await raw(dashboard.port, '/api/view', { Host: `attacker.example:${dashboard.port}` }, '127.0.0.2');
      assert.equal(rebound.status, 403);
      assert.match(rebound.body, /Open it as http:\/\/127\.0\.0\.2:<port>\//);
    } finally {
      await dashboard.close();
    }
  });

  test('with a token, it answers only with it: as ?token= once (then a cookie), or as a bearer header', async () => {
    const token = 'a-long-enough-token';
    const dashboard = await Dashboard.open({ token });
    try {
      assert.equal(dashboard.url, `http://127.0.0.1:${dashboard.port}/?token=${token}`);
      const host = { Host: `127.0.0.1:${dashboard.port}` };
      assert.equal((await raw(dashboard.port, '/', host)).status, 401);
      assert.equal((await raw(dashboard.port, '/?token=wrong-token-value', host)).status, 401);
      const first = await raw(dashboard.port, `/?token=${token}`, host);
      assert.equal(first.status, 200);
      const cookie = String(first.headers['set-cookie']).split(';')[0]!;
      assert.match(String(first.headers['set-cookie']), /HttpOnly/i);
      assert.equal((await raw(dashboard.port, '/assets/app.js', { ...host, Cookie: cookie })).status, 200);
      assert.equal((await raw(dashboard.port, '/api/view', { ...host, Authorization: `Bearer ${token}` })).status, 200);
    } finally {
      await dashboard.close();
    }
  });

  test('beyond loopback it makes up a token unless told not to; bad options say what is wrong', async () => {
    const exposed = new Dashboard({ host: '0.0.0.0' });
    assert.ok(exposed.token !== null && exposed.token.length >= 20);
    assert.match(exposed.url, /\?token=/);
    assert.equal(new Dashboard({ host: '0.0.0.0', token: false }).token, null);
    assert.throws(() => new Dashboard({ port: 70000 }), /port must be an integer from 0 to 65535, got 70000/);
    assert.throws(() => new Dashboard({ intervalMs: 0 }), /intervalMs must be at least 10/);
    assert.throws(() => new Dashboard({ token: 'short' }), /token must be a string of at least 8 characters/);

    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(Dashboard.open({ port }), (error: ColmenaError) => error.code === 'INVALID_STATE' && error.message.includes(`127.0.0.1:${port}: EADDRINUSE`));
    } finally {
      blocker.close();
    }
    const closed = await Dashboard.open();
    await closed.close();
    await closed.close();
    assert.throws(() => closed.recordValue('x', 1), /recordValue\(\) on a closed dashboard/);
  });

  test('a page that stops reading holds up neither the campaign nor the other pages', async () => {
    const TASKS = 3000;
    const queues = new LocalQueues<{ noop: (i: number) => number }>();
    const server = new LocalTaskServer(queues, { methods: { noop: inlineMethod((i: number) => i) } });
    const dashboard = await Dashboard.open({ queues, server, intervalMs: 20 });
    const host = { Host: `127.0.0.1:${dashboard.port}` };
    // A page that connects and then never reads a byte.
    const stalled = get({ host: '127.0.0.1', port: dashboard.port, path: '/api/events', headers: host });
    const [stalledResponse] = (await once(stalled, 'response')) as [IncomingMessage];
    stalledResponse.pause();
    stalledResponse.socket.pause();
    // A page that reads every update.
    const reader = await fetch(`http://127.0.0.1:${dashboard.port}/api/events`);
    const decoder = new TextDecoder();
    let views = 0;
    let lastDone = 0;
    let buffer = '';
    const reading = (async () => {
      for await (const chunk of reader.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = message.split('\n').find((line) => line.startsWith('data: '));
          if (message.startsWith('event: view') && data) {
            views++;
            lastDone = (JSON.parse(data.slice(6)) as { view: DashboardView }).view.totals.done;
          }
        }
      }
    })().catch(() => {});
    try {
      await until(() => dashboard.clients === 2, 'both pages to connect');
      server.start();
      let sent = 0;
      for (; sent < 64; sent++) await queues.sendInputs('noop', [sent]);
      for (let received = 0; received < TASKS; received++) {
        await queues.getResult();
        if (sent < TASKS) await queues.sendInputs('noop', [sent++]);
      }
      await until(() => lastDone === TASKS, `the reading page to see all ${TASKS} results (it saw ${lastDone} in ${views} updates)`);
      assert.ok(views >= 2, `the reading page got ${views} updates`);
      const view = JSON.parse((await raw(dashboard.port, '/api/view', host)).body) as DashboardView;
      assert.equal(view.totals.done, TASKS);
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
      const started = Date.now();
      await dashboard.close();
      assert.ok(Date.now() - started < 5000, 'close() does not wait for the stalled page');
      stalled.destroy();
      await reading;
    }
  });
});

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
