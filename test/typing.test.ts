/** The queue types catch wrong calls at compile time: run tsc on a file of mistakes and check each is reported. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { promisify } from 'node:util';

const FILE = fileURLToPath(new URL('./fixtures/type-errors/typed-queues.ts', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

it('rejects wrong method names, argument types and value types at compile time', async () => {
  const options = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--skipLibCheck', '--types', 'node'];
  const outcome = await promisify(execFile)(process.execPath, [TSC, ...options, FILE]).then(
    () => ({ code: 0, stdout: '' }),
    (error: { code: number; stdout: string }) => error,
  );
  assert.notEqual(outcome.code, 0, 'tsc must fail on the mistakes file');
  const source = (await readFile(FILE, 'utf8')).split('\n');
  const expected = source.flatMap((line, index) => (line.includes('// ERROR:') ? [index + 1] : []));
  const reported = new Set(
    [...outcome.stdout.matchAll(/typed-queues\.ts\((\d+),\d+\): error TS\d+/g)].map((match) => Number(match[1])),
  );
  assert.deepEqual([...reported].sort((a, b) => a - b), expected, `tsc output:\n${outcome.stdout}`);
});
