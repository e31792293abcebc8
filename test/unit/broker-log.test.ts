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
  c.log.log('notice', 'Reloading config.');
  assert.equal(c.err(), 'Reloading config.\n');
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
    assert.equal(d.log.enabled('warning'), true);
    const none = capture({ log_dest: [] });
    none.log.log('error', 'x');
    assert.equal(none.err() + none.out(), '');
    // The broker asks before building a line (a peer address costs a system call): nothing is wanted.
    assert.equal(none.log.enabled('error'), false);
    assert.equal(none.log.enabled('notice'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable log file is one clear error at start-up', () => {
  assert.throws(() => capture({ log_dest: ['file'], log_file: '/nonexistent-dir/x.log' }), /Unable to open log file \/nonexistent-dir\/x\.log for writing/);
});
