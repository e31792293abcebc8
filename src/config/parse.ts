// The mosquitto.conf parser core: walks the main file and its include_dir files line by line
// and collects every error. Pure: all file access goes through the ConfigSource it is given.

import { ParseContext } from './context.js';
import { includeOrder } from './include-order.js';
import { lookupOption, suggestOption } from './options.js';
import { readString, splitLines } from './syntax.js';
import type { ParseResult } from './types.js';

/** How the parser reaches files; load.ts provides the real one, tests an in-memory one. */
export interface ConfigSource {
  readFile(path: string): { text: string } | { error: string };
  listDir(path: string): { names: string[] } | { error: string };
}

/** Parses a configuration file and everything it includes. */
export function parseConfig(file: string, source: ConfigSource): ParseResult {
  const ctx = new ParseContext();
  const main = source.readFile(file);
  if ('error' in main) {
    ctx.errors.push({ file, line: 0, message: `cannot read configuration file: ${main.error}` });
  } else {
    parseFile(ctx, file, main.text, 0, source);
  }
  return { parsed: ctx.parsed, errors: ctx.errors, warnings: ctx.warnings };
}

const noFiles: ConfigSource = {
  readFile: () => ({ error: 'no file access' }),
  listDir: () => ({ error: 'no file access when parsing text' }),
};

/** Parses configuration text alone (include_dir then reports that it cannot be read). */
export function parseConfigText(text: string, file = 'mosquitto.conf', source: ConfigSource = noFiles): ParseResult {
  return parseConfig(file, { ...source, readFile: (path) => (path === file ? { text } : source.readFile(path)) });
}

function parseFile(ctx: ParseContext, file: string, text: string, level: number, source: ConfigSource): void {
  ctx.parsed.files.push(file);
  // conf.c keeps the current listener and bridge in locals of each file's read loop.
  ctx.file = file;
  ctx.level = level;
  ctx.listener = ctx.parsed.default_listener;
  ctx.bridge = null;
  const { lines, bad } = splitLines(text);
  const badByLine = new Map(bad.map((entry) => [entry.line, entry.message]));
  const all = [...lines.map((entry) => entry.line), ...badByLine.keys()].sort((a, b) => a - b);
  const byLine = new Map(lines.map((entry) => [entry.line, entry]));
  for (const line of all) {
    ctx.file = file;
    ctx.line = line;
    const problem = badByLine.get(line);
    if (problem !== undefined) {
      ctx.error(problem);
      continue;
    }
    const entry = byLine.get(line)!;
    if (entry.name === 'include_dir') {
      includeDir(ctx, entry.rest, source);
      continue;
    }
    const option = lookupOption(entry.name);
    if (!option) {
      const suggestion = suggestOption(entry.name);
      ctx.error(`unknown option "${entry.name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`);
      continue;
    }
    option.handle(ctx, entry.rest, entry.name);
  }
}

function includeDir(ctx: ParseContext, rest: string, source: ConfigSource): void {
  if (ctx.level > 0) {
    ctx.warn('include_dir is only read from the main configuration file (as in Mosquitto); ignored here');
    return;
  }
  const dir = ctx.take(readString('include_dir', rest));
  if (dir === undefined) return;
  const listing = source.listDir(dir);
  if ('error' in listing) {
    ctx.error(`cannot open include_dir "${dir}": ${listing.error}`);
    return;
  }
  const saved = { file: ctx.file, line: ctx.line, level: ctx.level, listener: ctx.listener, bridge: ctx.bridge };
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  for (const name of includeOrder(listing.names)) {
    const path = `${prefix}${name}`;
    const included = source.readFile(path);
    if ('error' in included) {
      ctx.errors.push({ file: path, line: 0, message: `cannot read configuration file: ${included.error}` });
      continue;
    }
    parseFile(ctx, path, included.text, saved.level + 1, source);
  }
  Object.assign(ctx, saved);
}
