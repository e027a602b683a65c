/**
 * The validator of run-log lines. It loads zod, so the core import reaches it only when a log is
 * read (`readRunLog` imports it on first use); the dashboard's Redis feed imports it directly.
 */
import { z } from 'zod';
import type { RunLogRecord, RunLogRecordType } from './records.js';

// JSON has no NaN: the writer turns unset times into null; read them back as NaN.
const time = z.number().nullable().transform((v) => v ?? NaN);
const count = z.number().int().nonnegative();
const pool = z.string().nullable();
const worker = z
  .object({
    hostname: z.string(),
    pid: z.number().nullable(),
    workerId: z.string().nullable(),
    hosts: z.array(z.string()).optional(),
    gpuIds: z.array(z.string()).optional(),
    placedAt: z.number().optional(),
    releasedAt: z.number().optional(),
  })
  .nullable();

const timestamps = z.object({
  created: time,
  inputReceived: time,
  computeStarted: time,
  computeEnded: time,
  resultSent: time,
  resultReceived: time,
  startTaskSubmission: time,
  taskReceived: time,
});

const durations = z.object({
  running: time,
  serializeInputs: time,
  deserializeInputs: time,
  serializeResults: time,
  deserializeResults: time,
  asyncResolveProxies: time,
  additional: z.record(z.string(), time),
});

const schemas = {
  start: z.object({
    type: z.literal('start'),
    t: z.number(),
    version: z.number().int(),
    hostname: z.string(),
    pid: z.number(),
    meta: z.record(z.string(), z.unknown()),
  }),
  sent: z.object({ type: z.literal('sent'), t: z.number(), taskId: z.string(), method: z.string(), topic: z.string(), created: time }),
  result: z.object({
    type: z.literal('result'),
    t: z.number(),
    taskId: z.string(),
    method: z.string(),
    topic: z.string(),
    success: z.boolean().nullable(),
    complete: z.boolean().nullable(),
    retries: count,
    worker,
    timestamp: timestamps,
    time: durations,
    sizes: z.object({ inputs: z.number().optional(), value: z.number().optional() }),
    failure: z.object({ name: z.string(), message: z.string(), reason: z.string().nullable() }).nullable(),
    failedAttempts: z.array(z.object({ computeStarted: time, computeEnded: time, worker })).optional(),
  }),
  server: z.discriminatedUnion('event', [
    z.object({
      type: z.literal('server'),
      t: z.number(),
      event: z.literal('started'),
      server: z.string(),
      methods: z.array(z.string()),
      workers: z.number().int().positive().nullable(),
    }),
    z.object({ type: z.literal('server'), t: z.number(), event: z.literal('stopped'), server: z.string(), reason: z.string() }),
  ]),
  agent: z.object({
    type: z.literal('agent'),
    t: z.number(),
    event: z.enum(['started', 'stopped']),
    agent: z.string(),
    failed: z.boolean().optional(),
  }),
  event: z.object({ type: z.literal('event'), t: z.number(), name: z.string() }),
  slots: z.object({
    type: z.literal('slots'),
    t: z.number(),
    change: z.object({ kind: z.string(), pool: pool.optional(), from: pool.optional(), to: pool.optional(), slots: count }),
    pools: z.array(z.object({ pool, allocated: count, busy: z.number().int() })),
  }),
  value: z.object({ type: z.literal('value'), t: z.number(), name: z.string(), value: time }),
  task: z.object({
    type: z.literal('task'),
    t: z.number(),
    stage: z.enum(['sent', 'result']),
    taskId: z.string(),
    colmena: z.record(z.string(), z.unknown()),
  }),
  resume: z.object({
    type: z.literal('resume'),
    t: z.number(),
    replayed: count,
    adopted: z.array(z.string()),
    resent: z.array(z.object({ taskId: z.string(), as: z.string() })),
    abandoned: z.array(z.string()),
  }),
  end: z.object({ type: z.literal('end'), t: z.number() }),
} satisfies Record<RunLogRecordType, z.ZodType>;

const TYPES = Object.keys(schemas) as RunLogRecordType[];

/**
 * Parse one line of a run log.
 * @returns the record, or a message saying what is wrong with the line.
 */
export function parseRunLogLine(text: string): { record: RunLogRecord } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message}): ${preview(text)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problem: `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !(TYPES as string[]).includes(type)) {
    return { problem: `unknown record type ${JSON.stringify(type)}; known types: ${TYPES.join(', ')}` };
  }
  const parsed = schemas[type as RunLogRecordType].safeParse(value);
  if (!parsed.success) return { problem: `invalid '${type}' record: ${describeIssues(parsed.error)}` };
  return { record: parsed.data as RunLogRecord };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? `'${issue.path.join('.')}'` : 'record'}: ${issue.message}`)
    .join('; ');
}

function preview(text: string): string {
  return text.length <= 80 ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, 80))}…`;
}
