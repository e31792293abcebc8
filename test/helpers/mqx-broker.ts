// Starts `mqx broker -c FILE` as a process with a real config file in a temp dir (PORT and DIR
// in the text are replaced), waits until it runs, and stops it by PID in t.after.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './peers.js';
import { spawnMqx, waitForOutput } from './process.js';

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
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const logging = /^log_(dest|type)/m.test(config) ? '' : 'log_dest stderr\nlog_type all\n';
    // As root the broker would drop to "mosquitto", which cannot read the test's temp files.
    const user = /^user /m.test(config) ? '' : 'user root\n';
    const configPath = join(dir, 'mosquitto.conf');
    writeFileSync(configPath, fill(`${logging}${user}${config}\n`, port, dir));
    const child = spawnMqx(['broker', '-c', configPath, ...(options.args ?? [])], { env: options.env });
    let logged = '';
    child.stderr!.on('data', (chunk: Buffer) => { logged += chunk.toString(); });
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`mqx broker exited (${code}): ${logged}`))));
    exited.catch(() => undefined);
    try {
      await Promise.race([waitForOutput(child.stderr!, / running\b/, 15000), exited]);
    } catch (error) {
      child.kill('SIGKILL');
      if (attempt < 3 && /Address already in use/.test(logged)) continue;
      throw error;
    }
    const stop = () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    t.after(stop);
    return {
      port,
      dir,
      configPath,
      child,
      log: () => logged,
      waitForLog: (pattern, timeoutMs = 10000) => new Promise<void>((resolve, reject) => {
        const matches = () => (typeof pattern === 'function' ? pattern(logged) : pattern.test(logged));
        if (matches()) { resolve(); return; }
        const onData = () => {
          if (!matches()) return;
          clearTimeout(timer);
          child.stderr!.off('data', onData);
          resolve();
        };
        const timer = setTimeout(() => {
          child.stderr!.off('data', onData);
          reject(new Error(`timed out waiting for ${String(pattern)} in the broker log:\n${logged}`));
        }, timeoutMs);
        child.stderr!.on('data', onData);
      }),
      stop,
    };
  }
}

/**
 * Starts `mqx broker ARGS -p PORT` without a config file (local only mode, log on stderr) on a
 * free port; resolves once it runs; stopped by PID in t.after if the test did not stop it.
 */
export async function startMqxBrokerArgs(t: TestContext, args: string[]): Promise<{ port: number; child: ChildProcess; log(): string; stop(): Promise<void> }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawnMqx(['broker', ...args, '-p', String(port)]);
    let logged = '';
    child.stderr!.on('data', (chunk: Buffer) => { logged += chunk.toString(); });
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`mqx broker exited (${code}): ${logged}`))));
    exited.catch(() => undefined);
    try {
      await Promise.race([waitForOutput(child.stderr!, / running\b/, 15000), exited]);
    } catch (error) {
      child.kill('SIGKILL');
      // Without a config it also listens on ::1, which freePort() did not check.
      if (attempt < 3 && /Address already in use/.test(logged)) continue;
      throw error;
    }
    const stop = () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    t.after(stop);
    return { port, child, log: () => logged, stop };
  }
}
