// mqx pub against a mosquitto with a password file and an ACL: refused CONNECTs exit with the
// CONNACK code, and an MQTT 5 publish the ACL denies is a warning with exit 0, as mosquitto_pub.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { havePeers, peerPath, startMosquitto, type RunningMosquitto } from '../helpers/peers.js';
import { run, runMqx } from '../helpers/process.js';

let broker: RunningMosquitto | undefined;
let dir: string;

before(async () => {
  if (!peerPath('mosquitto') || !peerPath('mosquitto_passwd') || !peerPath('mosquitto_pub')) return;
  dir = mkdtempSync(join(tmpdir(), 'mqx-pub-auth-'));
  const passwords = join(dir, 'passwords');
  const made = spawnSync(peerPath('mosquitto_passwd')!, ['-c', '-b', passwords, 'alice', 'secret']);
  assert.equal(made.status, 0, String(made.stderr));
  const acl = join(dir, 'acl');
  writeFileSync(acl, 'user alice\ntopic readwrite allowed/#\n');
  broker = await startMosquitto(`password_file ${passwords}\nacl_file ${acl}\n`, { anonymous: false });
});

after(async () => {
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the same arguments through mqx pub and mosquitto_pub. */
async function both(args: string[]) {
  const full = ['-p', String(broker!.port), ...args];
  return Promise.all([runMqx(['pub', ...full]), run(peerPath('mosquitto_pub')!, full)]);
}

test('refused CONNECT: exit status is the CONNACK code and stderr matches mosquitto_pub', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_passwd', 'mosquitto_pub')) return;
  const cases = [
    { args: ['-t', 'allowed/x', '-m', 'x'], code: 5 },
    { args: ['-t', 'allowed/x', '-m', 'x', '-u', 'alice', '-P', 'wrong'], code: 5 },
    { args: ['-t', 'allowed/x', '-m', 'x', '-u', 'alice', '-P', 'wrong', '-V', 'mqttv31'], code: 5 },
    { args: ['-t', 'allowed/x', '-m', 'x', '-u', 'alice', '-P', 'wrong', '-V', '5'], code: 135 },
  ];
  for (const { args, code } of cases) {
    const [ours, theirs] = await both(args);
    assert.equal(theirs.code, code, `mosquitto_pub ${args.join(' ')}`);
    assert.equal(ours.code, code, `mqx pub ${args.join(' ')}: ${ours.stderr}`);
    assert.equal(ours.stderr, theirs.stderr);
  }
  const quiet = await runMqx(['pub', '-p', String(broker!.port), '-t', 'allowed/x', '-m', 'x', '--quiet']);
  assert.equal(quiet.code, 5);
  assert.equal(quiet.stderr, '', '--quiet prints nothing');
});

test('the right password connects and publishes', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_passwd', 'mosquitto_pub')) return;
  const result = await runMqx(['pub', '-p', String(broker!.port), '-u', 'alice', '-P', 'secret', '-q', '1', '-t', 'allowed/x', '-m', 'x']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
});

test('an MQTT 5 publish denied by the ACL is a warning, exit 0, as mosquitto_pub', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_passwd', 'mosquitto_pub')) return;
  const [ours, theirs] = await both(['-u', 'alice', '-P', 'secret', '-V', '5', '-q', '1', '-t', 'denied/x', '-m', 'x']);
  assert.equal(theirs.code, 0);
  assert.equal(theirs.stderr, 'Warning: Publish 1 failed: Not authorized.\n');
  assert.equal(ours.code, 0);
  assert.equal(ours.stderr, theirs.stderr);
});
