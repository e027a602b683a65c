/**
 * `npm run bench -- <name> [options]`: runs one benchmark and prints its JSON line(s) last on
 * stdout. With no name, runs each in quick mode and ends with one table of their key figures.
 */
const benchmarks: Record<string, () => Promise<{ main(argv: string[]): Promise<void> }>> = {
  local: () => import('./local.js'),
  redis: () => import('./redis.js'),
  recovery: () => import('./recovery.js'),
  thinker: () => import('./thinker.js'),
  stop: () => import('./stop.js'),
  distributed: () => import('./distributed.js'),
  payload: () => import('./payload.js'),
  scale: () => import('./scale.js'),
  envelope: () => import('./envelope.js'),
  imports: () => import('./imports.js'),
  resume: () => import('./resume.js'),
  fuzz: () => import('./fuzz.js'),
  stream: () => import('./stream.js'),
  hpc: () => import('./hpc.js'),
};

const [name, ...rest] = process.argv.slice(2);
if (name === undefined) {
  // Every benchmark in quick mode, then one table of their key figures (read from the JSON lines
  // each prints) as the last thing on stdout.
  const lines: Record<string, unknown>[] = [];
  const failed: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...args: unknown[]) => {
    for (const text of String(chunk).split('\n')) {
      if (!text.startsWith('{"bench"')) continue;
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        // Not one whole JSON line: leave it out of the summary.
      }
    }
    return (write as (...a: unknown[]) => boolean)(chunk, ...args);
  }) as typeof process.stdout.write;
  const started = performance.now();
  for (const [each, load] of Object.entries(benchmarks)) {
    console.log(`# ${each}`);
    try {
      await (await load()).main(['--quick', ...rest]);
    } catch (error) {
      failed.push(each);
      console.error(`# ${each} failed: ${(error as Error).stack ?? String(error)}`);
    }
  }
  process.stdout.write = write;
  const { machineLoad, printTable, summaryRows } = await import('./lib.js');
  const { load1, cpus } = await machineLoad();
  console.log(`\n# summary (quick mode, ${((performance.now() - started) / 1000).toFixed(0)} s, ${cpus} CPUs, load ${load1}${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''})`);
  printTable(summaryRows(lines) as unknown as Record<string, unknown>[]);
  if (failed.length > 0) process.exitCode = 1;
} else {
  const load = benchmarks[name];
  if (!load) {
    console.error(`Unknown benchmark '${name}'. Available: ${Object.keys(benchmarks).join(', ')}`);
    process.exit(2);
  }
  await (await load()).main(rest);
}
