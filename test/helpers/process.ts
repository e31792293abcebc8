// Run a program to completion with a time bound and collect what it printed.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const mqxBin = `${repoRoot}bin/mqx`;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Waits for the process to exit; kills it (by PID) if it outlives timeoutMs. */
export function collect(child: ChildProcess, timeoutMs = 20000): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process ${child.pid} (${child.spawnargs.join(' ')}) did not exit within ${timeoutMs} ms; stderr: ${Buffer.concat(err).toString()}`));
    }, timeoutMs);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
    });
  });
}

export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin?.on('error', () => {});
  if (options.input !== undefined) child.stdin?.end(options.input);
  else child.stdin?.end();
  return collect(child, options.timeoutMs);
}

/** Runs bin/mqx as a user would. */
export function runMqx(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [mqxBin, ...args], options);
}

/** Starts bin/mqx and returns the child (for long-running commands such as sub). */
export function spawnMqx(args: string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, [mqxBin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Resolves once `pattern` appears in the stream's text, or rejects after timeoutMs. */
export function waitForOutput(stream: NodeJS.ReadableStream, pattern: RegExp | string, timeoutMs = 10000): Promise<string> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; saw: ${seen}`));
    }, timeoutMs);
    function onData(chunk: Buffer | string) {
      seen += chunk.toString();
      const found = typeof pattern === 'string' ? seen.includes(pattern) : pattern.test(seen);
      if (found) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(seen);
      }
    }
    stream.on('data', onData);
  });
}

/**
 * Resolves once `matches(log())` holds, testing again on each chunk the child writes to stderr
 * (`log()` is everything it logged so far); rejects after timeoutMs with the log.
 */
export function waitForLog(child: ChildProcess, log: () => string, matches: (text: string) => boolean, what: string, timeoutMs = 10000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (matches(log())) { resolve(); return; }
    const onData = () => {
      if (!matches(log())) return;
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      resolve();
    };
    const timer = setTimeout(() => {
      child.stderr!.off('data', onData);
      reject(new Error(`timed out waiting for ${what}:\n${log()}`));
    }, timeoutMs);
    child.stderr!.on('data', onData);
  });
}
