// The -d trace in libmosquitto's words: each line compared with what mosquitto_pub -d prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { DebugLog, receivedLines, sentLines } from '../../src/client/debug-log.js';
import { SequentialMessageIds } from '../../src/client/message-ids.js';

test('publish flow lines match mosquitto_pub -d', () => {
  const none = () => 0;
  assert.deepEqual(sentLines({ cmd: 'connect' }, 'myid', none), ['Client myid sending CONNECT']);
  assert.deepEqual(receivedLines({ cmd: 'connack', returnCode: 0 }, 'myid'), ['Client myid received CONNACK (0)']);
  assert.deepEqual(sentLines({ cmd: 'publish', qos: 2, retain: true, dup: false, messageId: 1, topic: 't', payload: Buffer.from('x') }, 'myid', none),
    ["Client myid sending PUBLISH (d0, q2, r1, m1, 't', ... (1 bytes))"]);
  assert.deepEqual(receivedLines({ cmd: 'pubrec', messageId: 1 }, 'myid'), ['Client myid received PUBREC (Mid: 1)']);
  assert.deepEqual(sentLines({ cmd: 'pubrel', messageId: 1 }, 'myid', none), ['Client myid sending PUBREL (m1)']);
  assert.deepEqual(receivedLines({ cmd: 'pubcomp', messageId: 1 }, 'myid'), ['Client myid received PUBCOMP (Mid: 1, RC:0)']);
  assert.deepEqual(receivedLines({ cmd: 'puback', messageId: 3, reasonCode: 16 }, 'myid'), ['Client myid received PUBACK (Mid: 3, RC:16)']);
  assert.deepEqual(sentLines({ cmd: 'disconnect' }, 'myid', none), ['Client myid sending DISCONNECT']);
});

test('subscriber-side lines', () => {
  const none = () => 0;
  assert.deepEqual(sentLines({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }, { topic: 'b', qos: 0, nl: true, rh: 2 }] }, 'c', none), [
    'Client c sending SUBSCRIBE (Mid: 1, Topic: a/#, QoS: 1, Options: 0x00)',
    'Client c sending SUBSCRIBE (Mid: 1, Topic: b, QoS: 0, Options: 0x24)',
  ]);
  assert.deepEqual(receivedLines({ cmd: 'suback' }, 'c'), ['Client c received SUBACK']);
  assert.deepEqual(receivedLines({ cmd: 'publish', qos: 1, messageId: 7, topic: 'a/b', payload: Buffer.alloc(5) }, 'c'), ["Client c received PUBLISH (d0, q1, r0, m7, 'a/b', ... (5 bytes))"]);
  assert.deepEqual(sentLines({ cmd: 'puback', messageId: 7 }, 'c', none), ['Client c sending PUBACK (m7, rc0)']);
  assert.deepEqual(sentLines({ cmd: 'pubrec', messageId: 8 }, 'c', none), ['Client c sending PUBREC (m8, rc0)']);
  assert.deepEqual(receivedLines({ cmd: 'pubrel', messageId: 8 }, 'c'), ['Client c received PUBREL (Mid: 8)']);
  assert.deepEqual(sentLines({ cmd: 'pubcomp', messageId: 8 }, 'c', none), ['Client c sending PUBCOMP (m8)']);
  assert.deepEqual(receivedLines({ cmd: 'pingresp' }, 'c'), ['Client c received PINGRESP']);
});

test('an empty id prints as (null) until a v5 broker assigns one; QoS 0 publishes count message ids', () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk) => { text += chunk; });
  const ids = new SequentialMessageIds();
  const log = new DebugLog(out, '', ids);
  log.sent({ cmd: 'connect' });
  log.received({ cmd: 'connack', reasonCode: 0, properties: { assignedClientIdentifier: 'auto-1' } });
  log.sent({ cmd: 'publish', qos: 0, topic: 't', payload: 'ab' });
  log.sent({ cmd: 'publish', qos: 0, topic: 't', payload: '' });
  assert.equal(text, [
    'Client (null) sending CONNECT',
    'Client auto-1 received CONNACK (0)',
    "Client auto-1 sending PUBLISH (d0, q0, r0, m1, 't', ... (2 bytes))",
    "Client auto-1 sending PUBLISH (d0, q0, r0, m2, 't', ... (0 bytes))",
  ].join('\n') + '\n');
});

test('message ids run 1, 2, 3, skip ids in flight and wrap after 65535', () => {
  const ids = new SequentialMessageIds();
  assert.equal(ids.allocate(), 1);
  assert.equal(ids.allocate(), 2);
  ids.deallocate(1);
  assert.equal(ids.allocate(), 3);
  const wrap = new SequentialMessageIds();
  for (let i = 0; i < 65534; i++) wrap.skip();
  wrap.register(1);
  assert.equal(wrap.allocate(), 65535);
  assert.equal(wrap.allocate(), 2);
});
