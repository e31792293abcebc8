// Unit tests of mqx bench's pure parts: placeholders, the payload header, sequence accounting,
// count splitting, compare medians, broker command parsing, flag validation, CSV and HTML output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandPlaceholders, hasPlaceholders } from '../../src/bench/placeholders.js';
import {
  HEADER_BYTES, FLAG_WARMUP, hasHeader, headerFlags, headerIntendedMs, headerPublisher, headerRun, headerSentMs, headerSequence,
  writeHeaderIdentity, writeHeaderMessage,
} from '../../src/bench/header.js';
import { SequenceTracker } from '../../src/bench/sequence.js';
import { splitCount } from '../../src/bench/run.js';
import { median, parseBrokerSpec, summarizeRuns } from '../../src/bench/compare.js';
import { commandArgs } from '../../src/bench/child-broker.js';
import { LatencyRecorder, summarize } from '../../src/bench/latency.js';
import { scenarioShape } from '../../src/bench/scenarios.js';
import { benchSettingsFromArgv } from '../../src/cli/bench-options.js';
import { csvHeader, csvRow, jsonSummary, verdictLines } from '../../src/cli/bench-report.js';
import { renderHtmlReport } from '../../src/cli/bench-html.js';
import { UsageError } from '../../src/cli/errors.js';
import type { BenchResult } from '../../src/bench/types.js';

test('placeholders: %i %c %u expand per client, %rand_N stays within 1..N', () => {
  assert.equal(expandPlaceholders('t/%i/%c/%u', { index: 7, clientId: 'pub_7', username: 'ann' }), 't/7/pub_7/ann');
  assert.equal(expandPlaceholders('t/%u', { index: 0, clientId: 'x' }), 't/');
  for (let i = 0; i < 50; i++) {
    const value = Number(expandPlaceholders('%rand_3', { index: 0, clientId: 'x' }));
    assert.ok(value >= 1 && value <= 3, `rand_3 gave ${value}`);
  }
  assert.equal(expandPlaceholders('%rand_10', { index: 0, clientId: 'x' }, () => 0.999), '10');
  assert.equal(hasPlaceholders('a/%i'), true);
  assert.equal(hasPlaceholders('a/b'), false);
  assert.equal(expandPlaceholders('100%/x', { index: 1, clientId: 'c' }), '100%/x');
});

test('header: identity, sequence and both times read back; other payloads are not mistaken for it', () => {
  const payload = Buffer.alloc(64, 0x61);
  writeHeaderIdentity(payload, 0, FLAG_WARMUP, 0xabcde, 42);
  writeHeaderMessage(payload, 0, 123456, 1700000000123.25, 1700000000100.5);
  assert.equal(hasHeader(payload, 0, payload.length), true);
  assert.equal(headerFlags(payload, 0), FLAG_WARMUP);
  assert.equal(headerRun(payload, 0), 0xabcde);
  assert.equal(headerPublisher(payload, 0), 42);
  assert.equal(headerSequence(payload, 0), 123456);
  assert.equal(headerSentMs(payload, 0), 1700000000123.25);
  assert.equal(headerIntendedMs(payload, 0), 1700000000100.5);
  assert.equal(hasHeader(Buffer.from('hello world, this is not a bench payload'), 0, 40), false);
  assert.equal(hasHeader(payload, 0, HEADER_BYTES - 1), false);
});

test('sequence tracker: duplicates, order violations and gaps are counted exactly', () => {
  const tracker = new SequenceTracker();
  for (const sequence of [0, 1, 2, 4, 3, 3, 7, 1]) tracker.see(5, 0, sequence);
  tracker.see(5, 1, 0);
  tracker.see(6, 0, 0); // another run: a separate publisher
  const totals = tracker.totals();
  assert.equal(totals.unique, 8); // 0 1 2 3 4 7 from (5,0), 0 from (5,1), 0 from (6,0)
  assert.equal(totals.duplicates, 2); // the second 3 and the second 1
  assert.equal(totals.reordered, 1); // 3 after 4
  assert.equal(totals.gaps, 2); // 5 and 6 never came
  assert.equal(totals.publishers, 3);
  assert.equal(tracker.uniqueFrom(5, 0), 6);
  assert.equal(tracker.unique, 8);
  tracker.see(5, 0, 100_000); // far ahead: the bitmap grows
  assert.equal(tracker.uniqueFrom(5, 0), 7);
});

