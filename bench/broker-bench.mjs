// Broker benchmarks of issue 3, side by side: mqx broker, Debian's mosquitto and Aedes, each started as a
// process pinned to core 0 while this load generator runs on core 1; prints rates, latencies, memory and ratios.
//
// Usage: npm run build && node bench/broker-bench.mjs [--scenarios fanin,fanout,latency,idle]
//          [--brokers mqx,mosquitto,aedes[,node-floor]] [--seconds 5] [--aedes /tmp/aedes-bench/node_modules/aedes]
//          [--idle-count 10000] [--idle-warmup 2000] [--idle-concurrency 100] [--rate 5000] [--repeat 1] [--mqx-node-flags '--max-semi-space-size=1'] [--json]
// --repeat N runs every case N times per broker, interleaved, and prints the median with the range:
// on a shared machine single runs of the latency tails and the connect rate vary by 2x or more.
// Aedes is never a dependency of mqx: install it elsewhere (mkdir /tmp/aedes-bench && cd /tmp/aedes-bench
// && npm install aedes) and pass its package directory with --aedes or AEDES_PATH.
// node-floor (idle scenario only) is a bare Node net server answering CONNACK: what a connection costs on net.Socket.
// The connect rate is measured twice: into a freshly started broker (a restart storm: mqx's JIT is cold)
// and after --idle-warmup connections came and went (as the other scenarios measure after a warm-up
// second; 0 skips that row). --idle-concurrency sets the handshakes in flight (default 100, which is
// Mosquitto's listen backlog: from about 300 in flight, its dropped SYNs wait a second to be retried).

import { startBroker } from './lib/brokers.mjs';
import { eachFlag, pinnedOptions } from './lib/pinned.mjs';
import { fanIn, fanOut, latency, idleConnections } from './lib/scenarios.mjs';

function parseArgs(argv) {
  const options = {
    scenarios: ['fanin', 'fanout', 'latency', 'idle'], brokers: ['mqx', 'mosquitto', 'aedes'], seconds: 5,
    aedesPath: process.env.AEDES_PATH ?? '/tmp/aedes-bench/node_modules/aedes', idleCount: 10000, idleWarmup: 2000, idleConcurrency: 100, rate: 5000, repeat: 1, json: false,
  };
  eachFlag(argv, (flag, value) => {
    if (flag === '--scenarios') options.scenarios = value().split(',');
    else if (flag === '--brokers') options.brokers = value().split(',');
    else if (flag === '--seconds') options.seconds = Math.max(1, Math.min(60, Number(value())));
    else if (flag === '--aedes') options.aedesPath = value();
    else if (flag === '--idle-count') options.idleCount = Math.max(1, Math.min(15000, Number(value())));
    else if (flag === '--idle-warmup') {
      const count = Number(value());
      if (!Number.isInteger(count) || count < 0 || count > 15000) throw new Error('--idle-warmup needs a whole number from 0 to 15000');
      options.idleWarmup = count;
    }
    else if (flag === '--idle-concurrency') {
      const count = Number(value());
      if (!Number.isInteger(count) || count < 1 || count > 2000) throw new Error('--idle-concurrency needs a whole number from 1 to 2000');
      options.idleConcurrency = count;
    }
    else if (flag === '--rate') options.rate = Math.max(1, Math.min(50000, Number(value())));
    else if (flag === '--repeat') options.repeat = Math.max(1, Math.min(15, Math.floor(Number(value())) || 1));
    else if (flag === '--mqx-node-flags') options.mqxNodeFlags = value().split(' ').filter(Boolean);
    else if (flag === '--json') options.json = true;
    else throw new Error(`unknown option ${flag}`);
  });
  for (const name of options.scenarios) {
    if (!['fanin', 'fanout', 'latency', 'idle'].includes(name)) throw new Error(`unknown scenario ${name}`);
  }
  return options;
}

const options = pinnedOptions(import.meta.url, parseArgs);

