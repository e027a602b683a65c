/**
 * A campaign's record as a resumed thinker needs it: the final results it took, and the tasks it
 * had sent without a final result. Read from the `task` and `resume` lines a run log opened with
 * `tasks: true` writes; every other line is skipped unread, so 100,000 results load in well under
 * the target of two seconds (see `bench/resume.ts`).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { InvalidArgumentError } from '../../common/errors.js';
import type { Result } from '../../models/result.js';
import type { RunLogProblem } from './reader.js';
import { resultFromRecord } from './record-result.js';

export interface CampaignRecord {
  path: string;
  /** Final results, in the order the thinker took them; values still encoded (`result.decodeValue()`). */
  completed: Result[];
  /** Tasks sent and neither finished, re-sent nor abandoned: the requests as they were sent. */
  inFlight: Result[];
  /** Lines that could not be used (a half-written last line after a crash, most often). */
  problems: RunLogProblem[];
}

const TASK_PREFIX = Buffer.from('{"type":"task",');
const RESUME_PREFIX = Buffer.from('{"type":"resume",');

/**
 * Read the record of a campaign from its run log.
 * @throws InvalidArgumentError when the log has no `task` lines (it was not opened with
 *   `tasks: true`, so it holds no inputs or values to resume from); the file system's error if it
 *   cannot be read.
 */
export async function readCampaignRecord(path: string): Promise<CampaignRecord> {
  // Requests are remembered by where their lines are, and read again only for the few still in
  // flight at the end; lines other than task and resume lines are never decoded at all.
  const sentAt = new Map<string, { offset: number; length: number }>();
  const finished = new Map<string, Result>();
  const closed = new Set<string>();
  const problems: RunLogProblem[] = [];
  let taskLines = 0;
  let line = 0;
  const take = (bytes: Buffer, start: number, end: number, offset: number): void => {
    line++;
    if (startsWith(bytes, start, end, TASK_PREFIX)) {
      taskLines++;
      // The header comes first, so the first "stage" is the line's own.
      const stage = bytes.indexOf(STAGE_KEY, start);
      if (stage >= 0 && stage < end && bytes[stage + STAGE_KEY.length] === S) {
        const taskId = sentTaskId(bytes, start, end);
        if (taskId === null) return void problems.push({ line, message: "a 'sent' task line without a readable task id" });
        sentAt.set(taskId, { offset, length: end - start });
        return;
      }
      try {
        const result = decodeTaskLine(bytes.toString('utf8', start, end));
        if (!finished.has(result.taskId)) finished.set(result.taskId, result);
      } catch (error) {
        problems.push({ line, message: `a result task line that cannot be used: ${(error as Error).message}` });
      }
    } else if (startsWith(bytes, start, end, RESUME_PREFIX)) {
      try {
        const resume = JSON.parse(bytes.toString('utf8', start, end)) as { resent: { taskId: string }[]; abandoned: string[] };
        for (const { taskId } of resume.resent) closed.add(taskId);
        for (const taskId of resume.abandoned) closed.add(taskId);
      } catch (error) {
        problems.push({ line, message: `a resume line that is not JSON: ${(error as Error).message}` });
      }
    }
  };
  let pending: Buffer = Buffer.alloc(0);
  let pendingOffset = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer;
    let start = 0;
    let newline = bytes.indexOf(NEWLINE);
    if (newline < 0) {
      pending = Buffer.concat([pending, bytes]);
      continue;
    }
    // Only the line split across chunks is copied, not the whole chunk.
    if (pending.length > 0) {
      const joined = Buffer.concat([pending, bytes.subarray(0, newline)]);
      take(joined, 0, joined.length, pendingOffset);
      start = newline + 1;
      newline = bytes.indexOf(NEWLINE, start);
    }
    const chunkOffset = pendingOffset + pending.length;
    for (; newline >= 0; newline = bytes.indexOf(NEWLINE, start)) {
      take(bytes, start, newline, chunkOffset + start);
      start = newline + 1;
    }
    pending = Buffer.from(bytes.subarray(start));
    pendingOffset = chunkOffset + start;
  }
  // A last line without its newline was cut off mid-write; a complete one still parses.
  if (pending.length > 0) take(pending, 0, pending.length, pendingOffset);
  if (taskLines === 0) {
    throw new InvalidArgumentError(
      `The run log ${path} holds no task inputs or values, so a campaign cannot resume from it. ` +
        `Open the run log with RunLog.open(path, { tasks: true }) (the demo does with --resume).`,
    );
  }
  const inFlight: Result[] = [];
  const file = await open(path, 'r');
  try {
    for (const [taskId, { offset, length }] of sentAt) {
      if (finished.has(taskId) || closed.has(taskId)) continue;
      const bytes = Buffer.alloc(length);
      await file.read(bytes, 0, length, offset);
      try {
        inFlight.push(decodeTaskLine(bytes.toString('utf8')));
      } catch (error) {
        problems.push({ line: 0, message: `the request of task ${taskId} cannot be decoded: ${(error as Error).message}` });
      }
    }
  } finally {
    await file.close();
  }
  return { path, completed: [...finished.values()], inFlight, problems };
}

const NEWLINE = 0x0a;
const S = 0x73; // 's' of "sent"
const STAGE_KEY = Buffer.from('"stage":"');
const TASK_ID_KEY = Buffer.from('"taskId":"');

function startsWith(bytes: Buffer, start: number, end: number, prefix: Buffer): boolean {
  return end - start >= prefix.length && bytes.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0;
}

/** The task id of a `sent` line, read from its header without decoding the message. */
function sentTaskId(bytes: Buffer, start: number, end: number): string | null {
  const key = bytes.indexOf(TASK_ID_KEY, start);
  if (key < 0 || key >= end) return null;
  const from = key + TASK_ID_KEY.length;
  const to = bytes.indexOf(0x22, from);
  return to < 0 || to > end ? null : bytes.toString('utf8', from, to);
}

function decodeTaskLine(text: string): Result {
  const line = JSON.parse(text) as { colmena?: unknown };
  if (typeof line.colmena !== 'object' || line.colmena === null) throw new Error("no 'colmena' message");
  return resultFromRecord(line.colmena as Record<string, unknown>);
}
