/**
 * How every `colmena` command reports a problem: one line saying what went wrong (and what to do),
 * then where to read more — never the whole help. Usage errors exit with 2, as Unix tools do;
 * failures of the work itself with 1.
 */
import { readFileSync } from 'node:fs';
import type { Command, CommanderError } from 'commander';

/** Exit code of a command line that could not be understood (unknown option, missing argument…). */
export const USAGE_EXIT_CODE = 2;

/** Commander's codes for output the user asked for, which are not errors. */
const NOT_ERRORS = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version', 'commander.executeSubCommandAsync']);

/** The installed package's version (src/cli and dist/cli both sit two folders below package.json). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

/** `colmena report` for a subcommand, `colmena` for the program itself. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Give `command` and every subcommand registered so far the one-line error and the exit codes.
 * Call it once every command is registered.
 */
export function applyCliManners(command: Command): void {
  const path = commandPath(command);
  command.configureOutput({
    outputError: (text, write) => write(`${text.trimEnd()}\nsee '${path} --help'\n`),
  });
  command.exitOverride((error: CommanderError) => {
    // program.error(message, { exitCode }) keeps its own code; a parse error is a usage error.
    const exitCode = NOT_ERRORS.has(error.code) || error.code === 'commander.error' ? error.exitCode : USAGE_EXIT_CODE;
    process.exit(exitCode);
  });
  for (const sub of command.commands) applyCliManners(sub);
}
