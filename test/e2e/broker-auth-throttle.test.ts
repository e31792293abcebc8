// mqx's auth_fail_limit with `mqx broker -c` and a password file from `mqx passwd`: a client
// hammering bad passwords gets its address refused for auth_fail_ban, with one log line per ban;
// other addresses and the time after the ban are unaffected.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { IClientOptions } from 'mqtt';
import { runMqx } from '../helpers/process.js';
import { startMqxBroker, tempDir } from '../helpers/mqx-broker.js';
import { connectClient } from '../helpers/mqttjs.js';
import { RawClient } from '../helpers/raw-client.js';

// Two brokers, so that no check races the clock on a loaded machine: the in-ban checks run
// against a ban far longer than they can take, and "accepted once the ban ends" against one of
// 1 s (auth_fail_ban's minimum), whose wait overlaps those checks.
const LONG_BAN_SECONDS = 3600;
const SHORT_BAN_SECONDS = 1;

/** The CONNACK code MQTT.js got: 0 when accepted (the client is then ended). */
async function connackCode(t: TestContext, port: number, options: IClientOptions): Promise<number> {
  try {
    const client = await connectClient(t, null, { host: '127.0.0.1', port, ...options });
    await client.endAsync();
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'number') throw error;
    return code;
  }
}

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
}

/** The line logged once when the third failure within 60 s bans 127.0.0.1 for `seconds`. */
function banLine(seconds: number): RegExp {
  return new RegExp(`Address 127\\.0\\.0\\.1 had 3 authentication failures within 60 s: refusing its connections for ${seconds} s\\.`);
}

test('auth_fail_limit: a flood of bad passwords bans the address (logged once); the right password waits for the ban to end', async (t) => {
  const dir = tempDir(t);
  const made = await runMqx(['passwd', '-c', '-b', join(dir, 'passwd'), 'alice', 'alice-pw']);
  assert.equal(made.code, 0, made.stderr);
  const config = (ban: number) => `listener PORT 127.0.0.1\npassword_file ${dir}/passwd\nauth_fail_limit 3\nauth_fail_window 60\nauth_fail_ban ${ban}\n`;
  const [broker, quick] = await Promise.all([startMqxBroker(t, config(LONG_BAN_SECONDS)), startMqxBroker(t, config(SHORT_BAN_SECONDS))]);
  const { port } = broker;
  const alice = { username: 'alice', password: 'alice-pw' };
  const wrong = { username: 'alice', password: 'wrong' };

  // The short ban first: three failures, then its second runs out while the checks below run.
  for (let i = 0; i < 3; i++) assert.equal(await connackCode(t, quick.port, { ...wrong, protocolVersion: 5 }), 0x87);
  await quick.waitForLog(banLine(SHORT_BAN_SECONDS));
  const quickBannedBy = Date.now(); // the ban started before its line reached us

  // Below the limit, failures change nothing for the right password.
  assert.equal(await connackCode(t, port, { ...wrong, protocolVersion: 4 }), 5);
  assert.equal(await connackCode(t, port, { ...wrong, protocolVersion: 5 }), 0x87);
  assert.equal(await connackCode(t, port, { ...alice, protocolVersion: 4 }), 0);

  // Twenty bad CONNECTs at once, each from a new source port: the third failure bans the address.
  const flood = await Promise.all(Array.from({ length: 20 }, () => connackCode(t, port, { ...wrong, protocolVersion: 5 })));
  assert.deepEqual([flood.filter((code) => code === 0x87).length, flood.filter((code) => code === 0x9f).length], [1, 19]);
  await broker.waitForLog(banLine(LONG_BAN_SECONDS));

  // During the ban the right password is refused too (it is not even checked).
  assert.equal(await connackCode(t, port, { ...alice, protocolVersion: 4 }), 5);
  assert.equal(await connackCode(t, port, { ...alice, protocolVersion: 5 }), 0x9f);

  // Another source address is not affected.
  const other = await RawClient.open(port, 4, '127.0.0.1', '127.0.0.2');
  t.after(() => other.drop());
  const otherConnack = await other.handshake({ clientId: 'elsewhere', username: 'alice', password: Buffer.from('alice-pw') });
  assert.equal(otherConnack.returnCode, 0);
  await other.disconnect();

  // Every refusal so far is in the log; the ban itself is there once, not once per attempt.
  await broker.waitForLog((log) => count(log, /Client <unknown> disconnected, not authorised\./) === 24);
  assert.equal(count(broker.log(), banLine(LONG_BAN_SECONDS)), 1);
  assert.doesNotMatch(broker.log(), /alice-pw|wrong/, 'passwords never logged');

  // Once the short ban has run out, the right password gets in at the first try.
  const left = quickBannedBy + SHORT_BAN_SECONDS * 1000 + 50 - Date.now();
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
  assert.equal(await connackCode(t, quick.port, { ...alice, protocolVersion: 5 }), 0);
  assert.equal(count(quick.log(), banLine(SHORT_BAN_SECONDS)), 1);
});

test('auth_fail_limit 0 turns the throttle off', async (t) => {
  const dir = tempDir(t);
  const made = await runMqx(['passwd', '-c', '-b', join(dir, 'passwd'), 'alice', 'alice-pw']);
  assert.equal(made.code, 0, made.stderr);
  const broker = await startMqxBroker(t, 'listener PORT 127.0.0.1\npassword_file DIR/passwd\nauth_fail_limit 0\n', { dir });
  for (let i = 0; i < 15; i++) assert.equal(await connackCode(t, broker.port, { username: 'alice', password: 'wrong', protocolVersion: 5 }), 0x87);
  assert.equal(await connackCode(t, broker.port, { username: 'alice', password: 'alice-pw', protocolVersion: 5 }), 0);
  assert.doesNotMatch(broker.log(), /authentication failures within/);
});
