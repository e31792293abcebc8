// resolveOptions: Mosquitto's defaults in one pure function, and range errors naming the option.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions } from '../../src/broker/options.js';

test('defaults are Mosquitto 2.0\'s', () => {
  const options = resolveOptions();
  assert.equal(options.max_inflight_messages, 20);
  assert.equal(options.max_queued_messages, 1000);
  assert.equal(options.max_queued_bytes, 0);
  assert.equal(options.queue_qos0_messages, false);
  assert.equal(options.max_keepalive, 65535);
  assert.equal(options.max_topic_alias, 10);
  assert.equal(options.max_connections, -1);
  assert.equal(options.allow_zero_length_clientid, true);
  assert.equal(options.auto_id_prefix, 'auto-');
  assert.equal(options.retain_available, true);
  assert.equal(options.sys_interval, 10);
  assert.equal(options.upgrade_outgoing_qos, false);
  assert.equal(options.outgoing_topic_aliases, false);
  assert.deepEqual(options.listeners, []);
});

test('given options override defaults; undefined keeps the default', () => {
  const options = resolveOptions({ max_inflight_messages: 5, max_queued_messages: undefined });
  assert.equal(options.max_inflight_messages, 5);
  assert.equal(options.max_queued_messages, 1000);
});

const BAD: Array<[string, object]> = [
  ['max_inflight_messages', { max_inflight_messages: 70000 }],
  ['max_keepalive', { max_keepalive: -1 }],
  ['max_packet_size', { max_packet_size: 10 }],
  ['listener port', { listeners: [{ port: 70000 }] }],
  ['max_topic_alias', { max_topic_alias: 1.5 }],
];

for (const [name, options] of BAD) {
  test(`an out-of-range ${name} throws a RangeError naming it`, () => {
    assert.throws(() => resolveOptions(options), (error: Error) => error instanceof RangeError && error.message.startsWith(name));
  });
}
