// `mqx sub` as a user runs it against a real mosquitto: exits (-C -W -E), retained handling,
// -T -U --random-filter, refusals and their exit codes, bad flags, --json, SUBACK refusal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { havePeers, peerPath, startMosquitto, type RunningMosquitto } from '../helpers/peers.js';
import { collect, run, runMqx, spawnMqx, waitForOutput, type RunResult } from '../helpers/process.js';

let broker: RunningMosquitto | undefined;
let publisher: mqtt.MqttClient | undefined;

before(async () => {
  if (peerPath('mosquitto') === null) return;
  broker = await startMosquitto();
  publisher = await mqtt.connectAsync({ host: '127.0.0.1', port: broker.port, protocolVersion: 5, reconnectPeriod: 0 });
});
after(async () => {
  await publisher?.endAsync();
  await broker?.stop();
});

const port = () => String(broker!.port);
const publish = (topic: string, payload: string | Buffer, options: mqtt.IClientPublishOptions = {}) => publisher!.publishAsync(topic, payload, options);

/** Starts `mqx sub -d ...`, resolves once its SUBACK arrived, and the whole run when it exits. */
async function subscribed(args: string[], timeoutMs = 20000): Promise<{ exit: Promise<RunResult> }> {
  const child = spawnMqx(['sub', '-p', port(), '-d', ...args]);
  const exit = collect(child, timeoutMs);
  await waitForOutput(child.stdout!, /Subscribed \(mid: \d+\)/, 15000);
  // Wrapped: an async function returning a promise would wait for it (the process's exit).
  return { exit };
}

/** stdout without the -d trace lines. */
const printed = (result: RunResult) => result.stdout.toString().split('\n').filter((line) => line && !/^(Client |Subscribed \(mid|Received DISCONNECT)/.test(line));

test('-W: no message in time prints "Timed out" and exits 27, like mosquitto_sub', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub')) return;
  const [ours, theirs, quiet] = await Promise.all([
    runMqx(['sub', '-p', port(), '-t', 'quiet/topic', '-W', '1']),
    run(peerPath('mosquitto_sub')!, ['-p', port(), '-t', 'quiet/topic', '-W', '1']),
    runMqx(['sub', '-p', port(), '-t', 'quiet/topic', '-W', '1', '--quiet']),
  ]);
  assert.equal(theirs.code, 27);
  assert.equal(ours.code, 27);
  assert.equal(ours.stderr, 'Timed out\n');
  assert.equal(ours.stdout.length, 0);
  assert.equal(quiet.code, 27);
  assert.equal(quiet.stderr, '', '--quiet hides runtime errors');
});

test('-C: exits 0 after exactly that many messages', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const result = await subscribed(['-t', 'count/#', '-C', '3']);
  for (let i = 1; i <= 5; i++) await publish('count/x', `m${i}`);
  const done = await result.exit;
  assert.equal(done.code, 0);
  assert.deepEqual(printed(done), ['m1', 'm2', 'm3']);
});

test('-R: retained messages are not printed, live ones are', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  await publish('stale/a', 'old', { retain: true, qos: 1 });
  const result = await subscribed(['-t', 'stale/#', '-R', '-C', '1', '-v']);
  await publish('stale/a', 'new');
  const done = await result.exit;
  assert.equal(done.code, 0);
  assert.deepEqual(printed(done), ['stale/a new']);
});

test('--retained-only --remove-retained: prints and clears retained messages, stops at the first live one', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub')) return;
  await publish('clear/a', 'one', { retain: true, qos: 1 });
  await publish('clear/b', 'two', { retain: true, qos: 1 });
  const result = await subscribed(['-t', 'clear/#', '--retained-only', '--remove-retained', '-v']);
  await publish('clear/live', 'live');
  const done = await result.exit;
  assert.equal(done.code, 0);
  assert.deepEqual(printed(done).sort(), ['clear/a one', 'clear/b two']);
  // A fresh subscriber now gets nothing retained.
  const check = await run(peerPath('mosquitto_sub')!, ['-p', port(), '-t', 'clear/#', '-W', '1']);
  assert.equal(check.code, 27);
  assert.equal(check.stdout.length, 0);
});

