// How long one persistence compaction stalls the broker's event loop: N retained messages in
// the store (in-process broker, no clients), then one compaction (as SIGUSR1 starts it), with a
// 1 ms timer measuring the longest gap between event-loop turns meanwhile.
//
// Usage: npm run build && node bench/compaction-stall.mjs [--retained 100000] [--payload 100]

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroker } from '../dist/src/broker/broker.js';

const args = process.argv.slice(2);
const value = (name, fallback) => { const i = args.indexOf(`--${name}`); return i < 0 ? fallback : args[i + 1]; };
const count = Math.max(1, Math.min(2_000_000, Number(value('retained', '100000'))));
const payloadSize = Math.max(0, Math.min(1_000_000, Number(value('payload', '100'))));
const turn = () => new Promise((resolve) => setImmediate(resolve));

const dir = mkdtempSync(join(tmpdir(), 'mqx-compaction-'));
const lines = [];
const broker = createBroker({
  persistence: true, persistence_location: dir, autosave_interval: 0, sys_interval: 0, listeners: [],
  logger: { log: (_type, message) => lines.push(message) },
});
try {
  await broker.listen();
  const store = broker.persistence;
  const payload = Buffer.alloc(payloadSize, 'x');
  for (let i = 0; i < count; i++) {
    broker.publish(`r/${i}`, payload, { retain: true, qos: 0 });
    if (i % 5000 === 0) await turn();
  }
  // Let the last commit and any growth-triggered compaction of the filling phase finish first.
  do await new Promise((resolve) => setTimeout(resolve, 50)); while (store.compacting);
  const before = statSync(store.path).size;
  let longest = 0;
  let last = performance.now();
  const ticker = setInterval(() => { const now = performance.now(); longest = Math.max(longest, now - last); last = now; }, 1);
  await new Promise((resolve) => setTimeout(resolve, 50));
  longest = 0;
  last = performance.now();
  const started = performance.now();
  if (!store.compact()) throw new Error('a compaction is already running');
  while (store.compacting) await turn();
  const elapsed = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(ticker);
  console.log(`${count} retained messages of ${payloadSize} bytes: store ${before} -> ${statSync(store.path).size} bytes; compaction took ${elapsed.toFixed(0)} ms, longest event-loop stall ${longest.toFixed(1)} ms`);
} finally {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
}
