import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { ExecutableMethod } from '../../src/methods/executable.js';
import {
  findMarkedProcesses, newProcessToken, pidOrigin, pidsHandedOutSince, signalGroup, sweepLaunchSync, TASK_TOKEN_VARIABLE,
} from '../../src/methods/launch-kill.js';
import { until, untilAsync } from '../helpers/until.js';

/** A launch whose child leaves the process group (setsid) and outlives the launcher. */
async function launchWithEscapee(token: string): Promise<number> {
  const launcher = spawn('bash', ['-c', `setsid sleep 307.${process.pid % 1000} & exit 0`], {
    detached: true,
    stdio: 'ignore',
    env: { PATH: process.env.PATH, [TASK_TOKEN_VARIABLE]: token },
  });
  await once(launcher, 'exit');
  // Wait for the escapee to be `sleep` itself: mid-exec (bash → setsid → sleep) its environ
  // cannot be read for a moment.
  await untilAsync(async () => {
    const found = await findMarkedProcesses(TASK_TOKEN_VARIABLE, token);
    return found.length === 1 && (await readFile(`/proc/${found[0]}/cmdline`, 'latin1').catch(() => '')).startsWith('sleep');
  }, 'the escapee to run');
  return launcher.pid!;
}

describe('Sweeping a launch', () => {
  it('finds and kills a process that left the group, reading only pids handed out since the launch', async () => {
    const token = newProcessToken();
    const origin = pidOrigin();
    assert.ok(origin, 'this Linux /proc gives a pid origin');
    const launcherPid = await launchWithEscapee(token);
    signalGroup(launcherPid, 'SIGKILL'); // the group is gone already; the escapee is not in it
    assert.equal(sweepLaunchSync(token, launcherPid, origin), 'done');
    await untilAsync(async () => (await findMarkedProcesses(TASK_TOKEN_VARIABLE, token)).length === 0, 'the escapee to be gone');
  });

  it('does not mistake a process with an empty environment for one caught mid-exec', async () => {
    const token = newProcessToken();
    const origin = pidOrigin()!;
    const launcher = spawn('true', [], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH, [TASK_TOKEN_VARIABLE]: token } });
    await once(launcher, 'exit');
    // Started after the launcher, so in its pid range; nothing to read in its environ.
    const bare = spawn('/bin/sleep', ['30'], { stdio: 'ignore', env: {} });
    await once(bare, 'spawn');
    try {
      await untilAsync(async () => (await readFile(`/proc/${bare.pid}/cmdline`, 'latin1').catch(() => '')).startsWith('/bin/sleep'), 'sleep to run');
      assert.equal(sweepLaunchSync(token, launcher.pid!, origin), 'done');
    } finally {
      bare.kill('SIGKILL');
    }
  });

  it('counts the pids handed out since the launcher, across the wrap at pid_max', () => {
    const plain = pidsHandedOutSince(1000, 1500);
    assert.deepEqual([999, 1000, 1200, 1500, 1501].map(plain), [false, true, true, true, false]);
    // The cursor wrapped: 30000 … pid_max, then 300 … 400.
    const wrapped = pidsHandedOutSince(30000, 400);
    assert.deepEqual([29999, 30000, 32767, 300, 400, 401].map(wrapped), [false, true, true, true, true, false]);
  });

  it('declines (and touches nothing) when the pid cursor may have gone all the way round since the origin', async () => {
    const token = newProcessToken();
    const launcherPid = await launchWithEscapee(token);
    try {
      // As many threads at the origin as there are pids: any pid could be the launch's.
      assert.equal(sweepLaunchSync(token, launcherPid, { forks: 0, threads: Number.MAX_SAFE_INTEGER }), 'too-wide');
      assert.equal((await findMarkedProcesses(TASK_TOKEN_VARIABLE, token)).length, 1);
    } finally {
      for (const pid of await findMarkedProcesses(TASK_TOKEN_VARIABLE, token)) process.kill(pid, 'SIGKILL');
    }
  });

  it('adds one process exit listener however many launches run at once', async () => {
    const before = process.listenerCount('exit');
    let most = before;
    const method = new ExecutableMethod<[], string>({ command: ['sleep', '0.3'] });
    let done = false;
    const runs = Promise.all(Array.from({ length: 15 }, () => method.execute([], {}))).finally(() => (done = true));
    // Sample on every macrotask while the launches run (all 15 are running at once for most of it).
    await until(() => {
      most = Math.max(most, process.listenerCount('exit'));
      return done;
    }, 'the launches to end');
    await runs;
    assert.equal(most, before + 1);
    assert.equal(process.listenerCount('exit'), before, 'the hook goes once no launch is left');
  });
});
