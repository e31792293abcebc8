// Churn and slow consumers: 10,000 connect/disconnect cycles leave no connection, session, handle
// or heap behind; a subscriber that never reads cannot grow the broker's queues past their limits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createBroker } from '../../src/broker/broker.js';
import { isClientConductError } from '../../src/broker/disconnect-log.js';
import { encode } from '../../src/codec/index.js';

const CONNECT = encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: '', clean: true, keepalive: 30 }, 4);
const DISCONNECT = encode({ cmd: 'disconnect' }, 4);

function cycle(port: number, graceful: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', reject);
    socket.once('data', () => { if (graceful) socket.end(DISCONNECT); else socket.destroy(); });
    socket.once('close', () => resolve());
    socket.write(CONNECT);
  });
}

/** A full GC, so the heap check below always runs (npm test does not pass --expose-gc). */
function exposeGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = exposeGc();

test('10,000 clients connecting and disconnecting leave no connection, session, handle or heap behind', { timeout: 120_000 }, async (t) => {
  const errors: string[] = [];
  const broker = createBroker({ sys_interval: 0, listeners: [{ port: 0, host: '127.0.0.1' }], logger: { log: (type, message) => { if (type === 'error' && !isClientConductError(message)) errors.push(message); } } });
  const port = (await broker.listen())[0]!.port;
  t.after(() => broker.close()); // also when an assertion fails: a listening broker would hold the file open
  const handlesBefore = process.getActiveResourcesInfo().length;
  const deadline = Date.now() + 90_000;
  /** `count` cycles from 50 clients at a time, half ending with DISCONNECT, half dropping the socket. */
  const churn = async (count: number) => {
    let done = 0;
    await Promise.all(Array.from({ length: 50 }, async (_, worker) => {
      while (done < count && Date.now() < deadline) {
        done++;
        await cycle(port, (done + worker) % 2 === 0);
      }
    }));
    assert.ok(done >= count, `only ${done} of ${count} cycles in time`);
    for (let i = 0; i < 200 && broker.connections.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    // Close timers of ended connections are cleared when the socket closes: no handle piles up.
    for (let i = 0; i < 100 && process.getActiveResourcesInfo().length > handlesBefore + 5; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  // Warm up first (compiled code, pools), so that what remains after the real run is what it left.
  await churn(1_000);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  await churn(10_000);
  assert.equal(broker.connections.size, 0, 'open connections');
  assert.equal(broker.sessions.size, 0, 'clean sessions left');
  assert.equal(broker.stats().clientsConnected, 0);
  assert.ok(process.getActiveResourcesInfo().length <= handlesBefore + 5, `handles ${handlesBefore} -> ${process.getActiveResourcesInfo().length}`);
  gc();
  const grown = process.memoryUsage().heapUsed - heapBefore;
  t.diagnostic(`heap after 10,000 cycles and a full GC: ${(grown / 1048576).toFixed(2)} MiB more than before`);
  // 3 MiB over 10,000 cycles: anything kept per connection (a Connection, its socket, a session) would exceed it.
  assert.ok(grown < 3 * 1024 * 1024, `heap grew ${(grown / 1048576).toFixed(1)} MiB`);
  assert.deepEqual(errors, []);
});

test('a subscriber that never reads: its queue stays within max_queued_messages and the publisher is still served', { timeout: 60_000 }, async () => {
  const broker = createBroker({ sys_interval: 0, max_queued_messages: 100, max_inflight_messages: 10, listeners: [{ port: 0, host: '127.0.0.1' }] });
  const port = (await broker.listen())[0]!.port;
  // The stuck subscriber: subscribes at QoS 1, then stops reading its socket.
  const stuck = connect({ port, host: '127.0.0.1' });
  stuck.on('error', () => undefined);
  await new Promise<void>((resolve) => { stuck.once('connect', () => resolve()); });
  stuck.write(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'stuck', clean: true, keepalive: 0 }, 4));
  stuck.write(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 1 }] }, 4));
  await new Promise((resolve) => stuck.once('data', resolve));
  for (let i = 0; i < 100 && broker.router.count === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  stuck.pause();
  const publisher = connect({ port, host: '127.0.0.1' });
  publisher.on('error', () => undefined);
  await new Promise<void>((resolve) => { publisher.once('connect', () => resolve()); });
  publisher.write(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'flooder', clean: true, keepalive: 0 }, 4));
  let acks = 0;
  publisher.on('data', (chunk: Buffer) => { for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x40 && chunk[i + 1] === 2) acks++; });
  const payload = Buffer.alloc(10_000, 0x62);
  const total = 2_000;
  for (let id = 1; id <= total; id++) {
    const ok = publisher.write(encode({ cmd: 'publish', topic: 'flood', payload, qos: 1, messageId: id, retain: false, dup: false }, 4));
    if (!ok) await new Promise((resolve) => publisher.once('drain', resolve));
  }
  for (let i = 0; i < 1000 && acks < total; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(acks, total, 'every publish acknowledged while the subscriber is stuck');
  const session = broker.sessions.get('stuck')!;
  assert.ok(session.queue.length <= 100, `queue ${session.queue.length}`);
  assert.ok(session.inflight.size <= 10, `inflight ${session.inflight.size}`);
  assert.ok(broker.stats().publishDropped >= total - 110, `dropped ${broker.stats().publishDropped}`);
  stuck.destroy();
  publisher.destroy();
  await broker.close();
});
