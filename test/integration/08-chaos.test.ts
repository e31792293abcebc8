// Many clients doing random valid and invalid things at once: the broker must not crash, must
// log no error, and must hold no connection once they are all gone (startBroker checks both).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startBroker } from '../helpers/raw-client.js';
import type { RawClient } from '../helpers/raw-client.js';

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648; };
}

test('random sessions, subscriptions, publishes, acks, drops and garbage from 40 clients', async (t) => {
  const { connect, broker } = await startBroker(t, { max_inflight_messages: 5, max_queued_messages: 50 });
  const random = lcg(Number(process.env.MQX_CHAOS_SEED ?? 42));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const filters = ['a/#', 'a/+/c', '+/b', '$share/g/a/#', '$queue/a/b', '#', 'a/b'];
  const topics = ['a/b', 'a/b/c', 'x/b', 'a/x/c'];
  const live: RawClient[] = [];
  for (let round = 0; round < 400; round++) {
    const action = random();
    if (live.length < 5 || action < 0.15) {
      const version = pick([4, 5] as const);
      const id = `c${Math.floor(random() * 40)}`;
      const persistent = random() < 0.5;
      const client = await connect(version, {
        clientId: id, clean: !persistent,
        properties: version === 5 && persistent ? { sessionExpiryInterval: 30 } : undefined,
        will: random() < 0.3 ? { topic: 'a/b', payload: Buffer.from('will'), qos: pick([0, 1, 2] as const), retain: random() < 0.2 } : undefined,
      }).catch(() => null);
      if (client) live.push(client);
      continue;
    }
    const client = pick(live);
    if (action < 0.35) {
      client.send({ cmd: 'subscribe', messageId: 1 + Math.floor(random() * 1000), subscriptions: [{ topic: pick(filters), qos: pick([0, 1, 2] as const) }] });
    } else if (action < 0.75) {
      const qos = pick([0, 1, 2] as const);
      client.send({ cmd: 'publish', topic: pick(topics), payload: randomBytes(Math.floor(random() * 64)), qos, retain: random() < 0.1, dup: false, messageId: qos ? 1 + Math.floor(random() * 100) : undefined });
    } else if (action < 0.85) {
      client.send({ cmd: pick(['puback', 'pubrec', 'pubrel', 'pubcomp'] as const), messageId: 1 + Math.floor(random() * 20) });
    } else if (action < 0.9) {
      client.send({ cmd: 'unsubscribe', messageId: 7, unsubscriptions: [pick(filters)] });
    } else if (action < 0.95) {
      live.splice(live.indexOf(client), 1);
      await (random() < 0.5 ? client.drop() : client.disconnect());
    } else {
      live.splice(live.indexOf(client), 1);
      client.sendBytes(randomBytes(20));
      client.socket.end();
      await client.closed;
    }
  }
  const check = await connect(5, { clientId: 'final' });
  check.send({ cmd: 'pingreq' });
  await check.expect('pingresp');
  assert.ok(broker.metrics.publishReceived > 0);
});
