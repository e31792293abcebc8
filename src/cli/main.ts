// The yargs root: picks the subcommand, loads only its module, runs it, and is the one place
// that prints errors and sets the exit status (STYLE habit 12). A command handler returns on
// success and throws a CliError carrying the exit status otherwise.

import yargs from 'yargs';
import type { Argv } from 'yargs';
import { commands, findCommand } from './commands.js';
import { CliError, UsageError } from './errors.js';
import { mqxVersion } from './version.js';

const EPILOG = 'Run `mqx <command> --help` for the options of a command, `man mqx-<command>` for details.';

/**
 * yargs renders a command's whole help text on every run in case it is needed later; main.ts
 * prints help only for --help (which renders it afresh), so skipping the cache saves start-up time.
 */
function skipHelpCache(parser: Argv): void {
  const internal = (parser as unknown as { getInternalMethods?: () => { getUsageInstance(): { cacheHelpMessage?: () => void } } }).getInternalMethods?.();
  const usage = internal?.getUsageInstance();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/** Writes `mqx: message` (and a usage hint) and returns the exit status for an error. */
function report(error: unknown, commandName: string | undefined): number {
  const where = commandName ? `mqx ${commandName}` : 'mqx';
  if (error instanceof CliError) {
    if (error.message) process.stderr.write(`${error.message}\n`);
    if (error.showUsage) process.stderr.write(`Run '${where} --help' for usage.\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Error: ${message}\n`);
  return 1;
}

async function buildParser(args: string[], commandName: string | undefined): Promise<Argv> {
  let parser = yargs(args)
    .scriptName('mqx')
    .usage('Usage: mqx <command> [options]')
    .strict()
    .help('help')
    .version('version', 'print the mqx version', mqxVersion())
    .parserConfiguration({ 'short-option-groups': false, 'camel-case-expansion': true, 'duplicate-arguments-array': true })
    .completion('completion', 'print a bash/zsh completion script')
    .epilog(EPILOG)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new UsageError(`Error: ${message}`);
    });
  const entry = findCommand(commandName);
  if (entry) {
    const { command } = await entry.load();
    const build = command.builder;
    const builder = (inner: Argv) => {
      skipHelpCache(inner);
      return (typeof build === 'function' ? build(inner) : inner.options(build ?? {})) as Argv;
    };
    parser = parser.command({ ...command, builder, aliases: entry.aliases });
  } else {
    // Top-level help, completion or an unknown command: list every command without loading any.
    for (const listed of commands) {
      parser = parser.command([listed.name, ...(listed.aliases ?? [])], listed.describe, () => {}, () => {
        throw new UsageError(`Error: could not load command '${listed.name}'.`);
      });
    }
    parser = parser.demandCommand(1, 'Error: a command is required.');
  }
  return parser;
}

export async function main(args: string[]): Promise<number> {
  const commandName = args.find((arg) => !arg.startsWith('-'));
  try {
    if (commandName !== undefined && commandName !== 'completion' && !findCommand(commandName) && args[0] === commandName) {
      throw new UsageError(`Error: unknown command '${commandName}'.`);
    }
    const parser = await buildParser(args, findCommand(commandName)?.name);
    await parser.parseAsync();
    return 0;
  } catch (error) {
    return report(error, findCommand(commandName)?.name);
  }
}

process.exitCode = await main(process.argv.slice(2));
