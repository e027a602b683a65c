/**
 * Resume a campaign from its record: give the thinker back every completed result, then deal with
 * the tasks that were in flight, all before any agent starts (so before anything new is sent).
 * `BaseThinker.resume` is the public entry; see docs/resume.md.
 */
import { InvalidArgumentError } from '../common/errors.js';
import { failureFromError } from '../models/failure.js';
import type { Result } from '../models/result.js';
import type { ColmenaQueues } from '../queue/base.js';

/** What to do with a task the previous thinker had sent and not seen finish. */
export type InFlightChoice = 'resend' | 'adopt';

export interface ResumeOptions {
  /**
   * `'resend'` sends each in-flight task again under a new id: nothing is lost whatever happened
   * to the old channels (with in-process queues they died with the process). `'adopt'` claims the
   * old ids on channels that outlived the thinker (Redis, with the task server still running):
   * each task runs once and its result is counted once, but a task whose request was lost never
   * finishes. The old run of a re-sent task may still finish on a surviving task server; its
   * result carries the old id, which the queues drop (they accept only tasks they sent or adopted).
   * @default 'resend'
   */
  inFlight?: InFlightChoice;
}

/** What resuming needs from a record; `readCampaignRecord` (colmena's run log) returns it. */
export interface ResumeSource {
  /** Final results, in the order they were taken. Their values are decoded here. */
  readonly completed: readonly Result[];
  /** Requests sent and not finished. */
  readonly inFlight: readonly Result[];
}

/** What a resume did; the thinker emits it as its `resumed` event and the run log records it. */
export interface ResumeSummary {
  replayed: number;
  adopted: string[];
  resent: { taskId: string; as: string }[];
  abandoned: string[];
}

/** The thinker's side of resuming: the two hooks of `BaseThinker`. */
export interface ResumeHooks {
  replayResult(result: Result): void | Promise<void>;
  resumeTask(task: Result, carryOn: () => Promise<string>): void | Promise<void>;
}

/** Replay, then carry on or abandon each in-flight task; resolves with what was done. */
export async function resumeCampaign(queues: ColmenaQueues, source: ResumeSource, options: ResumeOptions, hooks: ResumeHooks): Promise<ResumeSummary> {
  const choice = options.inFlight ?? 'resend';
  if (choice !== 'resend' && choice !== 'adopt') {
    throw new InvalidArgumentError(`resume option inFlight must be 'resend' or 'adopt', got ${String(options.inFlight)}`);
  }
  if (source === null || typeof source !== 'object' || !Array.isArray(source.completed) || !Array.isArray(source.inFlight)) {
    throw new InvalidArgumentError('resume(record): record must have completed and inFlight arrays, as readCampaignRecord(path) returns');
  }
  const summary: ResumeSummary = { replayed: 0, adopted: [], resent: [], abandoned: [] };
  for (const result of source.completed) {
    if (result.value === undefined && result.encodedValue !== null) {
      try {
        result.decodeValue();
      } catch (error) {
        result.fail(failureFromError(error));
      }
    }
    await hooks.replayResult(result);
    summary.replayed++;
  }
  for (const task of source.inFlight) {
    let carried = false;
    const carryOn = async (): Promise<string> => {
      if (carried) throw new InvalidArgumentError(`resumeTask: carryOn() for task ${task.taskId} was already called`);
      carried = true;
      if (choice === 'adopt') {
        queues.adoptTasks([{ taskId: task.taskId, topic: task.topic }]);
        summary.adopted.push(task.taskId);
        return task.taskId;
      }
      const as = await resend(queues, task);
      summary.resent.push({ taskId: task.taskId, as });
      return as;
    };
    await hooks.resumeTask(task, carryOn);
    if (!carried) summary.abandoned.push(task.taskId);
  }
  return summary;
}

/** Send a recorded request again, with its inputs and options, under a new id. */
function resend(queues: ColmenaQueues, task: Result): Promise<string> {
  const { nodeCount, cpuProcesses, cpuThreads } = task.resources;
  return queues.sendInputs(task.method, task.args as never, {
    kwargs: task.kwargs,
    topic: task.topic,
    taskInfo: task.taskInfo,
    keepInputs: task.keepInputs,
    maxRetries: task.maxRetries,
    resources: { nodeCount, cpuProcesses, cpuThreads },
    ...(task.timeoutMs !== null && { timeoutMs: task.timeoutMs }),
  });
}
