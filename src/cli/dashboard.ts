/** `colmena dashboard`: watch, from the browser, a campaign that publishes its events through Redis. */
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import type { RedisOptions } from 'ioredis';
import { RedisConnectionError } from '../common/redis-connection.js';
import { Dashboard } from '../monitor/dashboard/dashboard.js';
import { RedisFeed } from '../monitor/dashboard/redis-feed.js';
import { redactUrl } from '../task-server/bullmq/connection.js';

export interface DashboardCommandOptions {
  redis: string;
  prefix: string;
  port: number;
  host: string;
  token?: string;
  passwordFile?: string;
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return parsed;
}

/** Add the `dashboard` command to the `colmena` program. */
export function registerDashboardCommand(program: Command): void {
  const command: Command = program
    .command('dashboard')
    .description('serve a live dashboard of a campaign running elsewhere, which publishes its events with a DashboardPublisher')
    .option('--redis <url>', 'the campaign\'s Redis: redis://[user:password@]host:port, or rediss:// for TLS (env COLMENA_REDIS_URL)', process.env.COLMENA_REDIS_URL ?? 'redis://127.0.0.1:6379')
    .option('--prefix <prefix>', "the campaign's key prefix, as given to its DashboardPublisher (env COLMENA_PREFIX)", process.env.COLMENA_PREFIX)
    .option('--port <port>', 'port to serve the page on (0: any free port)', port, 8787)
    .option('--host <address>', 'address to listen on; anything but loopback needs the access token', '127.0.0.1')
    .option('--token <token>', 'access token the page asks for (default: none on loopback, a random one elsewhere; env COLMENA_DASHBOARD_TOKEN)', process.env.COLMENA_DASHBOARD_TOKEN)
    .option('--password-file <file>', 'read the Redis password from a file (or set env COLMENA_REDIS_PASSWORD), keeping it out of ps')
    .action(async (options: DashboardCommandOptions) => {
      if (!options.prefix) command.error("colmena dashboard needs the campaign's key prefix: --prefix <prefix> (or env COLMENA_PREFIX)", { exitCode: 2 });
      await runDashboardCommand(options);
    });
}

/** Serve the dashboard and follow the campaign until SIGINT or SIGTERM. */
export async function runDashboardCommand(options: DashboardCommandOptions): Promise<void> {
  const redisOptions: RedisOptions = {};
  const password = options.passwordFile ? readFileSync(options.passwordFile, 'utf8').trim() : process.env.COLMENA_REDIS_PASSWORD;
  if (password) redisOptions.password = password;
  let dashboard: Dashboard;
  let feed: RedisFeed;
  try {
    dashboard = new Dashboard({ port: options.port, host: options.host, ...(options.token ? { token: options.token } : {}) });
    feed = await RedisFeed.open(dashboard, { url: options.redis, prefix: options.prefix, redisOptions });
    await dashboard.listen();
  } catch (error) {
    const message = (error as Error).message;
    const problem = error instanceof RedisConnectionError ? error.problem : null;
    const hint = problem === 'wrong-password'
      ? ' (check --password-file, COLMENA_REDIS_PASSWORD or the password in --redis)'
      : problem === 'password-required'
        ? ' Give it in a --password-file, in COLMENA_REDIS_PASSWORD, or in the URL.'
        : problem !== null
          ? ''
          : /NOAUTH|WRONGPASS/.test(message)
      ? ` Redis at ${redactUrl(options.redis)} wants a password: put it in the URL, in a --password-file, or in COLMENA_REDIS_PASSWORD.`
      : /Connection is closed|ECONNREFUSED|ENOTFOUND|ETIMEDOUT/.test(message)
        ? ` Could not reach Redis at ${redactUrl(options.redis)}: is it running, and is it the campaign's (--redis)?`
        : '';
    process.stderr.write(`colmena dashboard: ${message}${hint}\n`);
    process.exitCode = 1;
    // The feed may hold a connection; exit rather than linger.
    process.exit();
  }
  const view = dashboard.view();
  console.log(`colmena dashboard: ${dashboard.url}`);
  console.log(
    `following prefix '${options.prefix}' at ${redactUrl(options.redis)}: ` +
      (feed.entries === 0 && view.seq === 0 ? 'nothing published yet' : `${view.totals.sent} task(s) sent, ${view.totals.done + view.totals.failed} finished so far`) +
      '. Ctrl-C to stop.',
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await feed.close();
  await dashboard.close();
}
