// mqx pub over TLS (a CA and server certificate made with openssl for the test), WebSockets and a
// unix socket, each delivered to mosquitto_sub on the plain listener; TLS failures as mosquitto_pub.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, havePeers, peerPath, startMosquitto, type RunningMosquitto } from '../helpers/peers.js';
import { collect, run, runMqx, waitForOutput, type RunResult } from '../helpers/process.js';

let broker: RunningMosquitto | undefined;
let dir: string;
let tlsPort: number;
let wsPort: number;
let socketPath: string;

function openssl(args: string[]): void {
  const result = spawnSync(peerPath('openssl')!, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
}

before(async () => {
  if (!peerPath('mosquitto') || !peerPath('mosquitto_sub') || !peerPath('mosquitto_pub') || !peerPath('openssl')) return;
  dir = mkdtempSync(join(tmpdir(), 'mqx-pub-tls-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=mqx test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.cnf']);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=another CA']);
  mkdirSync(join(dir, 'cas'));
  copyFileSync(join(dir, 'ca.crt'), join(dir, 'cas', 'ca.crt'));
  tlsPort = await freePort();
  wsPort = await freePort();
  socketPath = join(dir, 'mosquitto.sock');
  broker = await startMosquitto([
    `listener ${tlsPort} 127.0.0.1`, `certfile ${join(dir, 'server.crt')}`, `keyfile ${join(dir, 'server.key')}`,
    `listener ${wsPort} 127.0.0.1`, 'protocol websockets',
    `listener 0 ${socketPath}`,
  ].join('\n'));
});

after(async () => {
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let nextId = 0;
async function subscribe(args: string[]): Promise<{ result: Promise<RunResult> }> {
  const id = `tls-sub-${process.pid}-${nextId++}`;
  const subscribed = waitForOutput(broker!.process.stderr!, `Sending SUBACK to ${id}`, 10000);
  const child = spawn(peerPath('mosquitto_sub')!, ['-p', String(broker!.port), '-i', id, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = collect(child, 20000);
  await subscribed;
  return { result };
}

const lines = (result: RunResult) => result.stdout.toString().split('\n').filter((line) => line !== '');
const ready = (t: import('node:test').TestContext) => havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'openssl');

test('--cafile verifies the broker certificate; --capath and --insecure work too', async (t) => {
  if (!ready(t)) return;
  const received = await subscribe(['-t', 'secure/#', '-C', '3', '-F', '%t %p']);
  const port = String(tlsPort);
  const byFile = await runMqx(['pub', '-h', 'localhost', '-p', port, '--cafile', join(dir, 'ca.crt'), '-q', '1', '-t', 'secure/file', '-m', 'a']);
  assert.equal(byFile.code, 0, byFile.stderr);
  const byPath = await runMqx(['pub', '-h', '127.0.0.1', '-p', port, '--capath', join(dir, 'cas'), '-t', 'secure/path', '-m', 'b']);
  assert.equal(byPath.code, 0, byPath.stderr);
  const insecure = await runMqx(['pub', '-h', '127.0.0.1', '-p', port, '--cafile', join(dir, 'ca.crt'), '--insecure', '--tls-version', 'tlsv1.2', '-t', 'secure/insecure', '-m', 'c']);
  assert.equal(insecure.code, 0, insecure.stderr);
  assert.deepEqual(lines(await received.result), ['secure/file a', 'secure/path b', 'secure/insecure c']);
});

test('a wrong CA or TLS to a plain port fails as mosquitto_pub does (exit 8); plain to TLS is exit 7', async (t) => {
  if (!ready(t)) return;
  // A certificate from an unknown CA: mosquitto_pub 2.0.11 itself answers either way, depending on
  // whether the handshake fails inside its connect call (exit 1) or in its loop (exit 8).
  const wrongCa = ['-p', String(tlsPort), '--cafile', join(dir, 'other.crt'), '-t', 't', '-m', 'x'];
  const [oursCa, theirsCa] = await Promise.all([runMqx(['pub', ...wrongCa]), run(peerPath('mosquitto_pub')!, wrongCa)]);
  const mosquittoOutcomes = ['8 Error: A TLS error occurred.\n', '1 Unable to connect (A TLS error occurred.).\n'];
  assert.ok(mosquittoOutcomes.includes(`${theirsCa.code} ${theirsCa.stderr}`), `mosquitto_pub: ${theirsCa.code} ${theirsCa.stderr}`);
  assert.equal(`${oursCa.code} ${oursCa.stderr}`, mosquittoOutcomes[0]);
  const cases = [
    ['-p', String(broker!.port), '--cafile', join(dir, 'ca.crt'), '-t', 't', '-m', 'x'],
    ['-p', String(tlsPort), '-t', 't', '-m', 'x'],
  ];
  for (const args of cases) {
    const [ours, theirs] = await Promise.all([runMqx(['pub', ...args]), run(peerPath('mosquitto_pub')!, args)]);
    assert.equal(ours.code, theirs.code, `${args.join(' ')}: ${ours.stderr}`);
    assert.equal(ours.stderr, theirs.stderr, args.join(' '));
  }
});

test('-L ws://host:port/topic publishes over WebSockets', async (t) => {
  if (!ready(t)) return;
  const received = await subscribe(['-t', 'over/ws', '-q', '1', '-C', '1', '-F', '%t %q %p']);
  const result = await runMqx(['pub', '-L', `ws://127.0.0.1:${wsPort}/over/ws`, '-q', '1', '-m', 'hello ws']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(lines(await received.result), ['over/ws 1 hello ws']);
});

test('--unix publishes through a unix socket', async (t) => {
  if (!ready(t)) return;
  const received = await subscribe(['-t', 'over/unix', '-C', '1', '-F', '%t %p']);
  const result = await runMqx(['pub', '--unix', socketPath, '-t', 'over/unix', '-m', 'hello unix']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(lines(await received.result), ['over/unix hello unix']);
});
