// Starts `mqx broker -c FILE` as a process with a real config file in a temp dir (PORT and DIR
// in the text are replaced), waits until it runs, and stops it by PID in t.after.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { spawnUntilRunning } from './peers.js';
import { spawnMqx, waitForLog } from './process.js';

export interface RunningMqxBroker {
  port: number;
  dir: string;
  configPath: string;
  child: ChildProcess;
  /** Everything logged to stderr so far. */
  log(): string;
  /** Resolves once the whole log so far matches (a RegExp, or a test on the text). */
  waitForLog(pattern: RegExp | ((log: string) => boolean), timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function tempDir(t: TestContext, prefix = 'mqx-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Fills PORT / DIR placeholders. */
export function fill(text: string, port: number, dir: string): string {
  return text.replaceAll('PORT', String(port)).replaceAll('DIR', dir);
}

/**
 * Writes `config` (with `log_dest stderr`, `log_type all` and `user root` unless it sets them)
 * and starts mqx broker on it; resolves once it logs "running".
 */
export async function startMqxBroker(t: TestContext, config: string, options: { dir?: string; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<RunningMqxBroker> {
  const dir = options.dir ?? tempDir(t);
  const configPath = join(dir, 'mosquitto.conf');
  const { port, child, log } = await spawnUntilRunning('mqx broker', (port) => {
    const logging = /^log_(dest|type)/m.test(config) ? '' : 'log_dest stderr\nlog_type all\n';
    // As root the broker would drop to "mosquitto", which cannot read the test's temp files.
    const user = /^user /m.test(config) ? '' : 'user root\n';
    writeFileSync(configPath, fill(`${logging}${user}${config}\n`, port, dir));
    return spawnMqx(['broker', '-c', configPath, ...(options.args ?? [])], { env: options.env });
  }, 15000);
  const stop = stopOnExit(t, child);
  return {
    port,
    dir,
    configPath,
    child,
    log,
    waitForLog: (pattern, timeoutMs = 10000) => waitForLog(child, log, (text) => (typeof pattern === 'function' ? pattern(text) : pattern.test(text)),
      `${String(pattern)} in the broker log`, timeoutMs),
    stop,
  };
}

/**
 * Starts `mqx broker ARGS -p PORT` without a config file (local only mode, log on stderr) on a
 * free port; resolves once it runs; stopped by PID in t.after if the test did not stop it.
 */
export async function startMqxBrokerArgs(t: TestContext, args: string[]): Promise<{ port: number; child: ChildProcess; log(): string; stop(): Promise<void> }> {
  const { port, child, log } = await spawnUntilRunning('mqx broker', (port) => spawnMqx(['broker', ...args, '-p', String(port)]), 15000);
  return { port, child, log, stop: stopOnExit(t, child) };
}

/** SIGTERM by PID, resolved on exit; also run in t.after if the test did not stop it. */
function stopOnExit(t: TestContext, child: ChildProcess): () => Promise<void> {
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  t.after(stop);
  return stop;
}
