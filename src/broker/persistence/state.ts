// The durable state as the store knows it: retained messages, persistent sessions with their
// subscriptions, deliveries and inbound QoS 2 messages awaiting PUBREL. Ops apply to it on replay and at runtime;
// snapshot() lists the ops that rebuild it (compaction). No I/O, no broker objects but Message.

import type { Message } from '../message.js';
import type { SubscriptionOptions } from '../router.js';
import type { Op, OutRecord, SessionMeta } from './records.js';

export interface DurableSession {
  meta: SessionMeta;
  subscriptions: Map<string, SubscriptionOptions>;
  /** Deliveries by sequence number, in sequence order (= delivery order). */
  out: Map<number, OutRecord>;
  /** The highest sequence number in `out` so far. */
  lastSeq: number;
  /** Inbound QoS 2 messages by packet id, until PUBREL; null = an id from a format 1/2 store (already routed). */
  inboundQos2: Map<number, Message | null>;
}

export class DurableState {
  readonly retained = new Map<string, Message>();
  readonly sessions = new Map<string, DurableSession>();
  /** Messages referenced by deliveries, with their reference counts. */
  readonly messages = new Map<number, { message: Message; refs: number }>();

  apply(op: Op): void {
    switch (op.type) {
      case 'retain':
        if (op.message === null) this.retained.delete(op.topic);
        else this.retained.set(op.topic, op.message);
        return;
      case 'session': {
        const existing = this.sessions.get(op.meta.clientId);
        if (existing) existing.meta = op.meta;
        else this.sessions.set(op.meta.clientId, { meta: op.meta, subscriptions: new Map(), out: new Map(), lastSeq: 0, inboundQos2: new Map() });
        return;
      }
      case 'sessionEnd': {
        const session = this.sessions.get(op.clientId);
        if (!session) return;
        for (const record of session.out.values()) this.release(record.msgId);
        this.sessions.delete(op.clientId);
        return;
      }
      case 'sub': this.sessions.get(op.clientId)?.subscriptions.set(op.filter, op.options); return;
      case 'unsub': this.sessions.get(op.clientId)?.subscriptions.delete(op.filter); return;
      case 'msg': if (!this.messages.has(op.msgId)) this.messages.set(op.msgId, { message: op.message, refs: 0 }); return;
      case 'out': {
        const session = this.sessions.get(op.record.clientId);
        const stored = this.messages.get(op.record.msgId);
        if (!session || !stored || session.out.has(op.record.seq)) return;
        stored.refs++;
        if (op.record.seq > session.lastSeq) {
          session.out.set(op.record.seq, op.record);
          session.lastSeq = op.record.seq;
        } else {
          // Only when replaying a compacted store: a delivery whose message the snapshot had not
          // read yet comes back from the ops after it, behind later ones; keep delivery order.
          const entries = [...session.out, [op.record.seq, op.record] as const].sort(([a], [b]) => a - b);
          session.out.clear();
          for (const [seq, record] of entries) session.out.set(seq, record);
        }
        return;
      }
      case 'outSent': { const r = this.sessions.get(op.clientId)?.out.get(op.seq); if (r) r.packetId = op.packetId; return; }
      case 'outRel': { const r = this.sessions.get(op.clientId)?.out.get(op.seq); if (r) r.released = true; return; }
      case 'outDel': {
        const session = this.sessions.get(op.clientId);
        const record = session?.out.get(op.seq);
        if (!session || !record) return;
        session.out.delete(op.seq);
        this.release(record.msgId);
        return;
      }
      case 'in2': {
        const session = this.sessions.get(op.clientId);
        if (!session) return;
        if (op.add) session.inboundQos2.set(op.packetId, op.message);
        else session.inboundQos2.delete(op.packetId);
        return;
      }
    }
  }

  private release(msgId: number): void {
    const stored = this.messages.get(msgId);
    if (stored && --stored.refs <= 0) this.messages.delete(msgId);
  }

  /** Messages with no delivery left (a MSG op whose OUT op never came): dropped after replay. */
  dropUnreferenced(): void {
    for (const [id, stored] of this.messages) if (stored.refs <= 0) this.messages.delete(id);
  }

  /** The ops that rebuild this state from nothing, in an order replay accepts. */
  *snapshot(): Generator<Op> {
    for (const [topic, message] of this.retained) yield { type: 'retain', topic, message };
    for (const [msgId, stored] of this.messages) yield { type: 'msg', msgId, message: stored.message };
    for (const session of this.sessions.values()) {
      const clientId = session.meta.clientId;
      yield { type: 'session', meta: session.meta };
      for (const [filter, options] of session.subscriptions) yield { type: 'sub', clientId, filter, options };
      for (const record of session.out.values()) yield { type: 'out', record: { ...record } };
      for (const [packetId, message] of session.inboundQos2) yield { type: 'in2', clientId, packetId, add: true, message };
    }
  }
}
