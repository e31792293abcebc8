// The thin file-reading wrapper around the pure parser: reads the main file and include_dir
// directories from disk, then resolves defaults. The only module of src/config that touches fs.

import { readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { resolveConfig, type ResolveOptions } from './defaults.js';
import { parseConfig, type ConfigSource } from './parse.js';
import type { ConfigIssue, ConfigResult } from './types.js';

export interface LoadOptions extends ResolveOptions {
  /** Relative include_dir paths are relative to this directory (Mosquitto: the process cwd). */
  cwd?: string;
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ENOTDIR') return 'not a directory';
  return error instanceof Error ? error.message : String(error);
}

/** A ConfigSource over the real filesystem. */
export function fileSource(cwd: string = process.cwd()): ConfigSource {
  const full = (path: string): string => (isAbsolute(path) ? path : resolve(cwd, path));
  return {
    readFile(path) {
      try {
        return { text: readFileSync(full(path), 'utf8') };
      } catch (error) {
        return { error: describe(error) };
      }
    },
    listDir(path) {
      try {
        return { names: readdirSync(full(path)) };
      } catch (error) {
        return { error: describe(error) };
      }
    },
  };
}

/** Reads, parses and resolves a mosquitto.conf and its include_dir files. Never throws for bad input. */
export function loadConfigFile(file: string, options: LoadOptions = {}): ConfigResult {
  return resolveConfig(parseConfig(file, fileSource(options.cwd)), options);
}

/** `file:line: message`, or `file: message` for a problem with the file as a whole. */
export function formatIssue(issue: ConfigIssue): string {
  return issue.line > 0 ? `${issue.file}:${issue.line}: ${issue.message}` : `${issue.file}: ${issue.message}`;
}

/** Thrown by callers that want one exception for a configuration with errors. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}
