// Starts and stops the brokers under test as child processes pinned to one core, and reads their memory.
// Each broker is stopped by the PID this module started; nothing else is ever signalled.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on Linux everywhere in practice). */
const CLOCK_TICKS = 100;

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** The command line for each broker; `aedesPath` is the aedes package directory (outside the repo). */
function commandFor(kind, port, dir, options) {
  switch (kind) {
    case 'mqx':
    case 'mosquitto': {
      // Both read the same Mosquitto config file (mqx is a drop-in for it), so that both log and
      // listen alike. mosquittoExtra: extra lines for experiments (then logging stays on, to stderr).
      const config = join(dir, 'mosquitto.conf');
      const logging = options.mosquittoExtra ? '' : 'log_dest none\n';
      writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\n${logging}persistence false\n${options.mosquittoExtra ?? ''}`);
      // mqxNodeFlags: V8/node flags for experiments, e.g. ['--max-semi-space-size=1'].
      if (kind === 'mqx') return [process.execPath, ...(options.mqxNodeFlags ?? []), join(root, 'bin/mqx'), 'broker', '-c', config];
      return [options.mosquittoPath ?? '/usr/sbin/mosquitto', '-c', config];
    }
    case 'aedes':
      if (!options.aedesPath || !existsSync(join(options.aedesPath, 'aedes.js'))) {
        throw new Error('aedes not found: install it outside the repository (cd /tmp/aedes-bench && npm install aedes) and pass --aedes /tmp/aedes-bench/node_modules/aedes or AEDES_PATH');
      }
      return [process.execPath, join(root, 'bench/lib/aedes-server.mjs'), String(port)];
    case 'node-floor':
      return [process.execPath, join(root, 'bench/lib/node-floor-server.mjs'), String(port)];
    default:
      throw new Error(`unknown broker ${kind}`);
  }
}

/**
 * Starts `kind` ('mqx' | 'mosquitto' | 'aedes' | 'node-floor') on a free loopback port, pinned with
 * `taskset -c <core>`. Resolves once it accepts connections.
 */
export async function startBroker(kind, options = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `mqx-bench-${kind}-`));
  const command = commandFor(kind, port, dir, options);
  const core = String(options.core ?? 0);
  const child = spawn('taskset', ['-c', core, ...command], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, AEDES_PATH: options.aedesPath ?? process.env.AEDES_PATH ?? '' },
  });
  let stderr = '';
  child.stderr.on('data', (data) => { stderr = (stderr + data).slice(-4000); });
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => { exited = { code, signal }; resolve(exited); }));
  const deadline = Date.now() + 15000;
  while (!(await canConnect(port))) {
    if (exited) throw new Error(`${kind} exited before listening (${JSON.stringify(exited)}): ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} did not listen on ${port} within 15 s: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    kind,
    port,
    pid: child.pid,
    /** Whether the process is still alive (Aedes is known to crash under a QoS 0 flood). */
    get alive() { return exited === null; },
    get exitStatus() { return exited; },
    get stderr() { return stderr; },
    /** CPU seconds (user + system, all threads) the broker has used so far, from /proc. */
    cpuSeconds() {
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    },
    /** Resident set size in bytes, from /proc. */
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      return match ? Number(match[1]) * 1024 : NaN;
    },
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => { if (exited === null) child.kill('SIGKILL'); }, 5000);
        await exit;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
      return exited;
    },
  };
}