test('-E: exits 0 once subscribed, without waiting for messages', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const result = await runMqx(['sub', '-p', port(), '-t', 'e/#', '-E']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout.length, 0);
});

test('-U: removes a subscription from a persistent session', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const session = ['-p', port(), '-c', '-i', 'mqx-sub-unsub-test', '-q', '1'];
  const created = await runMqx(['sub', ...session, '-t', 'unsub/a', '-t', 'unsub/b', '-E']);
  assert.equal(created.code, 0, created.stderr);
  const removed = await runMqx(['sub', ...session, '-t', 'unsub/b', '-U', 'unsub/a', '-E']);
  assert.equal(removed.code, 0, removed.stderr);
  await publish('unsub/a', 'should not be queued', { qos: 1 });
  await publish('unsub/b', 'queued', { qos: 1 });
  const result = await runMqx(['sub', ...session, '-t', 'unsub/b', '-W', '2', '-v']);
  assert.equal(result.code, 27, result.stderr);
  assert.equal(result.stdout.toString(), 'unsub/b queued\n');
});

test('-T: messages on filtered-out topics are skipped', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const result = await subscribed(['-t', 'filter/#', '-T', 'filter/skip/#', '-T', 'filter/+/noise', '-C', '1', '-v']);
  await publish('filter/skip/x', 'a');
  await publish('filter/y/noise', 'b');
  await publish('filter/keep', 'c');
  const done = await result.exit;
  assert.equal(done.code, 0);
  assert.deepEqual(printed(done), ['filter/keep c']);
});

test('--random-filter: 100 prints everything, 50 about half (each message still counts for -C)', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const total = 400;
  const all = await subscribed(['-t', 'random/all', '--random-filter', '100', '-C', '20']);
  const half = await subscribed(['-t', 'random/half', '--random-filter', '50', '-C', String(total)]);
  for (let i = 0; i < 20; i++) await publish('random/all', `a${i}`);
  for (let i = 0; i < total; i++) await publish('random/half', `h${i}`);
  const [allDone, halfDone] = await Promise.all([all.exit, half.exit]);
  assert.equal(allDone.code, 0);
  assert.equal(printed(allDone).length, 20);
  assert.equal(halfDone.code, 0);
  const kept = printed(halfDone).length;
  // Binomial(400, 0.5): mean 200, sd 10; 120..280 is 8 sd, so a fair coin never fails this.
  assert.ok(kept >= 120 && kept <= 280, `kept ${kept} of ${total}`);
});

test('refused CONNECT: same stderr and exit status as mosquitto_sub (3.1.1 and 5)', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub')) return;
  const closed = await startMosquitto('', { anonymous: false });
  t.after(() => closed.stop());
  for (const version of [[], ['-V', '5']]) {
    const args = ['-p', String(closed.port), '-t', 'x', ...version];
    const [ours, theirs] = await Promise.all([runMqx(['sub', ...args]), run(peerPath('mosquitto_sub')!, args)]);
    assert.equal(ours.code, theirs.code, `exit status with ${version.join(' ') || '3.1.1'}`);
    assert.equal(ours.stderr, theirs.stderr);
    assert.ok(ours.code === 5 || ours.code === 135);
  }
});

