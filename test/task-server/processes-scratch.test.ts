/**
 * A processes executor's child killed mid-executable (a cancel past its abort grace) leaves no
 * run directory behind: each child makes its run directories in a scratch folder of its own,
 * which the executor removes when the child exits.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { moduleMethod } from '../../src/methods/spec.js';
import { LocalQueues } from '../../src/queue/local.js';
import { ProcessesExecutor } from '../../src/task-server/executors/processes.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type * as launches from '../fixtures/stubborn-launch.js';
import { until, untilAsync } from '../helpers/until.js';

const LAUNCHES = new URL('../fixtures/stubborn-launch.ts', import.meta.url);

/** How many processes run this command line. */
async function running(commandLine: string): Promise<number> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'args']);
  return stdout.split('\n').filter((line) => line.trim() === commandLine).length;
}

/** The scratch folders of processes-executor children, and the run directories in them. */
function scratch(): { folders: string[]; runDirs: string[] } {
  const folders = readdirSync(tmpdir()).filter((name) => name.startsWith('colmena-worker-')).map((name) => join(tmpdir(), name));
  const runDirs = folders.flatMap((folder) => {
    try {
      return readdirSync(folder).filter((name) => name.startsWith('colmena-run-'));
    } catch {
      return []; // removed while we looked
    }
  });
  return { folders, runDirs };
}

// Other test files run beside this one and make scratch folders of their own in the system's
// temporary directory; a private TMPDIR (read by os.tmpdir() on every call, inherited by the
// children) keeps this file's count to its own.
const systemTmp = tmpdir();
const privateTmp = mkdtempSync(join(systemTmp, 'colmena-scratch-test-'));
process.env['TMPDIR'] = privateTmp;

describe('processes executor scratch folders', () => {
  after(() => {
    process.env['TMPDIR'] = systemTmp;
    rmSync(privateTmp, { recursive: true, force: true });
  });

  it('a child SIGKILLed mid-executable takes its run directory with it', async () => {
    const before = new Set(scratch().folders);
    const queues = new LocalQueues<{ sleep: NonNullable<typeof launches.stubbornSleep.signature> }>();
    const server = new LocalTaskServer(queues, {
      methods: { sleep: moduleMethod(LAUNCHES, 'stubbornSleep', { executor: 'procs' }) },
      executors: { procs: new ProcessesExecutor('procs', { processes: 1, abortGraceMs: 10 }) },
    }).start();
    try {
      const taskId = await queues.sendInputs('sleep', ['31.7']);
      await until(() => scratch().runDirs.length > 0, "the task's run directory in its child's scratch folder");
      await untilAsync(async () => (await running('sleep 31.7')) > 0, 'the program running');
      const mine = scratch().folders.filter((folder) => !before.has(folder));
      assert.equal(mine.length, 1, 'one scratch folder for the one child');
      // The program ignores SIGTERM, so the child is still in its 2 s kill grace when its own 10 ms
      // abort grace runs out: the executor SIGKILLs the child mid-cleanup.
      await queues.cancel(taskId);
      const result = await queues.getResult();
      assert.equal(result.cancelled, true);
      await until(() => !scratch().folders.includes(mine[0]!), 'the dead child’s scratch folder removed');
      await untilAsync(async () => (await running('sleep 31.7')) === 0, 'the program ended with its child');
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    }
    assert.deepEqual(scratch().folders.filter((folder) => !before.has(folder)), [], 'closing the executor removes every scratch folder');
  });
});
