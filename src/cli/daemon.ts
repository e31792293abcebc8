// `mqx broker -d`: Node cannot fork, so the command re-runs itself detached and waits until the
// child says its listeners are bound (or why it failed), then returns, as `mosquitto -d` does.

import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { CliError } from './errors.js';

/** Set in the daemon child's environment; the value is the file descriptor to report on. */
const CHILD_ENV = 'MQX_DAEMON_CHILD';
const REPORT_FD = 3;

export function isDaemonChild(): boolean {
  return process.env[CHILD_ENV] === String(REPORT_FD);
}

/**
 * Starts this same command as a detached child (new session, stdin/stdout/stderr on
 * /dev/null) and resolves once it reports ready; rejects with its one-line error otherwise.
 */
export function daemonise(timeoutMs = 30_000): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [CHILD_ENV]: String(REPORT_FD) },
  });
  const report = child.stdio[REPORT_FD] as Readable;
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error: CliError | null) => {
      clearTimeout(timer);
      report.removeAllListeners();
      report.destroy();
      child.removeAllListeners('exit');
      if (error) { reject(error); return; }
      child.unref();
      resolve(child.pid ?? 0);
    };
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      finish(new CliError(`Error: the daemon did not report ready within ${timeoutMs / 1000} s.`, 1));
    }, timeoutMs);
    report.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (!text.includes('\n')) return;
      const line = text.slice(0, text.indexOf('\n'));
      finish(line === 'ready' ? null : new CliError(line.replace(/^error /, '').replace(/\\n/g, '\n'), 1));
    });
    child.once('error', (error) => finish(new CliError(`Error: cannot start the daemon: ${error.message}`, 1)));
    child.once('exit', (code) => finish(new CliError(text.trim() || `Error: the daemon exited with status ${code ?? 'unknown'} before it was ready.`, 1)));
  });
}

function send(line: string): void {
  try {
    writeSync(REPORT_FD, `${line}\n`);
    closeSync(REPORT_FD);
  } catch { /* the parent is gone: nobody to tell */ }
}

/** Child: listeners are bound, the parent may return. */
export function reportReady(): void {
  if (isDaemonChild()) send('ready');
}

/** Child: start-up failed; the parent prints this and exits 1. */
export function reportFailure(message: string): void {
  if (isDaemonChild()) send(`error ${message.replace(/\n/g, '\\n')}`);
}
