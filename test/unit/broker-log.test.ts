// The broker log's routing and formatting: log_type filter, timestamps (epoch and strftime),
// connection_messages, log_dest topic and file, none.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { BrokerLog, strftime } from '../../src/cli/broker-log.js';
import type { BrokerLogSettings } from '../../src/cli/broker-log.js';
import { cliLogger } from '../../src/cli/broker.js';
import type { LogType } from '../../src/broker/logger.js';

const base: BrokerLogSettings = {
  log_dest: ['stderr'], log_file: null, log_type: ['error', 'warning', 'notice', 'information'],
  log_timestamp: true, log_timestamp_format: null, connection_messages: true, log_facility: null,
};

function capture(settings: Partial<BrokerLogSettings>) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => { out += chunk; });
  stderr.on('data', (chunk) => { err += chunk; });
  const log = new BrokerLog({ ...base, ...settings }, stdout, stderr);
  return { log, out: () => out, err: () => err };
}

test('strftime: the conversions log_timestamp_format uses, in local time', () => {
  const date = new Date(2026, 0, 5, 7, 8, 9);
  assert.equal(strftime('%Y-%m-%dT%H:%M:%S', date), '2026-01-05T07:08:09');
  assert.equal(strftime('%F %T %j %e|%a %b %y %%', date), '2026-01-05 07:08:09 005  5|Mon Jan 26 %');
  assert.equal(strftime('%s', date), String(Math.floor(date.getTime() / 1000)));
});

test('log_type filters; the default timestamp is epoch seconds; log_timestamp false drops it', () => {
  const a = capture({});
  a.log.log('information', 'hello');
  a.log.log('debug', 'hidden');
  assert.match(a.err(), /^\d+: hello\n$/);
  const b = capture({ log_timestamp: false, log_type: ['all'] });
  b.log.log('debug', 'shown');
  assert.equal(b.err(), 'shown\n');
});

test('connection_messages false hides connection lines only', () => {
  const c = capture({ connection_messages: false, log_timestamp: false });
  c.log.log('notice', 'New connection from 127.0.0.1:5 on port 1883.');
  c.log.log('notice', 'New client connected from 127.0.0.1:5 as x (p2, c1, k60).');
  c.log.log('notice', 'Client x disconnected.');
  c.log.log('notice', 'Client x closed its connection.');
  c.log.log('error', 'Client x already connected, closing old connection.');
  c.log.log('notice', 'Bad socket read/write on client <unknown>: Malformed UTF-8');
  c.log.log('information', 'Invalid protocol version 6 in CONNECT from 127.0.0.1.');
  c.log.log('information', 'Invalid protocol "MQTX" in CONNECT from 127.0.0.1.');
  c.log.log('information', 'Invalid Will QoS in CONNECT from 127.0.0.1.');
  c.log.log('notice', 'Reloading config.');
  // Mosquitto logs this one whatever connection_messages says (handle_connect.c).
  assert.equal(c.err(), 'Invalid Will QoS in CONNECT from 127.0.0.1.\nReloading config.\n');
});

test('log_dest stdout + topic + file; none writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-log-'));
  try {
    const published: string[] = [];
    const d = capture({ log_dest: ['stdout', 'topic', 'file'], log_file: join(dir, 'x.log'), log_timestamp: false });
    d.log.attachBroker((topic, payload) => published.push(`${topic} ${payload}`));
    d.log.log('warning', 'careful');
    d.log.close();
    assert.equal(d.out(), 'careful\n');
    assert.deepEqual(published, ['$SYS/broker/log/W careful']);
    assert.equal(readFileSync(join(dir, 'x.log'), 'utf8'), 'careful\n');
    const none = capture({ log_dest: [] });
    none.log.log('error', 'x');
    assert.equal(none.err() + none.out(), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable log file is one clear error at start-up', () => {
  assert.throws(() => capture({ log_dest: ['file'], log_file: '/nonexistent-dir/x.log' }), /Unable to open log file \/nonexistent-dir\/x\.log for writing/);
});

test('enabled() is false for every type with log_dest none, so the broker builds no line', () => {
  const none = capture({ log_dest: [], log_type: ['all'] });
  assert.equal(none.log.enabled('debug'), false);
  assert.equal(none.log.enabled('error'), false);
  const all = capture({ log_type: ['all'] });
  assert.equal(all.log.enabled('debug'), true);
});

test('mqx broker without -c: Mosquitto\'s default types (notice included); -v adds debug, subscribe, unsubscribe', () => {
  const quiet = cliLogger(new PassThrough(), false);
  assert.deepEqual(['error', 'warning', 'notice', 'information', 'debug', 'subscribe', 'unsubscribe'].map((type) => quiet.enabled!(type as LogType)),
    [true, true, true, true, false, false, false]);
  const stream = new PassThrough();
  let written = '';
  stream.on('data', (chunk) => { written += chunk; });
  const verbose = cliLogger(stream, true);
  for (const type of ['debug', 'subscribe', 'unsubscribe'] as const) assert.equal(verbose.enabled!(type), true);
  verbose.log('debug', 'Sending PINGRESP to c');
  assert.match(written, /^\d+: Sending PINGRESP to c\n$/);
});