/** Each case: what to run, what to print, and the issue's targets as ratios mqx/other. */
const cases = [];
const seconds = options.seconds;
if (options.scenarios.includes('fanin')) {
  for (const qos of [1, 0]) {
    for (const payloadBytes of [16, 1024]) {
      cases.push({
        name: `fan-in QoS ${qos} ${payloadBytes === 16 ? '16 B' : '1 KiB'} (msg/s)`,
        run: (broker) => fanIn(broker, { qos, payloadBytes, seconds }),
        value: (r) => r.messagesPerSecond,
        extra: (r) => `lost ${r.lost} of ${r.sent}`,
        higherIsBetter: true,
        target: qos === 1 ? { mosquitto: 1.0, aedes: 2.0 } : { mosquitto: 1.0 },
      });
    }
  }
}
if (options.scenarios.includes('fanout')) {
  cases.push({
    name: 'fan-out 1->100 QoS 0 16 B (deliveries/s)',
    run: (broker) => fanOut(broker, { seconds }),
    value: (r) => r.deliveriesPerSecond,
    extra: (r) => `lost ${r.lost}`,
    higherIsBetter: true,
    target: { mosquitto: 1.0, aedes: 2.0 },
  });
}
if (options.scenarios.includes('latency')) {
  for (const [label, key, limit] of [['p50', 'p50', null], ['p99', 'p99', 1.5], ['p99.9', 'p999', 2.0]]) {
    cases.push({
      name: `latency ${label} at ${options.rate}/s QoS 0 (µs)`,
      shared: 'latency',
      run: (broker) => latency(broker, { rate: options.rate, seconds: Math.max(seconds, 5) }),
      value: (r) => r[key],
      extra: (r) => (key === 'p50' ? `${r.samples} samples, max ${r.max} µs` : ''),
      higherIsBetter: false,
      target: limit === null ? {} : { mosquitto: limit },
    });
  }
}
if (options.scenarios.includes('idle')) {
  cases.push({
    name: `${options.idleCount} idle connections into a fresh broker: connect rate (conn/s)`,
    shared: 'idle',
    run: (broker) => idleConnections(broker, { count: options.idleCount, concurrency: options.idleConcurrency }),
    value: (r) => r.connectionsPerSecond,
    extra: idleExtra,
    higherIsBetter: true,
    target: { mosquitto: 1.0 },
  });
  if (options.idleWarmup > 0) cases.push({
    name: `${options.idleCount} idle connections after ${options.idleWarmup} came and went: connect rate (conn/s)`,
    shared: 'idle-warm',
    run: (broker) => idleConnections(broker, { count: options.idleCount, concurrency: options.idleConcurrency, warmupConnections: options.idleWarmup }),
    value: (r) => r.connectionsPerSecond,
    extra: idleExtra,
    higherIsBetter: true,
    target: { mosquitto: 1.0 },
  });
  cases.push({
    name: `${options.idleCount} idle connections: memory (KiB/conn)`,
    shared: 'idle',
    run: null,
    value: (r) => r.bytesPerConnection / 1024,
    extra: (r) => `RSS ${(r.rssBefore / 1048576).toFixed(1)} -> ${(r.rssAfter / 1048576).toFixed(1)} MiB`,
    higherIsBetter: false,
    target: { absolute: 4 },
  });
}

/**
 * Near 100% generator CPU, the generator (not the broker) set the rate of that run; broker pauses
 * are the share of the run in which every handshake in flight waited on the broker (its garbage
 * collections and compilations on its one core), leaving the generator idle.
 */
function idleExtra(r) {
  return `load generator CPU ${(r.generatorShare * 100).toFixed(0)}%, broker pauses ${(r.stallShare * 100).toFixed(1)}%`;
}

const results = []; // {case, broker, value, extra, error}
if (!options.json) {
  const load = (await import('node:os')).loadavg().map((n) => n.toFixed(2)).join(' ');
  console.log(`brokers on core 0, load generator on core 1; load average before: ${load} (other work on the cores skews wall-clock rates; per CPU-s figures less so)`);
}
const sharedRuns = new Map(); // "latency:mqx" -> result, so p50/p99/p99.9 come from one run

