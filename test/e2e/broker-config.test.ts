// `mqx broker -c FILE` as a process with real config files: --test-config, the Debian and
// example configs, -d with pid_file and user, logging options, bad input, SIGUSR1.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { freePort, havePeers } from '../helpers/peers.js';
import { makeCertificates } from '../helpers/tls-certs.js';
import { repoRoot, runMqx, spawnMqx, waitForOutput } from '../helpers/process.js';
import { startMqxBroker, tempDir } from '../helpers/mqx-broker.js';
import { connectClient } from '../helpers/mqttjs.js';

const fixtures = join(repoRoot, 'test/fixtures/config');

/** An MQTT.js client; rejects when the broker refuses it or closes the connection before CONNACK. */
function client(t: TestContext, port: number, options: IClientOptions = {}): Promise<MqttClient> {
  return connectClient(t, `mqtt://127.0.0.1:${port}`, options);
}

/** Stops a daemon we started, by its PID, and waits until it is gone. */
async function stopPid(pid: number): Promise<void> {
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  for (let i = 0; i < 200; i++) {
    try { process.kill(pid, 0); } catch { return; }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  process.kill(pid, 'SIGKILL');
}

test('--test-config: a good file exits 0; a bad one exits 1 listing every error with file:line', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'good.conf'), 'listener 1883\nallow_anonymous true\n');
  const good = await runMqx(['broker', '--test-config', '-c', join(dir, 'good.conf')]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout.toString(), /configuration OK/);
  writeFileSync(join(dir, 'bad.conf'), 'listener 1883\nmax_keepalive 5\nno_such_option 1\npassword_file /nonexistent/passwd\n');
  const bad = await runMqx(['broker', '--test-config', '-c', join(dir, 'bad.conf')]);
  assert.equal(bad.code, 1);
  const lines = bad.stderr.trim().split('\n');
  assert.ok(lines.some((line) => line.startsWith(`${join(dir, 'bad.conf')}:2: `)), bad.stderr);
  assert.ok(lines.some((line) => line.startsWith(`${join(dir, 'bad.conf')}:3: `)), bad.stderr);
  assert.ok(lines.some((line) => /bad\.conf:4: cannot read password file \/nonexistent\/passwd: no such file/.test(line)), bad.stderr);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});

test('the example mosquitto.conf Mosquitto ships (all comments) loads unchanged and the broker starts', async (t) => {
  const example = join(fixtures, 'example-mosquitto.conf');
  const checked = await runMqx(['broker', '--test-config', '-c', example]);
  assert.equal(checked.code, 0, checked.stderr);
  const port = await freePort();
  // No listener in it: local only mode on -p's port, logging to stderr.
  const child = spawnMqx(['broker', '-c', example, '-p', String(port)]);
  t.after(() => { if (child.exitCode === null) child.kill('SIGTERM'); });
  await waitForOutput(child.stderr!, / running\b/, 15000);
  const c = await client(t, port, { clientId: 'example' });
  assert.equal(c.connected, true);
});

test("Debian's /etc/mosquitto/mosquitto.conf (pid_file, persistence, log_dest file, include_dir) runs with -d", async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'conf.d'));
  copyFileSync(join(fixtures, 'debian-conf.d/README'), join(dir, 'conf.d/README'));
  writeFileSync(join(dir, 'conf.d/10-local.conf'), '# a local file, as users add them\nmax_queued_messages 500\n');
  // Only the system paths are rewritten to the temp dir; every option is as Debian ships it.
  const text = readFileSync(join(fixtures, 'debian-mosquitto.conf'), 'utf8')
    .replace('/run/mosquitto/', `${dir}/`).replace('/var/lib/mosquitto/', `${dir}/`)
    .replace('/var/log/mosquitto/', `${dir}/`).replace('/etc/mosquitto/conf.d', `${dir}/conf.d`);
  writeFileSync(join(dir, 'mosquitto.conf'), text);
  const port = await freePort();
  const run = await runMqx(['broker', '-c', join(dir, 'mosquitto.conf'), '-p', String(port), '-d'], { timeoutMs: 20000 });
  assert.equal(run.code, 0, run.stderr);
  const pid = Number(readFileSync(join(dir, 'mosquitto.pid'), 'utf8').trim());
  assert.ok(pid > 0);
  t.after(() => stopPid(pid));
  const c = await client(t, port, { clientId: 'debian' });
  assert.equal(c.connected, true);
  const log = readFileSync(join(dir, 'mosquitto.log'), 'utf8');
  assert.match(log, /^\d+: mqx version \S+ starting$/m);
  assert.match(log, /running$/m);
  if (process.geteuid?.() === 0) {
    // Started as root with no `user` line: drops to "mosquitto" as Mosquitto does.
    const uid = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1];
    assert.notEqual(uid, '0');
  }
  await stopPid(pid);
  assert.match(readFileSync(join(dir, 'mosquitto.log'), 'utf8'), /terminating$/m);
  // `persistence true` + `persistence_location` took effect: the store is where Debian puts it.
  assert.ok(existsSync(join(dir, 'mosquitto.db')), 'persistence store written to persistence_location');
});

