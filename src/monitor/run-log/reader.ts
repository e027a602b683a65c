import { createReadStream } from 'node:fs';
import type { RunLogRecord } from './records.js';

/** A line of a run log that could not be used, and why. Lines are numbered from 1. */
export interface RunLogProblem {
  line: number;
  message: string;
}

/** A run log as read back: the usable records in file order, and the lines that were not. */
export interface ParsedRunLog {
  path: string;
  records: RunLogRecord[];
  problems: RunLogProblem[];
  /** Whether the log ends with the line `close()` writes; `false` for a campaign that crashed or is still running. */
  closed: boolean;
}

/**
 * Read a run log. Lines that cannot be used (not JSON, an unknown or malformed record, a
 * half-written last line) are listed in `problems` with their line numbers; the rest is used.
 * @throws the file system's error if the file cannot be read.
 */
export async function readRunLog(path: string): Promise<ParsedRunLog> {
  const { parseRunLogLine } = await import('./line-parser.js');
  const records: RunLogRecord[] = [];
  const problems: RunLogProblem[] = [];
  let line = 0;
  let pending = '';
  const take = (text: string, lastWithoutNewline: boolean): void => {
    line++;
    if (text.trim().length === 0) return;
    const parsed = parseRunLogLine(text.endsWith('\r') ? text.slice(0, -1) : text);
    if ('record' in parsed) {
      records.push(parsed.record);
    } else {
      const truncated = lastWithoutNewline ? 'the log ends in the middle of this line (was the campaign stopped while writing?); ' : '';
      problems.push({ line, message: truncated + parsed.problem });
    }
  };
  // Split on newlines ourselves so a last line without one can be told apart.
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
    const parts = (pending + (chunk as string)).split('\n');
    pending = parts.pop()!;
    for (const part of parts) take(part, false);
  }
  if (pending.length > 0) take(pending, true);
  if (records.length > 0 && records[0]!.type !== 'start' && !problems.some((p) => p.line === 1)) {
    problems.push({ line: 1, message: "the log does not begin with a 'start' record; is this a run log written by colmena?" });
  }
  return { path, records, problems, closed: records.at(-1)?.type === 'end' };
}
