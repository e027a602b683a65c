/** `colmena report <run-log>`: what a campaign did, as a table, charts and a trace. */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import type { Command } from 'commander';
import { ColmenaError } from '../common/errors.js';
import { writeReport } from '../monitor/report/report.js';
import { formatSummary } from '../monitor/report/table.js';
import { runLogIn } from '../monitor/run-log/run-log.js';

/** Add the `report` command. */
export function registerReport(program: Command): void {
  const command: Command = program
    .command('report')
    .description('summarize a run log and write its charts (SVG, PNG) and a Perfetto trace')
    .argument('<run-log>', 'a run log (JSON lines) written by a campaign, e.g. runs/<time>/run.jsonl, or the runs/<time> folder holding it')
    .option('--out <dir>', 'folder for the charts, trace.json and summary.json (default: a "report" folder beside the log)')
    .option('--value <name...>', 'recorded value(s) to chart against time (default: all recorded)')
    .option('--no-png', 'write SVG charts only')
    .action(async (given: string, options: { out?: string; value?: string[]; png: boolean }) => {
      const logPath = runLogPath(given, (message) => command.error(message, { exitCode: 1 }));
      let report;
      try {
        report = await writeReport(logPath, { outDir: options.out, values: options.value, png: options.png });
      } catch (error) {
        const message = error instanceof ColmenaError ? error.message : `Cannot report on ${logPath}: ${(error as Error).message}`;
        command.error(message, { exitCode: 1 });
      }
      const { log, summary, files } = report;
      for (const problem of log.problems) console.error(`warning: ${logPath} line ${problem.line}: ${problem.message}`);
      if (log.problems.length > 0) console.error(`warning: ${log.problems.length} line(s) skipped; the report uses the other ${log.records.length}.`);
      if (!log.closed) console.error(`note: ${logPath} has no closing line: the campaign crashed, was stopped, or is still running.`);
      console.log(formatSummary(summary));
      const shown = (path: string): string => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path));
      const written = [...files.charts.flatMap((c) => [c.svg, ...(c.png ? [c.png] : [])]), files.trace, files.summary];
      console.log(`\nWrote ${written.map(shown).join(', ')}`);
      console.log(`Open ${shown(files.trace)} in https://ui.perfetto.dev to browse the task stream.`);
    });
}

/** The run log named by `given`: the file itself, or the run.jsonl inside a runs/<time> folder. */
function runLogPath(given: string, fail: (message: string) => never): string {
  if (!existsSync(given)) fail(`No run log at ${given}: give the run.jsonl a campaign wrote, e.g. runs/<time>/run.jsonl`);
  const logPath = runLogIn(given);
  if (logPath === given || existsSync(logPath)) return logPath;
  return fail(`${given} is a folder without a run.jsonl: give the run log itself, e.g. runs/<time>/run.jsonl`);
}