test('bad flags: one line, usage hint, exit 1, no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['sub', '--frobnicate', '-t', 'x'], /Unknown argument: frobnicate/],
    [['sub'], /^Error: You must specify a topic to subscribe to\.\n/],
    [['sub', '-t', 'x', '-F', '%c'], /^Error: Invalid format specifier 'c'\.\n/],
    [['sub', '-t', 'x', '-F', '%10'], /^Error: Incomplete format specifier\.\n/],
    [['sub', '-t', 'x', '-F', '\\q'], /^Error: Invalid escape specifier 'q'\.\n/],
    [['sub', '-t', 'a/#/b'], /^Error: Invalid subscription topic 'a\/#\/b', are all '\+' and '#' wildcards correct\?\n/],
    [['sub', '-t', 'x', '-C', '0'], /^Error: Invalid message count "0"\.\n/],
    [['sub', '-t', 'x', '-W', 'soon'], /^Error: Invalid timeout "0"\.\n/],
    [['sub', '-t', 'x', '--random-filter', '0'], /^Error: --random-filter chance must be between 0\.1-100\.0\n/],
    [['sub', '-t', 'x', '-R', '--retained-only'], /^Error: Combining '-R' and '--retained-only' makes no sense\.\n/],
  ];
  for (const [args, pattern] of cases) {
    const result = await runMqx(args);
    assert.equal(result.code, 1, args.join(' '));
    assert.match(result.stderr, pattern);
    assert.doesNotMatch(result.stderr, /at .*\.js:\d+/);
  }
});

test('--json: one parseable object per message with payload, encoding, properties and received_at', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const result = await subscribed(['-t', 'json/#', '-V', '5', '--json', '-C', '3']);
  await publish('json/text', 'héllo');
  await publish('json/binary', Buffer.from([0xff, 0x00, 0x01]), { qos: 1 });
  await publish('json/props', '{"a":1}', { properties: { contentType: 'application/json', userProperties: { k: 'v' } } });
  const done = await result.exit;
  assert.equal(done.code, 0);
  const lines = printed(done).map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines.length, 3);
  assert.deepEqual({ ...lines[0], received_at: undefined }, { topic: 'json/text', payload: 'héllo', qos: 0, retain: false, received_at: undefined });
  assert.equal(lines[1]!.encoding, 'base64');
  assert.deepEqual(Buffer.from(lines[1]!.payload as string, 'base64'), Buffer.from([0xff, 0x00, 0x01]));
  assert.deepEqual(lines[2]!.properties, { 'content-type': 'application/json', 'user-properties': { k: 'v' } });
  for (const line of lines) assert.ok(!Number.isNaN(Date.parse(line.received_at as string)));
});

test('colour never reaches a pipe, even with NO_COLOR unset', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const child = spawnMqx(['sub', '-p', port(), '-t', 'colour/#', '-v', '-C', '1', '-d'], { env: { NO_COLOR: '', FORCE_COLOR: '3' } });
  const result = collect(child, 20000);
  await waitForOutput(child.stdout!, /Subscribed/, 15000);
  await publish('colour/x', 'plain');
  const done = await result;
  assert.equal(done.code, 0);
  assert.ok(done.stdout.toString().includes('colour/x plain\n'));
  assert.ok(!done.stdout.includes(0x1b), 'no escape sequence in piped output');
});

test('a SUBACK refusing every filter prints mosquitto_sub\'s message and exits 0', async (t) => {
  if (!havePeers(t, 'mosquitto_sub')) return;
  // A minimal broker that accepts CONNECT and refuses every subscription (SUBACK 0x80).
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', (data) => {
      if (data[0] === 0x10) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
      const at = data.indexOf(0x82);
      if (data[0] === 0x82 || at > 0) {
        const start = data[0] === 0x82 ? 0 : at;
        socket.write(Buffer.from([0x90, 0x03, data[start + 2]!, data[start + 3]!, 0x80]));
      }
      if (data.includes(0xe0)) socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => { for (const socket of sockets) socket.destroy(); server.close(); });
  const fakePort = String((server.address() as { port: number }).port);
  const [ours, theirs] = await Promise.all([
    runMqx(['sub', '-p', fakePort, '-t', 'denied']),
    run(peerPath('mosquitto_sub')!, ['-p', fakePort, '-t', 'denied']),
  ]);
  assert.equal(theirs.stderr, 'All subscription requests were denied.\n');
  assert.equal(ours.stderr, theirs.stderr);
  assert.equal(ours.code, theirs.code);
  assert.equal(ours.code, 0);
});

