// Start-up: rebuilds the broker's retained messages, sessions, subscriptions, deliveries, inbound
// QoS 2 messages awaiting PUBREL, delayed wills and expiry countdowns from the store's state. Runs once, before listen.
// Must not write to the store: what it restores is already there.

import type { Broker } from '../broker.js';
import type { Message, Outgoing } from '../message.js';
import type { Session } from '../session.js';
import type { Persistence } from './store.js';

export function restore(broker: Broker, persistence: Persistence): void {
  const state = persistence.state;
  const now = Date.now();
  const expired: Session[] = [];
  persistence.replaying = true;
  try {
    for (const [topic, message] of state.retained) {
      if (message.expiresAt !== 0 && message.expiresAt <= now) continue;
      broker.retained.set(topic, message);
    }
    for (const durable of state.sessions.values()) {
      const meta = durable.meta;
      const session = broker.sessions.create(meta.clientId);
      session.expiryInterval = meta.expiry;
      session.clientInfo = { clientId: meta.clientId, username: meta.username, protocolVersion: meta.protocolVersion };
      if (meta.listener !== undefined) session.clientInfo.listener = meta.listener;
      session.journal = persistence;
      // A session online when the broker stopped went offline then; we only know "now".
      session.offlineSince = meta.offlineSince !== 0 ? meta.offlineSince : now;
      for (const [filter, options] of durable.subscriptions) broker.router.add(meta.clientId, filter, options);
      broker.router.setOnline(meta.clientId, false);
      for (const [packetId, message] of durable.inboundQos2) session.addInboundQos2(packetId, message);
      for (const record of durable.out.values()) {
        const stored = state.messages.get(record.msgId);
        if (stored === undefined) continue;
        const out: Outgoing = {
          message: stored.message, qos: record.qos, retain: record.retain, subscriptionIds: record.subscriptionIds,
          sharedGroup: record.sharedGroup, packetId: record.packetId, released: record.released,
        };
        persistence.adopt(out, record, record.msgId);
        if (record.packetId !== 0) session.track(record.packetId, out);
        else session.restoreQueued(out);
      }
      if (!schedule(broker, session, meta.will, now)) expired.push(session);
    }
  } finally {
    persistence.replaying = false;
  }
  // Ended after replay so that the store records the end (and the will is published once).
  for (const session of expired) broker.guarded('expiring a restored session', () => broker.endSession(session));
}

/** The delayed will and the expiry countdown, from where they were; false = already expired. */
function schedule(broker: Broker, session: Session, will: { message: Message; delay: number; fireAt: number } | null, now: number): boolean {
  const elapsed = Math.max(0, now - session.offlineSince);
  const expiry = broker.sessions.effectiveExpiry(session);
  if (expiry !== 0xffffffff && elapsed >= expiry * 1000) {
    session.pendingWill = will === null ? null : { message: will.message, delay: will.delay };
    return false;
  }
  if (will !== null) {
    session.pendingWill = { message: will.message, delay: will.delay };
    const fireAt = will.fireAt !== 0 ? will.fireAt : session.offlineSince + will.delay * 1000;
    const due = Math.min(fireAt, session.offlineSince + expiry * 1000);
    session.willTimer = setTimeout(() => {
      session.willTimer = null;
      const pending = session.pendingWill;
      session.pendingWill = null;
      if (pending === null || session.link) return;
      broker.guarded('publishing a delayed will', () => {
        broker.publishWill(pending, session); // ACL-checked now, as every will
        broker.persistence?.sessionOffline(session);
      });
    }, Math.max(0, Math.min(due - now, 2_147_483_647)));
  }
  broker.sessions.scheduleExpiry(session, elapsed);
  return true;
}
