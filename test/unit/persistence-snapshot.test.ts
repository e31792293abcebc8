// Background compaction reads the live state over many event-loop turns while it keeps changing,
// then appends every op committed since the start. This checks the claim that makes it exact:
// replaying such a snapshot plus those ops rebuilds the live state, whatever the interleaving.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../src/broker/message.js';
import { readOp, Reader, Writer, writeOp } from '../../src/broker/persistence/records.js';
import type { Op } from '../../src/broker/persistence/records.js';
import { DurableState } from '../../src/broker/persistence/state.js';

/** Deterministic PRNG (mulberry32), so that a failing seed can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function message(topic: string, body: string): Message {
  return { topic, payload: Buffer.from(body), qos: 1, retain: false, properties: undefined, expiresAt: 0, publisherId: null };
}

/** Ops as the broker's journal makes them: valid against the current state, ids never reused. */
class Workload {
  private nextMsg = 1;
  private nextSeq = 1;
  private n = 0;
  constructor(private readonly state: DurableState, private readonly rand: () => number) {}

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.rand() * items.length)];
  }

  /** One broker change: the ops it emits (applied to the state, as Persistence.emit does). */
  next(): Op[] {
    const clients = ['a', 'b', 'c', 'd'];
    const clientId = this.pick(clients)!;
    const session = this.state.sessions.get(clientId);
    const ops: Op[] = [];
    const r = this.rand();
    const body = `v${this.n++}`;
    if (r < 0.15) {
      const topic = this.pick(['r/1', 'r/2', 'r/3'])!;
      ops.push({ type: 'retain', topic, message: this.rand() < 0.2 ? null : message(topic, body) });
    } else if (r < 0.25) {
      ops.push({ type: 'session', meta: { clientId, expiry: Math.floor(this.rand() * 100), protocolVersion: 5, username: undefined, offlineSince: 0, will: null } });
    } else if (r < 0.3) {
      if (session) ops.push({ type: 'sessionEnd', clientId });
    } else if (r < 0.4) {
      const filter = this.pick(['f/1', 'f/2', 'f/#'])!;
      if (session) ops.push(this.rand() < 0.7 ? { type: 'sub', clientId, filter, options: { qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 } } : { type: 'unsub', clientId, filter });
    } else if (r < 0.65) {
      if (session) {
        // A delivery: a new message, or one already stored for another client (shared, stored once).
        const existing = this.rand() < 0.4 ? this.pick([...this.state.messages.keys()]) : undefined;
        let msgId = existing;
        if (msgId === undefined) {
          msgId = this.nextMsg++;
          ops.push({ type: 'msg', msgId, message: message('f/1', body) });
        }
        ops.push({ type: 'out', record: { clientId, seq: this.nextSeq++, msgId, qos: 1, retain: false, subscriptionIds: undefined, sharedGroup: null, packetId: 0, released: false } });
      }
    } else if (r < 0.9) {
      const seq = session === undefined ? undefined : this.pick([...session.out.keys()]);
      if (seq !== undefined) {
        const which = this.rand();
        if (which < 0.4) ops.push({ type: 'outSent', clientId, seq, packetId: 1 + Math.floor(this.rand() * 1000) });
        else if (which < 0.55) ops.push({ type: 'outRel', clientId, seq });
        else ops.push({ type: 'outDel', clientId, seq });
      }
    } else if (session) {
      // An inbound QoS 2 message kept until PUBREL, an id-only one (format 1/2 stores), or a PUBREL.
      const packetId = 1 + Math.floor(this.rand() * 5);
      const which = this.rand();
      if (which < 0.5) ops.push({ type: 'in2', clientId, packetId, add: true, message: { ...message('in/2', body), qos: 2 } });
      else if (which < 0.6) ops.push({ type: 'in2', clientId, packetId, add: true, message: null });
      else ops.push({ type: 'in2', clientId, packetId, add: false, message: null });
    }
    for (const op of ops) this.state.apply(op);
    return ops;
  }
}

/** Through the store's encoding, as compaction writes ops and start-up reads them. */
function roundTrip(ops: Op[]): Op[] {
  const writer = new Writer();
  for (const op of ops) writeOp(writer, op);
  const reader = new Reader(writer.take());
  const out: Op[] = [];
  while (!reader.done) out.push(readOp(reader));
  return out;
}

/** The state as comparable data. */
function canonical(state: DurableState): unknown {
  const sorted = <T>(entries: Iterable<[string | number, T]>) => [...entries].sort(([a], [b]) => String(a).localeCompare(String(b)));
  return {
    retained: sorted(state.retained).map(([topic, m]) => [topic, String(m.payload)]),
    messages: sorted(state.messages).map(([id, stored]) => [id, String(stored.message.payload), stored.refs]),
    sessions: sorted(state.sessions).map(([id, s]) => [id, s.meta.expiry, sorted(s.subscriptions).map(([f]) => f),
      [...s.out.values()].map((o) => [o.seq, o.msgId, o.packetId, o.released]), sorted(s.inboundQos2).map(([id, m]) => [id, m === null ? null : [m.topic, String(m.payload), m.qos]])]),
  };
}

test('a snapshot read while the state changes, plus every op made since it started, replays to the live state (300 random interleavings)', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rand = random(seed);
    const live = new DurableState();
    const workload = new Workload(live, rand);
    for (let i = 0; i < 60; i++) workload.next();
    // Compaction starts: the snapshot is read op by op, changes land between any two reads.
    const snapshotOps: Op[] = [];
    const sinceStart: Op[] = [];
    const reading = live.snapshot();
    for (let step = 0; step < 10_000; step++) {
      if (rand() < 0.5) {
        const next = reading.next();
        if (next.done === true) break;
        snapshotOps.push(...roundTrip([next.value]));
      } else {
        sinceStart.push(...workload.next());
      }
    }
    // Changes after the snapshot is done, before the swap.
    for (let i = 0; i < 5; i++) sinceStart.push(...workload.next());

    const restored = new DurableState();
    for (const op of [...snapshotOps, ...roundTrip(sinceStart)]) restored.apply(op);
    restored.dropUnreferenced();
    assert.deepEqual(canonical(restored), canonical(live), `seed ${seed}`);
  }
});
