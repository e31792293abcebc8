// Queued messages stop pinning the socket read chunk they arrived in: their payloads are copied
// DETACH_DELAY_MS after they are queued (src/broker/detach-soon.ts), so a stuck or offline
// subscriber's queue costs its payload bytes, not the publisher's whole reads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createBroker } from '../../src/broker/broker.js';
import { encode } from '../../src/codec/index.js';

test('payloads queued for an offline session are copied out of the 11 KiB read they came in', { timeout: 20_000 }, async (t) => {
  const broker = createBroker({ sys_interval: 0, listeners: [{ port: 0, host: '127.0.0.1' }] });
  const port = (await broker.listen())[0]!.port;
  t.after(() => broker.close());
  // A persistent subscriber goes offline: what it subscribed to is queued for it.
  const subscriber = connect({ port, host: '127.0.0.1' });
  subscriber.write(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'offline', clean: false, keepalive: 0 }, 4));
  subscriber.write(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos: 1 }] }, 4));
  await new Promise<void>((resolve) => { let seen = 0; subscriber.on('data', (chunk: Buffer) => { seen += chunk.length; if (seen >= 9) resolve(); }); }); // CONNACK + SUBACK
  subscriber.destroy();
  for (let i = 0; i < 200 && broker.sessions.get('offline')?.link; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  // 100 messages of 100 bytes in ONE write: the broker reads them as one chunk of about 11 KiB.
  const publisher = connect({ port, host: '127.0.0.1' });
  t.after(() => publisher.destroy());
  const frames = [encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'pub', clean: true, keepalive: 0 }, 4)];
  for (let i = 0; i < 100; i++) frames.push(encode({ cmd: 'publish', topic: `q/${i}`, payload: Buffer.alloc(100, i), qos: 1, messageId: i + 1, retain: false, dup: false }, 4));
  publisher.write(Buffer.concat(frames));
  const session = broker.sessions.get('offline')!;
  for (let i = 0; i < 500 && session.queue.length < 100; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(session.queue.length, 100, 'all 100 messages queued for the offline session');
  // Within a few timer turns every queued payload is its own 100 bytes, not a view of the read.
  const pinned = () => session.queue.filter((out) => out.message.payload.buffer.byteLength > 8192).length;
  for (let i = 0; i < 500 && pinned() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(pinned(), 0, 'queued payloads still pin the publisher\'s read chunk');
  assert.deepEqual(session.queue[42]!.message.payload, Buffer.alloc(100, 42));
});
