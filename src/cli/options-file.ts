// mosquitto's default-options file under mqx's name ($XDG_CONFIG_HOME/mqx_pub, ~/.config/mqx_sub):
// reads and tokenizes it and merges it under the command line. Reads one file; never connects.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from './errors.js';

/** Where mosquitto looks for its default options, under mqx's own name (mqx_pub, mqx_sub). */
export function defaultOptionsPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, name);
  if (env.HOME) return join(env.HOME, '.config', name);
  return undefined;
}

/**
 * The flags of a default-options file as mosquitto reads it: one option per line, `#` starts a
 * comment line, the first space separates the flag from its value (the rest of the line).
 */
export function defaultOptionsTokens(text: string): string[] {
  const tokens: string[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/[\r\n]+$/, '');
    if (line.startsWith('#')) continue;
    const trimmedStart = line.replace(/^ +/, '');
    if (trimmedStart === '') continue;
    const space = trimmedStart.indexOf(' ');
    if (space < 0) {
      tokens.push(trimmedStart);
    } else {
      tokens.push(trimmedStart.slice(0, space));
      const value = trimmedStart.slice(space + 1).replace(/^ +/, '');
      if (value !== '') tokens.push(value);
    }
  }
  return tokens;
}

/**
 * Reads the command's default-options file (if there is one) and returns argv with its values
 * under the command line's: a flag given on the command line wins, -D properties from both count.
 * `build` must declare the same options as the command's builder.
 */
export async function applyDefaultOptionsFile(
  argv: Record<string, unknown>,
  name: string,
  build: (yargs: Argv) => Argv,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, unknown>> {
  const path = defaultOptionsPath(name, env);
  if (path === undefined) return argv;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return argv; // no file: nothing to merge, as mosquitto
  }
  const { default: yargs } = await import('yargs');
  let fileArgv: Record<string, unknown>;
  try {
    fileArgv = await build(yargs(defaultOptionsTokens(text)))
      .parserConfiguration({ 'short-option-groups': false, 'camel-case-expansion': true, 'duplicate-arguments-array': true })
      .strict()
      .help(false)
      .version(false)
      .exitProcess(false)
      .fail((message, error) => { throw error ?? new Error(message); })
      .parseAsync() as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`Error: in ${path}: ${(error as Error).message}`);
  }
  const merged: Record<string, unknown> = { ...argv };
  for (const [key, value] of Object.entries(fileArgv)) {
    if (key === '_' || key === '$0' || value === undefined) continue;
    if ((key === 'property' || key === 'D') && Array.isArray(argv[key])) {
      merged[key] = [...(value as unknown[]), ...(argv[key] as unknown[])];
    } else if (argv[key] === undefined) {
      merged[key] = value;
    }
  }
  return merged;
}