test('a TTY gets the topic in colour; the payload bytes stay as sent', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const script = spawn('sh', ['-c', 'command -v script'], { stdio: 'ignore' });
  const found = await new Promise<number | null>((resolve) => script.on('exit', resolve));
  if (found !== 0) { t.skip('util-linux script(1) not installed'); return; }
  // script(1)'s pty has no size; give it one (a 0-column terminal makes ora's spinner loop forever).
  const command = `stty cols 80 rows 24; ${process.execPath} bin/mqx sub -p ${port()} -t tty/x -v -C 1 -W 10`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: new URL('../../../', import.meta.url), env: { ...process.env, NO_COLOR: '', TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const result = collect(child, 20000);
  // No readiness signal on a TTY without -d: publish retained so it arrives whenever subscribed.
  await publish('tty/x', 'payload', { retain: true, qos: 1 });
  const done = await result;
  await publish('tty/x', '', { retain: true, qos: 1 });
  assert.equal(done.code, 0);
  const text = done.stdout.toString();
  assert.match(text, /\x1b\[\d+mtty\/x\x1b\[\d+m payload/);
});

test('-W before any CONNACK: exit 255 without a message, like mosquitto_sub', async (t) => {
  if (!havePeers(t, 'mosquitto_sub')) return;
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => { sockets.add(socket); socket.on('error', () => {}); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => { for (const socket of sockets) socket.destroy(); silent.close(); });
  const silentPort = String((silent.address() as { port: number }).port);
  const [ours, theirs] = await Promise.all([
    runMqx(['sub', '-p', silentPort, '-t', 'x', '-W', '1'], { timeoutMs: 15000 }),
    run(peerPath('mosquitto_sub')!, ['-p', silentPort, '-t', 'x', '-W', '1'], { timeoutMs: 15000 }),
  ]);
  assert.equal(theirs.code, 255);
  assert.equal(ours.code, 255, ours.stderr);
  assert.equal(ours.stderr, theirs.stderr);
});

test('--retain-as-published (MQTT 5) keeps the retain flag of live messages, as mosquitto_sub', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const withOption = await subscribed(['-t', 'rap/with', '-V', '5', '--retain-as-published', '-F', '%r %p', '-C', '1']);
  const without = await subscribed(['-t', 'rap/without', '-V', '5', '-F', '%r %p', '-C', '1']);
  await publish('rap/with', 'live', { retain: true, qos: 1 });
  await publish('rap/without', 'live', { retain: true, qos: 1 });
  const [withDone, withoutDone] = await Promise.all([withOption.exit, without.exit]);
  await publish('rap/with', '', { retain: true, qos: 1 });
  await publish('rap/without', '', { retain: true, qos: 1 });
  assert.deepEqual(printed(withDone), ['1 live']);
  assert.deepEqual(printed(withoutDone), ['0 live']);
});

test('default options from $XDG_CONFIG_HOME/mqx_sub: the command line wins, -t adds up', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mqx-sub-defaults-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mqx_sub'), `# defaults\n-p ${port()}\n-v\n-t defaults/a\n-C 9\n`);
  const child = spawnMqx(['sub', '-d', '-t', 'defaults/b', '-C', '2'], { env: { XDG_CONFIG_HOME: dir } });
  const exit = collect(child, 20000);
  await waitForOutput(child.stdout!, /Subscribed \(mid: \d+\): 0, 0/, 15000);
  await publish('defaults/a', 'one');
  await publish('defaults/b', 'two');
  const done = await exit;
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual(printed(done), ['defaults/a one', 'defaults/b two']);
});
