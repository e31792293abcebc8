// Differential test: mosquitto_sub and `mqx sub` subscribe side by side on one mosquitto, receive
// the same messages, and must print the same bytes (time fields masked by shape) for every setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { havePeers, peerPath, startMosquitto, type RunningMosquitto } from '../helpers/peers.js';
import { collect, spawnMqx, waitForOutput, type RunResult } from '../helpers/process.js';

const big = Buffer.alloc(100 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) % 256;

/** The messages each pair receives after the retained one, in order. */
const LIVE: { name: string; payload: Buffer; qos: 0 | 1; properties?: Record<string, unknown> }[] = [
  { name: 'text', payload: Buffer.from('hello world'), qos: 0 },
  { name: 'empty', payload: Buffer.alloc(0), qos: 1 },
  { name: 'binary', payload: Buffer.from([0x61, 0x00, 0x62, 0xff, 0x01, 0x22, 0x5c, 0x63]), qos: 0 },
  { name: 'utf8', payload: Buffer.from('héllo ✓ 日本 "q" \\ \t end'), qos: 1 },
  { name: 'json', payload: Buffer.from(' {"a": [1, 2.50, {"b": null}], "c": "d\\n\\u00e9", "e": 1e21, "f": -0, "g": {}, "h": true} '), qos: 0 },
  { name: 'big', payload: big, qos: 0 },
  { name: 'tøpic/ünicode', payload: Buffer.from('widths count bytes'), qos: 0 },
  {
    name: 'v5', payload: Buffer.from('with properties'), qos: 1,
    properties: {
      contentType: 'text/plain', responseTopic: 'reply/here', correlationData: Buffer.from('corr-1'),
      userProperties: { alpha: '1', beta: 'two words' }, payloadFormatIndicator: true, messageExpiryInterval: 3600,
    },
  },
];
const RETAINED = '{"retained": [1, 2, 3]}';
const COUNT = LIVE.length + 1;

const SETTINGS: string[][] = [
  [],
  ['-v'],
  ['-N'],
  ['-v', '-N'],
  ['-F', '%t|%p|%l|%q|%r|%m'],
  ['-F', '%x'],
  ['-F', '%X', '-N'],
  ['-F', '%10t|%-10t|%.3t|%5.2t|%-5.2t|%08l|%-8l|%8l|%5p|%-5p|%05p|%-p|%20x|%-20X|%1x|%-05l|%3q%3r'],
  ['-F', '\\t%t\\n\\\\%%\\a\\e\\v\\r\\0@@end'],
  ['-F', '%j'],
  ['-F', '%J'],
  ['-F', '%j', '--pretty'],
  ['-F', 'J=%J', '--pretty'],
  ['-q', '1', '-F', '%m %q %r %t %l'],
  ['-q', '1', '-F', '%j'],
  ['-V', '5', '-F', '%C %R %P %E %F %S %A'],
  ['-V', '5', '-F', '%10C|%-10R|%05A|%5E|%-3F|%.3C|%-4S|%D'],
  ['-V', '5', '-F', '%j'],
  ['-V', '5', '-F', '%J', '--pretty'],
  ['-V', '5', '-v'],
  ['-F', '%I|%U|@Y-@m-@d @H:@M:@S.@N|@s|@@|@a @b|%t'],
  ['-d', '-v'],
  ['-d', '-q', '1', '-F', '%t %m'],
  ['-d', '-q', '2', '-V', '5'],
];

/** Replaces time-dependent fields by placeholders, after checking each has the right shape. */
function mask(text: string): string {
  return text
    .replace(/"tst":(\t?)"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z[+-]\d{4}"/g, '"tst":$1"<tst>"')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}/g, '<iso>')
    .replace(/\d{10}\.\d{9}/g, '<unix>')
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}/g, '<strftime>')
    .replace(/\|\d{10}\|/g, '|<epoch>|')
    // The broker counts message expiry down in whole seconds; the two reads may straddle one.
    .replace(/\b(3600|3599)\b/g, '<expiry>')
    // -d: MQTT 5 clients are named by the broker (auto-<UUID>), differently for each.
    .replace(/Client auto-[0-9A-F-]{36}/g, 'Client <assigned>');
}

async function publishAll(port: number, prefix: string): Promise<void> {
  const client = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: 5, reconnectPeriod: 0 });
  try {
    for (const message of LIVE) {
      await client.publishAsync(`${prefix}/${message.name}`, message.payload, { qos: message.qos, ...(message.properties ? { properties: message.properties } : {}) });
    }
  } finally {
    await client.endAsync();
  }
}

/** Runs mosquitto_sub and mqx sub with the same flags on `prefix/#`; resolves with both results. */
async function pair(broker: RunningMosquitto, prefix: string, flags: string[]): Promise<{ mosquitto: RunResult; mqx: RunResult }> {
  const args = ['-p', String(broker.port), '-t', `${prefix}/#`, '-C', String(COUNT), ...flags];
  const reference = spawn(peerPath('mosquitto_sub')!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ours = spawnMqx(['sub', ...args]);
  const results = Promise.all([collect(reference, 30000), collect(ours, 30000)]);
  // Both print the retained message first: then both are subscribed and the live ones can go.
  // (With -d, trace lines come first; mosquitto_sub flushes them only when it prints a message.)
  const ready = flags.includes('-d') ? /retained/ : /[\s\S]/;
  await Promise.all([waitForOutput(reference.stdout!, ready, 15000), waitForOutput(ours.stdout!, ready, 15000)]);
  await publishAll(broker.port, prefix);
  const [mosquitto, mqx] = await results;
  return { mosquitto, mqx };
}

test('mqx sub prints exactly what mosquitto_sub prints, for every output setting', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_sub', 'mosquitto_pub')) return;
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const retainedFile = join(broker.dir, 'retained.json');
  writeFileSync(retainedFile, RETAINED);

  const batch = 7;
  for (let start = 0; start < SETTINGS.length; start += batch) {
    await Promise.all(SETTINGS.slice(start, start + batch).map(async (flags, offset) => {
      const prefix = `diff/${start + offset}`;
      const published = spawnSync(peerPath('mosquitto_pub')!, ['-p', String(broker.port), '-t', `${prefix}/0-retained`, '-r', '-f', retainedFile]);
      assert.equal(published.status, 0, 'mosquitto_pub published the retained message');
      const { mosquitto, mqx } = await pair(broker, prefix, flags);
      const label = `flags ${JSON.stringify(flags)}`;
      assert.equal(mosquitto.code, 0, `mosquitto_sub ${label}: ${mosquitto.stderr}`);
      assert.equal(mqx.code, 0, `mqx sub ${label}: ${mqx.stderr}`);
      const expected = mask(mosquitto.stdout.toString('latin1'));
      const actual = mask(mqx.stdout.toString('latin1'));
      assert.ok(expected.length > 0, `mosquitto_sub printed something for ${label}`);
      assert.equal(actual, expected, `stdout differs for ${label}`);
      assert.equal(mqx.stderr, mosquitto.stderr, `stderr differs for ${label}`);
    }));
  }
});