test('--count is split evenly over publishers and capped by -L', () => {
  assert.deepEqual(splitCount(10, 3, Infinity), [4, 3, 3]);
  assert.deepEqual(splitCount(10, 3, 2), [2, 2, 2]);
  assert.deepEqual(splitCount(0, 2, 5), [5, 5]);
  assert.deepEqual(splitCount(0, 2, Infinity), [Infinity, Infinity]);
});

test('scenario shapes: p2p pairs, fan-in many to one, fan-out one to many', () => {
  assert.deepEqual(scenarioShape('p2p', 4), { publishers: 4, subscribers: 4, pubTopic: 'mqx/bench/%i', subTopic: 'mqx/bench/%i', describe: scenarioShape('p2p', 4).describe });
  assert.equal(scenarioShape('fan-in', 4).subscribers, 1);
  assert.equal(scenarioShape('fan-in', 4).subTopic, 'mqx/bench/+');
  assert.equal(scenarioShape('fan-out', 4).publishers, 1);
  assert.equal(scenarioShape('fan-out', 4, 'x').pubTopic, 'x/all');
});

test('latency recorder: raw and corrected differ at a fixed rate, summaries in ms, null when empty', () => {
  const recorder = new LatencyRecorder(true);
  recorder.record(1000, 999, 990); // 1 ms raw, 10 ms corrected
  const raw = summarize(recorder.raw);
  const corrected = summarize(recorder.corrected);
  assert.ok(Math.abs(raw.p50! - 1) < 0.01, `raw p50 ${raw.p50}`);
  assert.ok(Math.abs(corrected.p50! - 10) < 0.02, `corrected p50 ${corrected.p50}`);
  assert.equal(summarize(new LatencyRecorder().raw).p99, null);
  const fullSpeed = new LatencyRecorder(false);
  fullSpeed.record(1005, 1000, 1000);
  assert.equal(summarize(fullSpeed.corrected).p50, summarize(fullSpeed.raw).p50);
});

test('compare: broker specs, command splitting with {port}, medians and ratios', () => {
  assert.deepEqual(parseBrokerSpec('mqx=mqx broker -p {port}'), { name: 'mqx', command: 'mqx broker -p {port}' });
  assert.deepEqual(parseBrokerSpec('/usr/sbin/mosquitto -p {port}'), { name: 'mosquitto', command: '/usr/sbin/mosquitto -p {port}' });
  assert.deepEqual(commandArgs(`sh -c "exec x --port={port}" 'a b'`, 1234), ['sh', '-c', 'exec x --port=1234', 'a b']);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), null);
  const result = (rate: number, p99: number) => ({ received_per_s: rate, sent_per_s: rate, latency_ms: { p50: 1, p99 }, latency_corrected_ms: { p99 }, lost: 0, cpu_percent: 10 }) as unknown as BenchResult;
  const rows = summarizeRuns([{ name: 'a', command: '' }, { name: 'b', command: '' }], [
    { broker: 'a', repeat: 1, result: result(100, 2) }, { broker: 'b', repeat: 1, result: result(50, 4) },
    { broker: 'a', repeat: 2, result: result(300, 2) }, { broker: 'b', repeat: 2, result: result(150, 8) },
    { broker: 'a', repeat: 3, result: result(200, 2) }, { broker: 'b', repeat: 3, result: result(100, 6) },
  ]);
  assert.equal(rows[0]!.received_per_s, 200);
  assert.equal(rows[1]!.received_per_s, 100);
  assert.equal(rows[1]!.received_ratio, 0.5);
  assert.equal(rows[1]!.p99_ratio, 3);
});

function usageMessage(argv: Record<string, unknown>, mode?: string): string {
  try {
    benchSettingsFromArgv(argv, mode);
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
    return error.message;
  }
  assert.fail('expected the flags to be refused');
}

test('flags: impossible combinations are refused with a line naming the flag', () => {
  assert.match(usageMessage({ qos: '3' }), /Invalid QoS given: 3/);
  assert.match(usageMessage({ size: '16' }), /-s 16 is smaller than the 32-byte header/);
  assert.match(usageMessage({ clients: '0' }), /-c must be a whole number from 1/);
  assert.match(usageMessage({ topic: 'a/+' }, 'pub'), /Invalid publish topic/);
  assert.match(usageMessage({}, 'pub'), /needs a topic \(-t\)/);
  assert.match(usageMessage({ json: true, csv: true }), /choose one of --json, --csv/);
  assert.match(usageMessage({}, 'compare'), /compare needs at least one --broker/);
  assert.match(usageMessage({ broker: ['x=mosquitto -p 1883'] }, 'compare'), /must contain \{port\}/);
  assert.match(usageMessage({ duration: '-1' }), /--duration must be a number of seconds/);
  assert.match(usageMessage({}, 'flood'), /unknown bench mode 'flood'/);
});

