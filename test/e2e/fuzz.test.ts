// A short run of scripts/fuzz.mjs (npm run fuzz runs it longer): mutated packets of every type and
// version and random bytes over real sockets; no crash, no error, heap bounded, control client served.
// Fixed seeds keep `npm test` reproducible; `npm run fuzz` explores new seeds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, repoRoot } from '../helpers/process.js';

test('fuzz: 3 seconds of mutated and random packets leave the broker serving, without errors or leaks', async () => {
  const result = await run(process.execPath, ['--expose-gc', `${repoRoot}scripts/fuzz.mjs`, '--seconds', '3', '--seed', '20261123', '--json'], { cwd: repoRoot });
  assert.equal(result.code, 0, `fuzz failed: ${result.stdout}${result.stderr}`);
  const report = JSON.parse(String(result.stdout).trim().split('\n').pop()!) as { packets: number; connections: number; controlRoundTrips: number; errors: string[]; seed: number };
  assert.deepEqual(report.errors, [], `seed ${report.seed}`);
  assert.ok(report.packets > 1000, `only ${report.packets} packets sent`);
  assert.ok(report.connections > 50, `only ${report.connections} connections`);
  assert.ok(report.controlRoundTrips >= 2, 'the control client was served during the run');
});

test('fuzz with persistence on: hostile clients cannot break the store or the broker', async () => {
  const result = await run(process.execPath, ['--expose-gc', `${repoRoot}scripts/fuzz.mjs`, '--seconds', '2', '--seed', '6', '--persistence', '--json'], { cwd: repoRoot });
  assert.equal(result.code, 0, `fuzz failed: ${result.stdout}${result.stderr}`);
  const report = JSON.parse(String(result.stdout).trim().split('\n').pop()!) as { packets: number; errors: string[]; seed: number };
  assert.deepEqual(report.errors, [], `seed ${report.seed}`);
  assert.ok(report.packets > 500, `only ${report.packets} packets sent`);
});

test('fuzz: --count bounds the run and --seed makes it reproducible', async () => {
  const once = await run(process.execPath, [`${repoRoot}scripts/fuzz.mjs`, '--count', '300', '--seed', '7', '--concurrency', '1', '--json'], { cwd: repoRoot });
  assert.equal(once.code, 0, once.stderr);
  const report = JSON.parse(String(once.stdout).trim().split('\n').pop()!) as { packets: number; seed: number };
  assert.equal(report.seed, 7);
  assert.ok(report.packets >= 300 && report.packets <= 301, `sent ${report.packets}`);
  const bad = await run(process.execPath, [`${repoRoot}scripts/fuzz.mjs`, '--seconds', 'soon'], { cwd: repoRoot });
  assert.equal(bad.code, 2);
  assert.match(String(bad.stderr), /--seconds needs a number/);
});
