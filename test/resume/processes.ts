/** Child processes of the resume tests: the sweep's thinker and task server, with their output. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

const FIXTURES = new URL('./fixtures/', import.meta.url);

export interface Child {
  process: ChildProcess;
  /** Lines printed so far. */
  lines: string[];
  stderr: () => string;
  /** The last `processed <n>` printed, or 0. */
  processed(): number;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Children still running, so a test that fails part-way leaves none behind (see {@link killStartedChildren}). */
const running = new Set<ChildProcess>();

/** SIGKILL every child still running and wait for each to exit. */
export async function killStartedChildren(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }),
  );
}

export function startChild(script: 'thinker.ts' | 'server.ts', args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(script, FIXTURES).pathname, ...args], {
    env: { ...process.env, COLMENA_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const lines: string[] = [];
  let partial = '';
  let errors = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  let lastProcessed = 0;
  let scanned = 0;
  return {
    process: child,
    lines,
    stderr: () => errors,
    processed() {
      for (; scanned < lines.length; scanned++) {
        const match = /^processed (\d+)$/.exec(lines[scanned]!);
        if (match) lastProcessed = Number(match[1]);
      }
      return lastProcessed;
    },
    exited,
  };
}

/** The JSON summary the thinker prints last. */
export function summaryOf(child: Child): {
  outcome: string;
  best: { i: number; value: number } | null;
  replayed: number;
  processed: number;
  carried: number;
  counted: Record<string, number>;
  inFlightInRecord: number;
} {
  const last = child.lines.findLast((line) => line.startsWith('{'));
  if (!last) throw new Error(`the thinker printed no summary; stderr:\n${child.stderr()}`);
  return JSON.parse(last);
}

/** How many times each point was evaluated, from the file the method appends to. */
export function callCounts(path: string): Map<number, number> {
  const counts = new Map<number, number>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return counts;
  }
  for (const line of text.split('\n')) if (line) counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
  return counts;
}

/** Final-result task lines on disk in a run log. */
export function recordedResults(path: string): number {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return 0;
  }
  return text.split('\n').filter((line) => line.startsWith('{"type":"task"') && line.includes('"stage":"result"')).length;
}