test('bad input stops start-up with one line and exit 1: port in use, missing file, key not matching the certificate', async (t) => {
  const dir = tempDir(t);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const busy = (server.address() as { port: number }).port;
  writeFileSync(join(dir, 'busy.conf'), `listener ${busy} 127.0.0.1\nallow_anonymous true\n`);
  const inUse = await runMqx(['broker', '-c', join(dir, 'busy.conf')]);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, new RegExp(`Address already in use \\(port ${busy}\\)`));
  writeFileSync(join(dir, 'acl.conf'), `listener ${busy + 1} 127.0.0.1\nacl_file ${dir}/missing.acl\n`);
  const missing = await runMqx(['broker', '-c', join(dir, 'acl.conf')]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), `${join(dir, 'acl.conf')}:2: cannot read ACL file ${dir}/missing.acl: no such file`);
  if (havePeers(t, 'openssl')) {
    const certs = makeCertificates();
    t.after(() => certs.remove());
    const conf = join(dir, 'tls.conf');
    writeFileSync(conf, `listener ${busy + 2} 127.0.0.1\ncertfile ${certs.serverCert}\nkeyfile ${certs.otherKey}\n`);
    const mismatch = await runMqx(['broker', '-c', conf]);
    assert.equal(mismatch.code, 1);
    assert.equal(mismatch.stderr.trim(), `${conf}:3: keyfile ${certs.otherKey} does not match certfile ${certs.serverCert}`);
  }
  const noConfig = await runMqx(['broker', '-c', join(dir, 'nope.conf')]);
  assert.equal(noConfig.code, 1);
  assert.match(noConfig.stderr, /nope\.conf/);
});

test('log_dest file, log_type, log_timestamp_format, connection_messages false; SIGUSR1 logs a state summary', async (t) => {
  const dir = tempDir(t);
  const broker = await startMqxBroker(t, [
    'listener PORT 127.0.0.1', 'allow_anonymous true',
    'log_dest file DIR/mqx.log', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information', 'log_type subscribe',
    'log_timestamp_format %Y-%m-%dT%H:%M:%S', 'connection_messages false',
  ].join('\n'), { dir });
  const c = await client(t, broker.port, { clientId: 'logged' });
  await c.subscribeAsync('log/#');
  await broker.waitForLog(/logged 0 log\/#/);
  broker.child.kill('SIGUSR1');
  await broker.waitForLog(/State: 1 clients connected/);
  const file = readFileSync(join(dir, 'mqx.log'), 'utf8');
  assert.match(file, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: mqx version \S+ running$/m);
  assert.match(file, /: logged 0 log\/#$/m);
  assert.doesNotMatch(file, /New client connected|New connection from/, 'connection_messages false');
  assert.equal(existsSync(join(dir, 'mqx.log')), true);
});

test('user: a broker started as root drops to the configured user; an unknown user is refused', async (t) => {
  if (process.geteuid?.() !== 0) { t.skip('needs root'); return; }
  const dir = tempDir(t);
  writeFileSync(join(dir, 'bad-user.conf'), 'listener 0 ' + join(dir, 'x.sock') + '\nuser no-such-user-mqx\n');
  const bad = await runMqx(['broker', '-c', join(dir, 'bad-user.conf')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Error: Unable to drop privileges to 'no-such-user-mqx' because this user does not exist\./);
  const broker = await startMqxBroker(t, 'listener PORT 127.0.0.1\nallow_anonymous true\nuser nobody');
  const uid = readFileSync(`/proc/${broker.child.pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1];
  assert.notEqual(uid, '0');
});

test('max_connections counts per listener, as in Mosquitto', async (t) => {
  const second = await freePort();
  const broker = await startMqxBroker(t, `listener PORT 127.0.0.1\nmax_connections 1\nallow_anonymous true\nlistener ${second} 127.0.0.1\n`);
  const first = await client(t, broker.port, { clientId: 'first' });
  assert.equal(first.connected, true);
  await assert.rejects(client(t, broker.port, { clientId: 'over-the-limit', connectTimeout: 3000 }));
  await broker.waitForLog(/denied: max_connections exceeded/);
  const other = await client(t, second, { clientId: 'other-listener' });
  assert.equal(other.connected, true);
  await first.endAsync();
  await broker.waitForLog(/Client first disconnected/);
  const again = await client(t, broker.port, { clientId: 'after' });
  assert.equal(again.connected, true);
});

test('use_username_as_clientid: the user name becomes the client id; without one the client is refused', async (t) => {
  const broker = await startMqxBroker(t, 'listener PORT 127.0.0.1\nallow_anonymous true\nuse_username_as_clientid true\n');
  const first = await client(t, broker.port, { clientId: 'one', username: 'bob' });
  await broker.waitForLog(/as bob \(p2, c1, k60, u'bob'\)/);
  // A second connection as bob is the same client: it takes the session over.
  const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
  await client(t, broker.port, { clientId: 'two', username: 'bob' });
  await closed;
  await assert.rejects(client(t, broker.port, { clientId: 'anonymous' }), (error: Error & { code?: number }) => error.code === 5);
});