async function runCase(testCase, kind, round) {
  const key = testCase.shared ? `${testCase.shared}:${kind}:${round}` : null;
  if (key && sharedRuns.has(key)) return sharedRuns.get(key);
  const runner = testCase.run ?? cases.find((c) => c.shared === testCase.shared && c.run).run;
  // The previous run's garbage (10,000 closed clients) is collected now, not during this run.
  globalThis.gc?.();
  let broker;
  // One retry: a concurrent `npm run build` rewriting dist/ can break a start-up import.
  for (let attempt = 1; broker === undefined; attempt++) {
    try {
      broker = await startBroker(kind, { aedesPath: options.aedesPath, core: 0, mqxNodeFlags: options.mqxNodeFlags });
    } catch (error) {
      if (attempt < 2) { await new Promise((resolve) => setTimeout(resolve, 3000)); continue; }
      const failed = { error: `could not start: ${error.message.split('\n')[0]}` };
      if (key) sharedRuns.set(key, failed);
      return failed;
    }
  }
  let outcome;
  try {
    outcome = { result: await withTimeout(runner(broker), (seconds + 60) * 1000) };
    if (!broker.alive) outcome = { error: `broker died (${JSON.stringify(broker.exitStatus)}): ${broker.stderr.trim().split('\n').slice(-1)[0] ?? ''}` };
  } catch (error) {
    outcome = { error: broker.alive ? error.message : `broker died (${JSON.stringify(broker.exitStatus)}): ${broker.stderr.trim().split('\n').slice(-1)[0] ?? ''}` };
  } finally {
    await broker.stop();
  }
  if (key) sharedRuns.set(key, outcome);
  return outcome;
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s`)), ms); })])
    .finally(() => clearTimeout(timer));
}

const format = (value) => (value >= 1000 ? Math.round(value).toLocaleString('en-US') : value.toFixed(value >= 100 ? 0 : 2));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

for (const testCase of cases) {
  const row = { name: testCase.name, values: {}, extras: {}, errors: {}, perCpu: {}, rounds: {} };
  const runs = Object.fromEntries(options.brokers.map((kind) => [kind, []]));
  // Rounds interleave the brokers, so that a slow minute on the machine hits all of them.
  for (let round = 0; round < options.repeat; round++) {
    for (const kind of options.brokers) {
      if (kind === 'node-floor' && !testCase.shared?.startsWith('idle')) continue; // it speaks no MQTT beyond CONNACK
      const outcome = await runCase(testCase, kind, round);
      if (outcome.error) { row.errors[kind] = outcome.error; continue; }
      runs[kind].push(outcome.result);
      (row.rounds[kind] ??= [])[round] = testCase.value(outcome.result);
    }
  }
  for (const kind of options.brokers) {
    const done = runs[kind];
    if (row.errors[kind] || done.length === 0) continue;
    const values = done.map((result) => testCase.value(result));
    const value = median(values);
    // The extras (losses, samples) of the run whose value is nearest the median.
    const nearest = done[values.reduce((best, v, i) => (Math.abs(v - value) < Math.abs(values[best] - value) ? i : best), 0)];
    row.values[kind] = value;
    row.extras[kind] = testCase.extra(nearest);
    if (done.length > 1) {
      const range = `median of ${done.length}, range ${format(Math.min(...values))}-${format(Math.max(...values))}`;
      row.extras[kind] = row.extras[kind] ? `${row.extras[kind]}; ${range}` : range;
    }
    // Per broker CPU-second: comparable even when other work shares the broker's core.
    if (testCase.run !== null && testCase.shared !== 'latency' && done.every((result) => Number.isFinite(result.perCpuSecond))) {
      row.perCpu[kind] = median(done.map((result) => result.perCpuSecond));
      const share = median(done.map((result) => result.cpuShare));
      row.extras[kind] = `${row.extras[kind] ? `${row.extras[kind]}; ` : ''}${format(row.perCpu[kind])} per broker CPU-s, broker CPU ${(share * 100).toFixed(0)}%`;
    }
  }
  results.push({ ...row, testCase });
  if (!options.json) printRow(row, testCase);
}

/**
 * The ratio within each round (runs minutes apart see different machine speeds; one round's
 * runs follow each other): its spread shows how far a single pair of runs can be trusted.
 */
function roundSpread(row, other) {
  const mine = row.rounds.mqx ?? [];
  const theirs = row.rounds[other] ?? [];
  const ratios = mine.flatMap((value, round) => (value !== undefined && theirs[round] ? [value / theirs[round]] : []));
  if (ratios.length < 2) return '';
  return `; round by round ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}x`;
}

function printRow(row, testCase) {
  console.log(`\n${row.name}`);
  for (const kind of options.brokers) {
    if (kind === 'node-floor' && row.values[kind] === undefined && !row.errors[kind]) continue;
    if (row.errors[kind]) console.log(`  ${kind.padEnd(10)} FAILED: ${row.errors[kind]}`);
    else console.log(`  ${kind.padEnd(10)} ${format(row.values[kind]).padStart(12)}  ${row.extras[kind] ?? ''}`);
  }
  const mqx = row.values.mqx;
  if (mqx === undefined) return;
  for (const other of options.brokers.filter((k) => k !== 'mqx')) {
    const value = row.values[other];
    if (value === undefined || value === 0) continue;
    const ratio = mqx / value;
    const limit = testCase.target[other];
    let verdict = '';
    if (limit !== undefined) {
      const ok = testCase.higherIsBetter ? ratio >= limit : ratio <= limit;
      verdict = `  (target ${testCase.higherIsBetter ? '>=' : '<='} ${limit}x: ${ok ? 'met' : 'NOT met'})`;
    }
    const perCpu = row.perCpu.mqx !== undefined && row.perCpu[other] ? `; per CPU-s ${(row.perCpu.mqx / row.perCpu[other]).toFixed(2)}x` : '';
    console.log(`  mqx/${other.padEnd(9)} ${ratio.toFixed(2)}x${verdict}${perCpu}${roundSpread(row, other)}`);
  }
  if (testCase.target.absolute !== undefined) {
    console.log(`  mqx target <= ${testCase.target.absolute}: ${mqx <= testCase.target.absolute ? 'met' : 'NOT met'}`);
  }
}

if (options.json) {
  console.log(JSON.stringify(results.map(({ name, values, extras, errors, perCpu, rounds }) => ({ name, values, perCpu, rounds, extras, errors })), null, 2));
}
