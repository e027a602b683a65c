/** The task of the task-limits study, loaded by each worker thread of the task server. */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Wait `seconds` (asynchronously: the worker thread is idle, as a process sleeping in Python is),
 * then read the whole input (one byte in every 64, so every cache line and page of it is loaded)
 * and return a fresh `outputBytes`-byte Buffer whose every byte is written.
 */
export async function target(data: Uint8Array, outputBytes: number, seconds: number): Promise<Uint8Array> {
  await sleep(seconds * 1000);
  let sum = data.length;
  for (let i = 0; i < data.length; i += 64) sum = (sum + data[i]!) & 0xff;
  return Buffer.alloc(outputBytes, sum);
}
