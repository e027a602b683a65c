#!/usr/bin/env node
/** The `colmena` command. */
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { describeDemo, runDemo } from './demo.js';
import { registerReport } from './report.js';
import { registerWorkerCommand } from './worker.js';

// The command's own output is the report; library logs only when something is wrong.
process.env.COLMENA_LOG_LEVEL ??= 'warn';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
}

function number(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('expected a non-negative number');
  return parsed;
}

const program = new Command()
  .name('colmena')
  .description('Steer large campaigns of simulations with AI')
  .showHelpAfterError();

program
  .command('demo')
  .description('run a small steering campaign on local worker threads (no services needed)')
  .option('--tasks <n>', 'simulations to run', integer, 400)
  .option('--threads <n>', 'worker threads', integer, Math.max(2, availableParallelism()))
  .option('--work-ms <ms>', 'mean cost of one simulation in milliseconds', number, 20)
  .option('--seed <n>', 'random seed', integer, 1)
  .option('--no-progress', 'hide the progress bar')
  .action(async (options: { tasks: number; threads: number; workMs: number; seed: number; progress: boolean }) => {
    const summary = await runDemo({ ...options, progress: options.progress && process.stderr.isTTY === true });
    console.log(describeDemo(summary));
  });

registerWorkerCommand(program);

registerReport(program);

await program.parseAsync();
