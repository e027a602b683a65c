/**
 * A campaign's record as a resumed thinker needs it: the final results it took, and the tasks it
 * had sent without a final result. Read from the `task` and `resume` lines a run log opened with
 * `tasks: true` writes; every other line is skipped unread, so 100,000 results load in well under
 * the target of two seconds (see `bench/resume.ts`).
 */
import { createReadStream } from 'node:fs';
import { InvalidArgumentError } from '../../common/errors.js';
import type { Result } from '../../models/result.js';
import { decodeWireMessage } from '../../models/wire.js';
import type { RunLogProblem } from './reader.js';

export interface CampaignRecord {
  path: string;
  /** Final results, in the order the thinker took them; values still encoded (`result.decodeValue()`). */
  completed: Result[];
  /** Tasks sent and neither finished, re-sent nor abandoned: the requests as they were sent. */
  inFlight: Result[];
  /** Lines that could not be used (a half-written last line after a crash, most often). */
  problems: RunLogProblem[];
}

const TASK_PREFIX = '{"type":"task",';
const RESUME_PREFIX = '{"type":"resume",';
const BODY_KEY = ',"colmena":';

/**
 * Read the record of a campaign from its run log.
 * @throws InvalidArgumentError when the log has no `task` lines (it was not opened with
 *   `tasks: true`, so it holds no inputs or values to resume from); the file system's error if it
 *   cannot be read.
 */
export async function readCampaignRecord(path: string): Promise<CampaignRecord> {
  const sentBodies = new Map<string, string>();
  const finished = new Map<string, Result>();
  const closed = new Set<string>();
  const problems: RunLogProblem[] = [];
  let taskLines = 0;
  let line = 0;
  const take = (text: string): void => {
    line++;
    if (text.startsWith(TASK_PREFIX)) {
      taskLines++;
      const task = splitTaskLine(text);
      if (task === null) return void problems.push({ line, message: 'a task line without a readable header or Colmena body' });
      if (task.stage === 'sent') {
        sentBodies.set(task.taskId, task.body);
      } else if (!finished.has(task.taskId)) {
        try {
          finished.set(task.taskId, decodeWireMessage(task.body));
        } catch (error) {
          problems.push({ line, message: `the result of task ${task.taskId} cannot be decoded: ${(error as Error).message}` });
        }
      }
    } else if (text.startsWith(RESUME_PREFIX)) {
      try {
        const resume = JSON.parse(text) as { resent: { taskId: string }[]; abandoned: string[] };
        for (const { taskId } of resume.resent) closed.add(taskId);
        for (const taskId of resume.abandoned) closed.add(taskId);
      } catch (error) {
        problems.push({ line, message: `a resume line that is not JSON: ${(error as Error).message}` });
      }
    }
  };
  let pending = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const parts = (pending + (chunk as string)).split('\n');
    pending = parts.pop()!;
    for (const part of parts) take(part);
  }
  // A last line without its newline was cut off mid-write; a complete one still parses.
  if (pending.length > 0) take(pending);
  if (taskLines === 0) {
    throw new InvalidArgumentError(
      `The run log ${path} holds no task inputs or values, so a campaign cannot resume from it. ` +
        `Open the run log with RunLog.open(path, { tasks: true }) (the demo does with --resume).`,
    );
  }
  const inFlight: Result[] = [];
  for (const [taskId, body] of sentBodies) {
    if (finished.has(taskId) || closed.has(taskId)) continue;
    try {
      inFlight.push(decodeWireMessage(body));
    } catch (error) {
      problems.push({ line: 0, message: `the request of task ${taskId} cannot be decoded: ${(error as Error).message}` });
    }
  }
  return { path, completed: [...finished.values()], inFlight, problems };
}

/** Header and body of a `task` line, cut at `"colmena":` so the body is not parsed twice. */
function splitTaskLine(text: string): { stage: 'sent' | 'result'; taskId: string; body: string } | null {
  const at = text.indexOf(BODY_KEY);
  if (at < 0 || !text.endsWith('}')) return null;
  try {
    const header = JSON.parse(`${text.slice(0, at)}}`) as { stage?: unknown; taskId?: unknown };
    if ((header.stage !== 'sent' && header.stage !== 'result') || typeof header.taskId !== 'string') return null;
    return { stage: header.stage, taskId: header.taskId, body: text.slice(at + BODY_KEY.length, -1) };
  } catch {
    return null;
  }
}
