// Cold start of `mqx pub -t t -m x -q 1` against a local mosquitto, beside mosquitto_pub and
// `node -e 0`, run interleaved N times. Prints medians and the ratio to `node -e 0` (target <= 2.0x).
// Usage: node bench/cold-start.mjs [runs=30]   (MQX_BIN=path overrides bin/mqx)

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib/brokers.mjs';

const runs = Math.max(3, Math.min(500, Number(process.argv[2] ?? 30)));
const root = fileURLToPath(new URL('..', import.meta.url));
const mqx = process.env.MQX_BIN ?? join(root, 'bin/mqx');


async function startMosquitto() {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-bench-'));
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
  const child = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('mosquitto did not start within 10 s')), 10_000);
    let log = '';
    child.stderr.on('data', (chunk) => {
      log += chunk;
      if (/ running\b/.test(log)) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', () => { clearTimeout(timer); reject(new Error(`mosquitto exited: ${log}`)); });
  });
  return { port, stop: () => { child.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); } };
}

function timeOnce(command, args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const broker = await startMosquitto();
try {
  const cases = {
    'node -e 0': [process.execPath, ['-e', '0']],
    'mqx pub -q 1': [process.execPath, [mqx, 'pub', '-p', String(broker.port), '-t', 't', '-m', 'x', '-q', '1']],
    'mosquitto_pub -q 1': ['mosquitto_pub', ['-p', String(broker.port), '-t', 't', '-m', 'x', '-q', '1']],
  };
  const times = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  // Warm the page cache; mqx's first run also writes its V8 code cache (bin/mqx), as any user's would.
  for (const [command, args] of Object.values(cases)) timeOnce(command, args);
  for (let run = 0; run < runs; run++) {
    for (const [name, [command, args]] of Object.entries(cases)) times[name].push(timeOnce(command, args));
  }
  const base = median(times['node -e 0']);
  console.log(`cold start, median of ${runs} interleaved runs`);
  for (const [name, values] of Object.entries(times)) {
    const value = median(values);
    console.log(`${name.padEnd(20)} ${value.toFixed(1).padStart(7)} ms   ${(value / base).toFixed(2)}x node -e 0`);
  }
} finally {
  broker.stop();
}
