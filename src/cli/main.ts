#!/usr/bin/env node
/** The `colmena` command. */
import { Command, InvalidArgumentError } from 'commander';
import { registerDashboardCommand } from './dashboard.js';
import { applyCliManners, packageVersion } from './manners.js';
import { describeDemo, runDemo } from '../demo/campaign.js';
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
  .version(packageVersion(), '-V, --version', 'print the version of colmena');

program
  .command('demo')
  .description('run a steering campaign on local worker threads (no services needed): Bayesian optimization of a test function, compared with random search')
  .option('--budget <n>', 'simulations to run', integer, 200)
  .option('--workers <n>', 'worker threads, shared by simulation and training', integer, 2)
  .option('--work-ms <ms>', 'mean cost of one simulation in milliseconds', number, 50)
  .option('--retrain-every <n>', 'retrain the model after this many new results', integer, 5)
  .option('--seed <n>', 'random seed', integer, 1)
  .option('--run-log <path>', 'where to write the run log (default: runs/<time>/run.jsonl)')
  .option('--no-run-log', 'do not write a run log')
  .option('--no-progress', 'hide the progress bar')
  .option('--resume <run>', 'carry on the campaign recorded in this run log (or runs/<time> folder), with the same options')
  .action(async (options: { budget: number; workers: number; workMs: number; retrainEvery: number; seed: number; runLog: string | boolean; progress: boolean; resume?: string }) => {
    const summary = await runDemo({ ...options, progress: options.progress && process.stderr.isTTY === true });
    console.log(describeDemo(summary));
  });

registerWorkerCommand(program);

registerReport(program);

registerDashboardCommand(program);

applyCliManners(program);

await program.parseAsync();
