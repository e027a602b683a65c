/**
 * `colmena/dashboard`: the live dashboard (a hono server with server-sent events) for a thinker
 * and task server in this process, or for a campaign followed through Redis with `RedisFeed`.
 * A subpath of its own so that `import 'colmena'` never loads hono.
 *
 * @example
 * import { Dashboard } from 'colmena/dashboard';
 * const dashboard = await Dashboard.open({ thinker, server, port: 8050 });
 */
export { Dashboard, type DashboardOptions, type ServeDashboardOptions } from './monitor/dashboard/dashboard.js';
export type { DashboardView } from './monitor/dashboard/view.js';
export { DashboardPublisher, type DashboardPublisherOptions } from './monitor/dashboard/publisher.js';
export { RedisFeed, type RedisFeedOptions } from './monitor/dashboard/redis-feed.js';
export { parseRunLogLine } from './monitor/run-log/line-parser.js';
