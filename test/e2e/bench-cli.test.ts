// `mqx bench` as a user runs it, against Debian's mosquitto and against the mqx broker it starts:
// JSON / CSV output that parses with exact counts, compare with two brokers, bad input, a dying broker.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, havePeers, startMosquitto } from '../helpers/peers.js';
import { collect, runMqx, spawnMqx, waitForOutput } from '../helpers/process.js';
import { makeCertificates } from '../helpers/tls-certs.js';

function json(stdout: Buffer): Record<string, any> {
  const lines = stdout.toString().trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

test('scenario against mosquitto at QoS 1: --json parses, sent = received, nothing lost', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const mosquitto = await startMosquitto();
  t.after(() => mosquitto.stop());
  const run = await runMqx(['bench', '-h', '127.0.0.1', '-p', String(mosquitto.port), '--scenario', 'p2p', '-c', '2', '-q', '1', '--count', '2000', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const result = json(run.stdout);
  assert.equal(result.mode, 'scenario');
  assert.equal(result.sent, 2000);
  assert.equal(result.received, 2000);
  assert.equal(result.lost, 0);
  assert.equal(result.duplicates, 0);
  assert.equal(result.clients, 4);
  assert.ok(result.latency_ms.p50 > 0 && result.latency_ms.p99 < 30_000);
  assert.ok(typeof result.cpu_s === 'number' && typeof result.duration_s === 'number');
  assert.deepEqual(result.errors, []);
});

test('pub then sub modes against mosquitto: QoS 2 counts are exact, CSV parses', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const mosquitto = await startMosquitto();
  t.after(() => mosquitto.stop());
  const port = String(mosquitto.port);
  const sub = spawnMqx(['bench', 'sub', '-h', '127.0.0.1', '-p', port, '-c', '1', '-q', '2', '-t', 'csv/#', '--count', '600', '--duration', '20', '--csv']);
  const subDone = collect(sub, 30000);
  // The subscription exists once mosquitto logs it.
  await waitForOutput(mosquitto.process.stderr!, /csv\/# \(QoS 2\)|Sending SUBACK/, 10000);
  const pub = await runMqx(['bench', 'pub', '-h', '127.0.0.1', '-p', port, '-c', '3', '-I', '0', '-q', '2', '-L', '200', '-t', 'csv/%i', '--json']);
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal(json(pub.stdout).sent, 600);
  assert.equal(json(pub.stdout).acked, 600);
  assert.equal(json(pub.stdout).latency_kind, 'pubcomp');
  const subRun = await subDone;
  assert.equal(subRun.code, 0, subRun.stderr);
  const [header, row, extra] = subRun.stdout.toString().trim().split('\n');
  assert.equal(extra, undefined);
  const columns = header!.split(',');
  const cells = row!.split(',');
  assert.equal(cells.length, columns.length);
  const value = (name: string) => cells[columns.indexOf(name)];
  assert.equal(value('mode'), 'sub');
  assert.equal(value('received'), '600');
  assert.equal(value('duplicates'), '0');
  assert.ok(Number(value('p50_ms')) > 0);
});

test('no -h: the scenario starts an mqx broker itself and measures it; text output has a summary table', async () => {
  const run = await runMqx(['bench', '-c', '1', '--count', '300']);
  assert.equal(run.code, 0, run.stderr);
  const text = run.stdout.toString();
  assert.match(text, /scenario p2p against mqx \(started on port \d+\)/);
  assert.match(text, /received\t300 \(/);
  assert.match(text, /lost \/ duplicates \/ out of order\t0 \/ 0 \/ 0/);
  assert.match(text, /bench CPU\t/);
});

test('compare runs two brokers interleaved and prints both with ratios; --html writes a self-contained report', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mqx-bench-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const report = join(dir, 'report.html');
  const run = await runMqx(['bench', 'compare', '--broker', 'mqx=mqx broker -p {port}', '--broker', 'mosquitto=mosquitto -p {port}',
    '--repeat', '1', '-c', '1', '--count', '300', '--html', report], { timeoutMs: 60000 });
  assert.equal(run.code, 0, run.stderr);
  const text = run.stdout.toString();
  assert.match(text, /^mqx\t1\t[\d,]+\t1\.00x/m);
  assert.match(text, /^mosquitto\t1\t[\d,]+\t[\d.]+x/m);
  assert.match(text, /Medians over 1 interleaved run per broker; ratios against mqx\./);
  const html = readFileSync(report, 'utf8');
  assert.match(html, /<svg /);
  assert.match(html, /mosquitto/);
  assert.doesNotMatch(html, /<script|src=|href=/i);
});

test('bad input: QoS 3, a payload smaller than the header, -c 0: one line, exit 1, nothing run', async () => {
  for (const [args, message] of [
    [['-q', '3'], /^Error: Invalid QoS given: 3$/m],
    [['-s', '8'], /^Error: -s 8 is smaller than the 32-byte header/m],
    [['-c', '0'], /^Error: -c must be a whole number from 1 to 1000000, not '0'\.$/m],
  ] as const) {
    const run = await runMqx(['bench', ...args]);
    assert.equal(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /\n\s+at /); // no stack trace
    assert.equal(run.stdout.length, 0);
  }
});

test('a refused connection: a clear line, the partial summary, exit 1', async () => {
  const port = await freePort();
  const run = await runMqx(['bench', 'pub', '-h', '127.0.0.1', '-p', String(port), '-t', 'x', '--duration', '2']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^Error: could not connect: connection refused\.$/m);
  assert.match(run.stdout.toString(), /errors\tconnection refused/);
});

test('a broker that dies mid-run: partial results, "connection lost", exit 1', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const mosquitto = await startMosquitto();
  t.after(() => mosquitto.stop());
  const child = spawnMqx(['bench', '-h', '127.0.0.1', '-p', String(mosquitto.port), '-c', '1', '-I', '5', '--duration', '20', '--json-lines']);
  const done = collect(child, 30000);
  await waitForOutput(child.stdout!, /"type":"sample"/, 10000);
  await mosquitto.stop();
  const run = await done;
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^Error: connection lost: .+\.$/m);
  const summary = json(run.stdout);
  assert.equal(summary.type, 'summary');
  assert.ok(summary.sent > 0);
  assert.match(summary.aborted, /connection lost/);
});

test('over TLS: --cafile against a mosquitto TLS listener gives exact counts; plain MQTT to the TLS port fails without a stack trace', async (t) => {
  if (!havePeers(t, 'mosquitto', 'openssl')) return;
  const certs = makeCertificates();
  t.after(() => certs.remove());
  const mosquitto = await startMosquitto(`certfile ${certs.serverCert}\nkeyfile ${certs.serverKey}\n`);
  t.after(() => mosquitto.stop());
  const port = String(mosquitto.port);
  const run = await runMqx(['bench', '-h', '127.0.0.1', '-p', port, '--cafile', certs.caCert, '--scenario', 'p2p', '-c', '1', '-q', '1', '--count', '300', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const result = json(run.stdout);
  assert.equal(result.sent, 300);
  assert.equal(result.received, 300);
  assert.equal(result.lost, 0);
  const plain = await runMqx(['bench', 'pub', '-h', '127.0.0.1', '-p', port, '-c', '1', '--count', '10', '--json']);
  assert.notEqual(plain.code, 0, 'plain MQTT to a TLS port must fail');
  assert.doesNotMatch(plain.stderr, /\n\s+at /, 'no stack trace');
});
