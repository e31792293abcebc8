// mqx pub as a process against a real mosquitto: what mosquitto_sub receives (QoS, retain,
// stdin modes, MQTT 5 properties, Will), the -d trace, and bad input compared with mosquitto_pub.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { havePeers, peerPath, startMosquitto, type RunningMosquitto } from '../helpers/peers.js';
import { collect, run, runMqx, spawnMqx, waitForOutput, type RunResult } from '../helpers/process.js';

let broker: RunningMosquitto | undefined;
let dir: string;
let nextId = 0;

before(async () => {
  if (!peerPath('mosquitto') || !peerPath('mosquitto_sub') || !peerPath('mosquitto_pub')) return;
  broker = await startMosquitto();
  dir = mkdtempSync(join(tmpdir(), 'mqx-pub-'));
});

after(async () => {
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts mosquitto_sub; resolves (with its eventual result) once the broker acknowledged the subscription. */
async function subscribe(args: string[]): Promise<{ result: Promise<RunResult> }> {
  const id = `sub-${process.pid}-${nextId++}`;
  const subscribed = waitForOutput(broker!.process.stderr!, `Sending SUBACK to ${id}`, 10000);
  const child = spawn(peerPath('mosquitto_sub')!, ['-p', String(broker!.port), '-i', id, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = collect(child, 20000);
  await subscribed;
  return { result };
}

function pub(args: string[], input?: string | Buffer) {
  return runMqx(['pub', '-p', String(broker!.port), ...args], input === undefined ? {} : { input });
}

const lines = (result: RunResult) => result.stdout.toString().split('\n').filter((line) => line !== '');

test('mosquitto_sub receives what mqx pub sends at QoS 0, 1 and 2', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  const received = await subscribe(['-t', 'qos/#', '-q', '2', '-C', '3', '-F', '%t %q %p']);
  for (const qos of ['0', '1', '2']) {
    const result = await pub(['-q', qos, '-t', `qos/${qos}`, '-m', `at qos ${qos}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'nothing on stderr (no spinner off a terminal)');
  }
  assert.deepEqual(lines(await received.result), ['qos/0 0 at qos 0', 'qos/1 1 at qos 1', 'qos/2 2 at qos 2']);
});

test('-r retains; -r -n clears the retained message', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  assert.equal((await pub(['-r', '-t', 'keep/a', '-m', 'kept'])).code, 0);
  assert.equal((await pub(['-r', '-q', '1', '-t', 'keep/b', '-m', 'soon gone'])).code, 0);
  assert.equal((await pub(['-r', '-n', '-t', 'keep/b'])).code, 0);
  const received = await subscribe(['-t', 'keep/#', '-C', '1', '-F', '%r %t %p']);
  assert.deepEqual(lines(await received.result), ['1 keep/a kept']);
});

test('-l sends each stdin line on one connection; an empty line is a zero-length message', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  const received = await subscribe(['-t', 'lines', '-q', '1', '-C', '4', '-F', '%l:%p']);
  const result = await pub(['-l', '-q', '1', '-t', 'lines', '-d', '-i', 'liner'], 'one\n\nthree\r\nlast');
  assert.equal(result.code, 0, result.stderr);
  assert.equal(lines(result).filter((line) => line.endsWith('sending CONNECT')).length, 1);
  assert.deepEqual(lines(await received.result), ['3:one', '0:', '6:three\r', '4:last']);
});

test('-s, -f and -m keep bytes exact; --repeat publishes N times', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  const binary = Buffer.from([0, 1, 2, 0xff, 0x0a, 0xfe]);
  const file = join(dir, 'payload.bin');
  writeFileSync(file, binary);
  const received = await subscribe(['-t', 'bytes/#', '-C', '5', '-F', '%t %x']);
  assert.equal((await pub(['-t', 'bytes/s', '-s'], binary)).code, 0);
  assert.equal((await pub(['-t', 'bytes/f', '-f', file, '-q', '1'])).code, 0);
  assert.equal((await pub(['-t', 'bytes/m', '-m', 'héllo', '--repeat', '3', '--repeat-delay', '0.01'])).code, 0);
  assert.deepEqual(lines(await received.result), ['bytes/s 000102ff0afe', 'bytes/f 000102ff0afe', 'bytes/m 68c3a96c6c6f', 'bytes/m 68c3a96c6c6f', 'bytes/m 68c3a96c6c6f']);
});

test('MQTT 5 publish properties arrive at mosquitto_sub (-D publish ...)', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  const received = await subscribe(['-V', '5', '-t', 'props', '-C', '1', '-F', '%C|%R|%P|%F|%D|%p']);
  const result = await pub(['-t', 'props', '-m', 'body', '-q', '1',
    '-D', 'publish', 'content-type', 'text/plain',
    '-D', 'publish', 'response-topic', 'reply/here',
    '-D', 'PUBLISH', 'user-property', 'k', 'v',
    '-D', 'publish', 'payload-format-indicator', '1',
    '-D', 'publish', 'correlation-data', 'corr-1',
    '-D', 'connect', 'user-property', 'client', 'mqx']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(lines(await received.result), ['text/plain|reply/here|k:v|1|corr-1|body']);
});

test('the Will is set: mosquitto_sub gets it when mqx pub -l dies', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  const received = await subscribe(['-t', 'will/#', '-q', '1', '-C', '1', '-F', '%t %q %p']);
  const child = spawnMqx(['pub', '-p', String(broker!.port), '-t', 'will/x', '-l', '-d', '-i', 'dying',
    '--will-topic', 'will/gone', '--will-payload', 'bye', '--will-qos', '1', '--will-retain']);
  const done = collect(child, 20000);
  await waitForOutput(child.stdout!, 'received CONNACK (0)', 15000);
  child.kill('SIGKILL');
  await done;
  assert.deepEqual(lines(await received.result), ['will/gone 1 bye']);
  const retained = await subscribe(['-t', 'will/#', '-C', '1', '-F', '%r %t %p']);
  assert.deepEqual(lines(await retained.result), ['1 will/gone bye'], '--will-retain');
  await pub(['-r', '-n', '-t', 'will/gone']);
});

test('-d prints the same packet trace as mosquitto_pub -d', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  for (const args of [['-q', '1', '-i', 'tracer'], ['-q', '2', '-r', '-i', 'tracer'], ['-q', '0']]) {
    const common = ['-p', String(broker!.port), '-t', 'trace', '-m', 'xy', '-d', ...args];
    const [ours, theirs] = [await runMqx(['pub', ...common]), await run(peerPath('mosquitto_pub')!, common)];
    assert.equal(ours.code, theirs.code);
    assert.equal(ours.stdout.toString(), theirs.stdout.toString(), `mqx pub ${args.join(' ')}`);
  }
  // MQTT 5 with no client id: the broker assigns one, so compare with the id masked.
  const masked = (result: RunResult) => result.stdout.toString().replace(/auto-[0-9A-F-]+/g, 'auto-ID');
  const v5 = ['-p', String(broker!.port), '-t', 'trace', '-m', 'xy', '-d', '-q', '1', '-V', '5'];
  assert.equal(masked(await runMqx(['pub', ...v5])), masked(await run(peerPath('mosquitto_pub')!, v5)));
});

test('bad input: same exit status and first stderr line as mosquitto_pub', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  mkdirSync(join(dir, 'a-directory'), { recursive: true });
  const port = String(broker!.port);
  const cases: { name: string; args: string[]; input?: string }[] = [
    { name: 'missing -t', args: ['-p', port, '-m', 'x'] },
    { name: 'missing message', args: ['-p', port, '-t', 't'] },
    { name: 'QoS 3', args: ['-p', port, '-t', 't', '-m', 'x', '-q', '3'] },
    { name: 'wildcard topic', args: ['-p', port, '-t', 'a/+', '-m', 'x'] },
    { name: 'hash topic', args: ['-p', port, '-t', 'a/#', '-m', 'x'] },
    { name: 'malformed UTF-8 topic', args: ['-p', port, '-t', 'a\tb', '-m', 'x'] },
    { name: 'unreadable -f file', args: ['-p', port, '-t', 't', '-f', join(dir, 'missing')] },
    { name: 'unreachable host', args: ['-p', '1', '-t', 't', '-m', 'x'] },
    { name: 'unknown -D property', args: ['-p', port, '-t', 't', '-m', 'x', '-D', 'publish', 'foo', 'bar'] },
    { name: 'unknown -D command', args: ['-p', port, '-t', 't', '-m', 'x', '-D', 'foo', 'content-type', 'bar'] },
    { name: '-D property not allowed', args: ['-p', port, '-t', 't', '-m', 'x', '-D', 'connect', 'content-type', 'x'] },
    { name: '-D short', args: ['-p', port, '-t', 't', '-m', 'x', '-D', 'publish', 'user-property', 'k'] },
    { name: 'two message modes', args: ['-p', port, '-t', 't', '-m', 'x', '-n'] },
    { name: 'keepalive too small', args: ['-p', port, '-t', 't', '-m', 'x', '-k', '2'] },
    { name: '-c without id', args: ['-p', port, '-t', 't', '-m', 'x', '-c'] },
    { name: 'will payload without topic', args: ['-p', port, '-t', 't', '-m', 'x', '--will-payload', 'x'] },
    { name: 'bad URL scheme', args: ['-L', 'http://x/y', '-m', 'x'] },
    { name: 'bad protocol version', args: ['-p', port, '-t', 't', '-m', 'x', '-V', '6'] },
    { name: 'empty stdin with -s', args: ['-p', port, '-t', 't', '-s'], input: '' },
    { name: '--repeat 0', args: ['-p', port, '-t', 't', '-m', 'x', '--repeat', '0'] },
    { name: '-M 0', args: ['-p', port, '-t', 't', '-m', 'x', '-M', '0'] },
    { name: 'TLS against a plain port', args: ['-p', port, '-t', 't', '-m', 'x', '--tls-use-os-certs'] },
    { name: 'missing CA file', args: ['-p', port, '-t', 't', '-m', 'x', '--cafile', join(dir, 'missing.crt')] },
    { name: 'unix socket that does not exist', args: ['--unix', join(dir, 'no.sock'), '-t', 't', '-m', 'x'] },
  ];
  const first = (text: string) => text.split('\n')[0];
  const results = await Promise.all(cases.map(async ({ args, input }) => {
    const options = input === undefined ? {} : { input };
    return Promise.all([runMqx(['pub', ...args], options), run(peerPath('mosquitto_pub')!, args, options)]);
  }));
  cases.forEach(({ name }, index) => {
    const [ours, theirs] = results[index]!;
    assert.equal(ours.code, theirs.code, `${name}: exit status (mqx stderr: ${ours.stderr})`);
    assert.equal(first(ours.stderr), first(theirs.stderr), `${name}: first stderr line`);
    assert.doesNotMatch(ours.stderr, /at .*\.js:\d+/, `${name}: no stack trace`);
  });
});

test('connection flags reach the broker: -I, -k, -c, -V, -u, -A, --nodelay, -x', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  const logged = (pattern: RegExp) => waitForOutput(broker!.process.stderr!, pattern, 15000);
  const child = spawnMqx(['pub', '-p', String(broker!.port), '-I', 'prefix-', '-k', '30', '-V', '31', '-u', 'someone',
    '-A', '127.0.0.1', '--nodelay', '-t', 'flags', '-m', 'x']);
  const seen = logged(new RegExp(`as prefix-${child.pid} \\(p1, c1, k30, u'someone'\\)`));
  assert.equal((await collect(child, 20000)).code, 0);
  await seen;
  const persistent = logged(/as keep-me \(p5, c0, k60\)/);
  const result = await pub(['-i', 'keep-me', '-c', '-x', '60', '-V', '5', '-q', '1', '-t', 'flags', '-m', 'x']);
  assert.equal(result.code, 0, result.stderr);
  await persistent;
});

test('$XDG_CONFIG_HOME/mqx_pub supplies defaults; the command line wins', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  const config = join(dir, 'xdg');
  mkdirSync(config, { recursive: true });
  writeFileSync(join(config, 'mqx_pub'), `# mqx pub defaults\n-p ${broker!.port}\n-q 1\n-i from-file\n`);
  const env = { XDG_CONFIG_HOME: config };
  const fromFile = await runMqx(['pub', '-t', 'defaults', '-m', 'x', '-d'], { env });
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.match(fromFile.stdout.toString(), /^Client from-file sending PUBLISH \(d0, q1,/m);
  const overridden = await runMqx(['pub', '-t', 'defaults', '-m', 'x', '-d', '-q', '0', '-i', 'cli'], { env });
  assert.match(overridden.stdout.toString(), /^Client cli sending PUBLISH \(d0, q0,/m);
  writeFileSync(join(config, 'mqx_pub'), '--bogus 1\n');
  const bad = await runMqx(['pub', '-t', 'defaults', '-m', 'x'], { env });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /mqx_pub: Unknown argument: bogus/);
});

test('-d into a reader that goes away (| head -1) still publishes and exits 0', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  const received = await subscribe(['-t', 'epipe', '-C', '1', '-F', '%p']);
  const child = spawnMqx(['pub', '-p', String(broker!.port), '-d', '-q', '2', '-t', 'epipe', '-m', 'still sent']);
  child.stdout!.once('data', () => child.stdout!.destroy());
  const result = await collect(child, 20000);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.deepEqual(lines(await received.result), ['still sent']);
});

test('an unknown flag is one line naming it, exit 1', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const result = await pub(['-t', 't', '-m', 'x', '--frobnicate']);
  assert.equal(result.code, 1);
  assert.match(result.stderr.split('\n')[0]!, /frobnicate/);
});

test('--help lists the grouped options; `publish` is an alias', async () => {
  const result = await runMqx(['publish', '--help']);
  assert.equal(result.code, 0);
  const help = result.stdout.toString();
  for (const group of ['Connection:', 'Authentication:', 'Session:', 'Will:', 'TLS:', 'MQTT 5:', 'Publish:']) assert.match(help, new RegExp(`^${group}`, 'm'));
  assert.match(help, /-h, --host/);
});
