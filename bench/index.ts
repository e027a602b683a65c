/**
 * `npm run bench -- <name> [options]`: runs one benchmark (or, with no name, each in quick mode)
 * and prints its JSON line(s) last on stdout.
 */
const benchmarks: Record<string, () => Promise<{ main(argv: string[]): Promise<void> }>> = {
  local: () => import('./local.js'),
  redis: () => import('./redis.js'),
  thinker: () => import('./thinker.js'),
  stop: () => import('./stop.js'),
  distributed: () => import('./distributed.js'),
  payload: () => import('./payload.js'),
  scale: () => import('./scale.js'),
  envelope: () => import('./envelope.js'),
};

const [name, ...rest] = process.argv.slice(2);
if (name === undefined) {
  for (const [each, load] of Object.entries(benchmarks)) {
    console.log(`# ${each}`);
    await (await load()).main(['--quick', ...rest]);
  }
} else {
  const load = benchmarks[name];
  if (!load) {
    console.error(`Unknown benchmark '${name}'. Available: ${Object.keys(benchmarks).join(', ')}`);
    process.exit(2);
  }
  await (await load()).main(rest);
}
