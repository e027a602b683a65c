import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { InvalidArgumentError } from '../../common/errors.js';
import { latencySpec, taskStreamSpec, utilizationSpec, valuesSpec } from './charts.js';
import { type ParsedRunLog, readRunLog } from '../run-log/reader.js';
import { renderSvg, svgToPng } from './render.js';
import { type RunSummary, summarize } from './stats.js';
import { chromeTrace } from './trace.js';

export interface ReportOptions {
  /** Folder for the charts, trace and summary. @default a `report` folder beside the log */
  outDir?: string;
  /** Recorded values to chart against time. @default every value the log has */
  values?: readonly string[];
  /** Write a PNG beside each SVG. @default true */
  png?: boolean;
}

export interface Report {
  log: ParsedRunLog;
  summary: RunSummary;
  outDir: string;
  /** Files written, by what they hold. */
  files: {
    summary: string;
    trace: string;
    charts: { name: 'utilization' | 'task-stream' | 'latency' | 'values'; svg: string; png: string | null }[];
  };
}

/**
 * Read a run log and write its report: charts (SVG, and PNG unless turned off), a Chrome trace
 * (`trace.json`, for Perfetto) and the summary as JSON (`summary.json`).
 *
 * @throws InvalidArgumentError when the log has no usable record or a requested value was never
 *   recorded; the file system's error when the log cannot be read or the folder written.
 */
export async function writeReport(logPath: string, options: ReportOptions = {}): Promise<Report> {
  const log = await readRunLog(logPath);
  if (log.records.length === 0) {
    const why = log.problems.slice(0, 3).map((p) => `line ${p.line}: ${p.message}`);
    throw new InvalidArgumentError(`${logPath} has no usable run-log record${why.length > 0 ? `:\n  ${why.join('\n  ')}` : ' (the file is empty)'}`);
  }
  const summary = summarize(log);
  const recorded = Object.keys(summary.values);
  const values = options.values ?? recorded;
  const missing = values.filter((name) => !recorded.includes(name));
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      `No value named ${missing.map((m) => `'${m}'`).join(', ')} in ${logPath}. ` +
        (recorded.length > 0 ? `It records: ${recorded.join(', ')}.` : 'It records no values; a campaign adds them with runLog.recordValue(name, x).'),
    );
  }

  const outDir = resolve(options.outDir ?? join(dirname(logPath), 'report'));
  await mkdir(outDir, { recursive: true });
  const charts: Report['files']['charts'] = [];
  const specs: [Report['files']['charts'][number]['name'], TopLevelSpec | null][] = [
    ['utilization', summary.utilization.length > 0 ? utilizationSpec(summary) : null],
    ['task-stream', summary.stream.length > 0 ? taskStreamSpec(summary) : null],
    ['latency', summary.latencies.length > 0 ? latencySpec(summary) : null],
    ['values', values.length > 0 ? valuesSpec(summary, values) : null],
  ];
  for (const [name, spec] of specs) {
    if (spec === null) continue;
    const svg = await renderSvg(spec);
    const svgPath = join(outDir, `${name}.svg`);
    await writeFile(svgPath, svg);
    let pngPath: string | null = null;
    if (options.png !== false) {
      pngPath = join(outDir, `${name}.png`);
      await writeFile(pngPath, await svgToPng(svg));
    }
    charts.push({ name, svg: svgPath, png: pngPath });
  }

  const trace = join(outDir, 'trace.json');
  await writeFile(trace, JSON.stringify(chromeTrace(summary, logPath)));
  const summaryPath = join(outDir, 'summary.json');
  await writeFile(summaryPath, `${JSON.stringify(compactSummary(log, summary), null, 2)}\n`);
  return { log, summary, outDir, files: { summary: summaryPath, trace, charts } };
}

/** The summary without its per-task arrays, for summary.json. NaN is written as null. */
function compactSummary(log: ParsedRunLog, summary: RunSummary): Record<string, unknown> {
  return {
    log: log.path,
    closed: log.closed,
    problems: log.problems,
    origin: summary.origin,
    window: summary.window,
    tasks: summary.tasks,
    succeeded: summary.succeeded,
    failed: summary.failed,
    throughput: summary.throughput,
    methods: summary.methods,
    utilization: summary.utilization.map(({ name, source, capacityLabel, capacitySeconds, busySeconds, utilization }) => ({
      name,
      source,
      capacityLabel,
      capacitySeconds,
      busySeconds,
      utilization,
    })),
    workers: summary.workers,
    values: Object.fromEntries(Object.entries(summary.values).map(([name, points]) => [name, { records: points.length, last: points.at(-1)?.value ?? null }])),
  };
}