test('flags: defaults follow emqtt-bench letters; -h a,b gives several hosts; a scenario defaults to QoS 1 at full speed', () => {
  const pub = benchSettingsFromArgv({ topic: 't/%i', host: 'a, b', clients: '5', 'pub-interval': '20', limit: '7' }, 'pub');
  assert.deepEqual(pub.hosts, ['a', 'b']);
  assert.equal(pub.clients, 5);
  assert.equal(pub.publishIntervalMs, 20);
  assert.equal(pub.limit, 7);
  assert.equal(pub.durationS, 0); // -L bounds the run
  assert.equal(pub.connection.qos, 0);
  const scenario = benchSettingsFromArgv({}, undefined);
  assert.equal(scenario.mode, 'scenario');
  assert.equal(scenario.connection.qos, 1);
  assert.equal(scenario.publishIntervalMs, 0);
  assert.equal(scenario.durationS, 10);
  assert.deepEqual(scenario.hosts, []);
  assert.equal(benchSettingsFromArgv({ ifaddr: '127.0.0.2,127.0.0.3' }, undefined).ifaddrs.length, 2);
});

function sampleResult(): BenchResult {
  const latency = { p50: 1.5, p90: 2, p99: 3, p999: 4, max: 5, mean: 1.6, count: 10 };
  return {
    mode: 'scenario', scenario: 'p2p', target: 'host, "quoted":1883', clients: 2, publishers: 1, subscribers: 1, qos: 1, size: 64,
    sent: 10, acked: 10, received: 9, expected: 10, lost: 1, duplicates: 0, out_of_order: 0, gaps: 0, duration_s: 1,
    sent_per_s: 10, received_per_s: 9, latency_kind: 'end-to-end', latency_ms: latency, latency_corrected_ms: latency,
    cpu_s: 0.95, cpu_percent: 95, cpu_bound: true, connections: { attempted: 2, succeeded: 2, failed: 0, per_s: 2 },
    errors: [], aborted: null, samples: [{ t: 1, sent: 10, received: 9, sent_per_s: 10, received_per_s: 9, inflight: 1, p99_ms: 3, connected: 2 }],
    distribution: [{ percentile: 50, ms: 1.5 }, { percentile: 99, ms: 3 }, { percentile: 100, ms: 5 }],
  };
}

test('CSV: header and row have the same columns, quoting survives commas and quotes', () => {
  const header = csvHeader().split(',');
  const row = csvRow(sampleResult());
  // A minimal CSV reader: quoted cells may hold commas and doubled quotes.
  const cells = [...row.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)].map((m) => m[1]!).slice(0, header.length);
  assert.equal(cells.length, header.length);
  assert.equal(cells[header.indexOf('target')], '"host, ""quoted"":1883"');
  assert.equal(cells[header.indexOf('lost')], '1');
  assert.equal(cells[header.indexOf('p99_ms')], '3');
});

test('JSON summary has the documented fields; verdict and CPU warning lines appear', () => {
  const json = jsonSummary(sampleResult());
  for (const field of ['mode', 'clients', 'sent', 'received', 'lost', 'duplicates', 'duration_s', 'sent_per_s', 'received_per_s', 'latency_ms', 'cpu_s', 'errors']) {
    assert.ok(field in json, `missing ${field}`);
  }
  assert.equal('samples' in json, false);
  const lines = verdictLines(sampleResult());
  assert.match(lines.join('\n'), /Verdict: 1 of 10 messages lost/);
  assert.match(lines.join('\n'), /Warning: mqx bench itself used 95% of a CPU core/);
});

test('HTML report is self-contained: inline SVG charts, no scripts, no external assets', () => {
  const html = renderHtmlReport({ kind: 'run', result: sampleResult() });
  assert.match(html, /^<!DOCTYPE html>/);
  assert.equal((html.match(/<svg /g) ?? []).length, 2); // throughput over time, latency distribution
  assert.doesNotMatch(html, /<script|<link|src=|url\(|href=/i);
  assert.match(html, /Throughput over time/);
  assert.match(html, /&quot;quoted&quot;/); // escaped
});
