import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

let root: Logger | undefined;

/**
 * The library's root logger: JSON lines on stderr (stdout stays free for program output), level
 * from `COLMENA_LOG_LEVEL` (default `info`).
 */
export function rootLogger(): Logger {
  root ??= pino({ name: 'colmena', level: process.env.COLMENA_LOG_LEVEL ?? 'info' }, pino.destination({ fd: 2, sync: true }));
  return root;
}

/** A child logger named after a component, e.g. `task-server` or `thinker.simulate`. */
export function childLogger(name: string, parent: Logger = rootLogger()): Logger {
  return parent.child({ name });
}
