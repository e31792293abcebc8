// Real peers for tests: Debian's mosquitto and its clients, Python's paho-mqtt.
// A missing peer skips the test with a reason, or fails it when MQX_REQUIRE_PEERS=1 (CI).

import { spawnSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { TestContext } from 'node:test';
import { waitForOutput } from './process.js';

const PEER_PATHS: Record<string, string[]> = {
  mosquitto: ['/usr/sbin/mosquitto', 'mosquitto'],
  mosquitto_pub: ['/usr/bin/mosquitto_pub', 'mosquitto_pub'],
  mosquitto_sub: ['/usr/bin/mosquitto_sub', 'mosquitto_sub'],
  mosquitto_passwd: ['/usr/bin/mosquitto_passwd', 'mosquitto_passwd'],
  openssl: ['/usr/bin/openssl', 'openssl'],
};

const found = new Map<string, string | null>();

/** The path of a peer program, or null when it is not installed. */
export function peerPath(name: string): string | null {
  if (found.has(name)) return found.get(name)!;
  let path: string | null = null;
  if (name === 'paho') {
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import paho.mqtt.client'], { stdio: 'ignore' });
    path = probe.status === 0 ? '/usr/bin/python3' : null;
  } else {
    for (const candidate of PEER_PATHS[name] ?? [name]) {
      const probe = spawnSync('sh', ['-c', `command -v ${candidate}`], { encoding: 'utf8' });
      if (probe.status === 0 && probe.stdout.trim()) { path = probe.stdout.trim(); break; }
    }
  }
  found.set(name, path);
  return path;
}

export const peersRequired = process.env.MQX_REQUIRE_PEERS === '1';

/**
 * Returns true when every named peer is installed. Otherwise skips the test with the reason,
 * or throws (failing it) when MQX_REQUIRE_PEERS=1.
 */
export function havePeers(t: TestContext, ...names: string[]): boolean {
  const missing = names.filter((name) => peerPath(name) === null);
  if (missing.length === 0) return true;
  const reason = `peer not installed: ${missing.join(', ')} (apt-get install mosquitto mosquitto-clients python3-paho-mqtt)`;
  if (peersRequired) throw new Error(`${reason}; MQX_REQUIRE_PEERS=1 requires it`);
  t.skip(reason);
  return false;
}

/** A free TCP port on 127.0.0.1, for peers that cannot listen on port 0 themselves. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningMosquitto {
  port: number;
  dir: string;
  process: ChildProcess;
  /** Everything mosquitto logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts a broker on a free loopback port and resolves once it logs " running": `spawnOn(port)`
 * starts it with stderr piped. A port taken meanwhile (a broker without a config also listens
 * on ::1, which freePort() does not check) is retried up to 3 times; on failure it is killed.
 */
export async function spawnUntilRunning(name: string, spawnOn: (port: number) => ChildProcess, timeoutMs: number): Promise<{ port: number; child: ChildProcess; log(): string }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawnOn(port);
    let logged = '';
    child.stderr!.on('data', (chunk: Buffer) => { logged += chunk.toString(); });
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${logged}`))));
    exited.catch(() => undefined);
    try {
      await Promise.race([waitForOutput(child.stderr!, / running\b/, timeoutMs), exited]);
    } catch (error) {
      child.kill('SIGKILL');
      if (attempt < 3 && /Address already in use/.test(logged)) continue;
      throw error;
    }
    return { port, child, log: () => logged };
  }
}

/**
 * Starts Debian's mosquitto on a free loopback port with `extraConfig` appended
 * (anonymous allowed unless the extra config says otherwise; `log_type all` unless logTypes
 * names others). Resolves once it listens.
 */
export async function startMosquitto(extraConfig = '', options: { anonymous?: boolean; logTypes?: string[] } = {}): Promise<RunningMosquitto> {
  const binary = peerPath('mosquitto');
  if (!binary) throw new Error('mosquitto is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'mqx-mosquitto-'));
  const started = await spawnUntilRunning('mosquitto', (port) => {
    const config = [
      'user root',
      `listener ${port} 127.0.0.1`,
      `allow_anonymous ${options.anonymous === false ? 'false' : 'true'}`,
      'log_dest stderr',
      ...(options.logTypes ?? ['all']).map((type) => `log_type ${type}`),
      extraConfig,
    ].join('\n') + '\n';
    const configPath = join(dir, 'mosquitto.conf');
    writeFileSync(configPath, config);
    return spawn(binary, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  }, 10000);
  return running(started.port, dir, started.child, started.log);
}

/**
 * Starts `mosquitto ARGS -p PORT` without a config file (local only mode, log on stderr, e.g.
 * with -v) on a free port; resolves once it runs. `dir` is an empty temp dir, removed on stop.
 */
export async function startMosquittoArgs(args: string[]): Promise<RunningMosquitto> {
  const binary = peerPath('mosquitto');
  if (!binary) throw new Error('mosquitto is not installed');
  const started = await spawnUntilRunning('mosquitto', (port) => spawn(binary, [...args, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] }), 10000);
  return running(started.port, mkdtempSync(join(tmpdir(), 'mqx-mosquitto-')), started.child, started.log);
}

function running(port: number, dir: string, child: ChildProcess, log: () => string): RunningMosquitto {
  return {
    port,
    dir,
    process: child,
    log,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) { rmSync(dir, { recursive: true, force: true }); resolve(); return; }
      // A SIGTERM that lands while mosquitto is still setting up can be lost (seen: a test file
      // hung for its whole timeout with mosquitto alive), so it gets SIGKILL after a grace period.
      const force = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => { clearTimeout(force); rmSync(dir, { recursive: true, force: true }); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}
