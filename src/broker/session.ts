// One client's session state: outgoing inflight window, offline/overflow queue, inbound QoS 2
// messages awaiting PUBREL, will and expiry timers. Knows no sockets: it talks to a SessionLink (the connection).

import type { QoS } from '../codec/index.js';
import type { FanoutCache } from './fanout.js';
import type { Message, Outgoing } from './message.js';
import { detachPayload, isExpired, pinsChunk } from './message.js';
import { detachSoon } from './detach-soon.js';
import type { ViewHolder } from './detach-soon.js';
import type { ResolvedBrokerOptions } from './options.js';
import type { Metrics } from './metrics.js';
import type { ClientInfo } from './hooks.js';

/** What a session needs from the live connection it is attached to. */
export interface SessionLink {
  /** Writes a PUBLISH; returns false when it was dropped (over the client's Maximum Packet Size). */
  sendPublish(out: Outgoing, dup: boolean, cache: FanoutCache | null): boolean;
  sendPubrel(packetId: number): void;
  /** False while the socket's outbound buffer is over its bound: QoS 0 is dropped, not queued. */
  writable(): boolean;
}

/** Where a persistent session's delivery changes are recorded (src/broker/persistence); null = memory only. */
export interface SessionJournal {
  queued(session: Session, out: Outgoing): void;
  sent(session: Session, out: Outgoing): void;
  released(session: Session, out: Outgoing): void;
  removed(session: Session, out: Outgoing): void;
}

export interface WillMessage {
  message: Message;
  /** Seconds (5.0 Will Delay Interval). */
  delay: number;
}

/**
 * Shared by every session with nothing in flight / no inbound QoS 2 state: an idle connection
 * should not pay for empty Maps (issue 3 counts bytes per idle connection). Never written:
 * the writers below swap in a session's own collection first.
 */
const NO_INFLIGHT: ReadonlyMap<number, Outgoing> = new Map();
const NO_INBOUND_QOS2: ReadonlyMap<number, Message | null> = new Map();
const NO_QUEUE: readonly Outgoing[] = Object.freeze([]);

export class Session implements ViewHolder {
  link: SessionLink | null = null;
  /** Session Expiry Interval in seconds; 0xFFFFFFFF never expires. */
  expiryInterval = 0;
  /** Outgoing QoS 1/2 messages awaiting acknowledgement, in send order. */
  inflight: ReadonlyMap<number, Outgoing> = NO_INFLIGHT;
  /** Messages waiting for the window or for the client to come back. */
  queue: readonly Outgoing[] = NO_QUEUE;
  queuedBytes = 0;
  /**
   * Inbound QoS 2 messages that got PUBREC and wait for PUBREL [MQTT-4.3.3-9], by packet id: routed
   * only at PUBREL, as Mosquitto does. null = an id restored from a store written by an mqx that
   * routed at PUBLISH: already delivered, so its PUBREL only completes it.
   */
  inboundQos2: ReadonlyMap<number, Message | null> = NO_INBOUND_QOS2;
  /** Client's Receive Maximum (5.0) or max_inflight_messages. */
  sendQuota: number;
  /** Payload bytes of `inflight`, for max_inflight_bytes (recounted on attach: restore fills `inflight` directly). */
  inflightBytes = 0;
  willTimer: NodeJS.Timeout | null = null;
  pendingWill: WillMessage | null = null;
  expiryTimer: NodeJS.Timeout | null = null;
  /** When the session went offline (ms), for $SYS and expiry. */
  offlineSince = 0;
  private nextPacketId = 1;
  /** Who owns the session, for authorization at delivery time. */
  clientInfo: ClientInfo;
  journal: SessionJournal | null = null;

  constructor(readonly clientId: string, private readonly options: ResolvedBrokerOptions, private readonly metrics: Metrics, clientInfo?: ClientInfo) {
    this.sendQuota = options.max_inflight_messages || 65535;
    this.clientInfo = clientInfo ?? { clientId, protocolVersion: 4 };
  }

  /** Offers one message to this subscriber: send now, queue, or drop (and count the drop). */
  deliver(message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, sharedGroup: string | null, cache: FanoutCache | null): void {
    const link = this.link;
    if (qos === 0) {
      if (link) {
        if (!link.writable()) { this.metrics.dropped++; return; }
        const out: Outgoing = { message, qos, retain, subscriptionIds, sharedGroup, packetId: 0, released: false };
        if (!link.sendPublish(out, false, cache)) this.metrics.dropped++;
        return;
      }
      if (!this.options.queue_qos0_messages) { this.metrics.dropped++; return; }
    }
    const out: Outgoing = { message, qos, retain, subscriptionIds, sharedGroup, packetId: 0, released: false };
    if (link && qos > 0 && this.windowOpen() && this.queue.length === 0) {
      this.sendNew(out, cache);
      return;
    }
    this.enqueue(out);
  }

  /**
   * Room for one more QoS 1/2 message in flight: under the count quota and, with Mosquitto's
   * max_inflight_bytes, while the bytes in flight are below it (a larger message still goes
   * out alone, as in Mosquitto).
   */
  private windowOpen(): boolean {
    const byteLimit = this.options.max_inflight_bytes;
    return this.inflight.size < this.sendQuota && (byteLimit === 0 || this.inflightBytes < byteLimit);
  }

  private enqueue(out: Outgoing): void {
    const limit = this.options.max_queued_messages;
    const byteLimit = this.options.max_queued_bytes;
    const size = out.message.payload.length;
    if ((limit > 0 && this.queue.length >= limit) || (byteLimit > 0 && this.queuedBytes + size > byteLimit)) {
      this.metrics.dropped++;
      return;
    }
    if (pinsChunk(out.message.payload)) detachSoon(this);
    if (this.queue === NO_QUEUE) this.queue = [];
    (this.queue as Outgoing[]).push(out);
    this.queuedBytes += size;
    this.journal?.queued(this, out);
  }

  private sendNew(out: Outgoing, cache: FanoutCache | null): void {
    out.packetId = this.allocatePacketId();
    if (this.link!.sendPublish(out, false, cache)) {
      if (pinsChunk(out.message.payload)) detachSoon(this);
      this.track(out.packetId, out);
      this.inflightBytes += out.message.payload.length;
      this.journal?.sent(this, out);
    } else {
      // [MQTT-3.1.2-25] too large for the client: discarded as if it had been sent and acknowledged
      this.metrics.dropped++;
      this.journal?.removed(this, out);
    }
  }

  /** Outgoing packet ids from 1 per client, skipping ids still in flight [MQTT-2.2.1-3]. */
  private allocatePacketId(): number {
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2): the message is done. False if the id was unknown. */
  complete(packetId: number): boolean {
    const out = this.inflight.get(packetId);
    if (out === undefined) return false;
    this.untrack(packetId);
    this.inflightBytes -= out.message.payload.length;
    this.journal?.removed(this, out);
    this.drain();
    return true;
  }

  /** PUBREC: QoS 2 message received by the client; answer PUBREL. False if the id was unknown. */
  received(packetId: number, failed: boolean): boolean {
    const out = this.inflight.get(packetId);
    if (!out) return false;
    if (failed) {
      // 5.0 PUBREC with a reason code >= 0x80 ends the exchange [MQTT-4.3.3-4 note]
      this.complete(packetId);
      return true;
    }
    out.released = true;
    this.journal?.released(this, out);
    this.link?.sendPubrel(packetId);
    return true;
  }

  /** Fills the inflight window from the queue, dropping expired messages. */
  drain(): void {
    const link = this.link;
    if (!link) return;
    const now = Date.now();
    while (this.queue.length > 0 && this.windowOpen()) {
      const out = (this.queue as Outgoing[]).shift()!;
      this.queuedBytes -= out.message.payload.length;
      if (isExpired(out.message, now)) { this.metrics.dropped++; this.journal?.removed(this, out); continue; }
      if (out.qos === 0) {
        if (!link.sendPublish(out, false, null)) this.metrics.dropped++;
        this.journal?.removed(this, out);
      } else {
        this.sendNew(out, null);
      }
      if (this.link !== link) return;
    }
  }

  /** A connection took this session over: resend unacknowledged messages with DUP, then drain [MQTT-4.4.0-1]. */
  attach(link: SessionLink): void {
    this.link = link;
    this.offlineSince = 0;
    // A new session (most connections) has nothing to resend or drain.
    if (this.inflight.size === 0 && this.queue.length === 0) { this.inflightBytes = 0; return; }
    const now = Date.now();
    for (const [packetId, out] of this.inflight) {
      if (out.released) {
        link.sendPubrel(packetId);
      } else if (isExpired(out.message, now)) {
        this.untrack(packetId);
        this.journal?.removed(this, out);
      } else if (!link.sendPublish(out, true, null)) {
        this.untrack(packetId);
        this.journal?.removed(this, out);
      }
    }
    this.inflightBytes = this.countInflightBytes();
    this.drain();
  }

  detach(): void {
    this.link = null;
    this.offlineSince = Date.now();
  }

  /** Removes and returns every not-yet-acknowledged delivery that came from a shared subscription. */
  takeSharedDeliveries(): Outgoing[] {
    const taken: Outgoing[] = [];
    for (const [packetId, out] of this.inflight) {
      if (out.sharedGroup !== null && !out.released) { taken.push(out); this.untrack(packetId); }
    }
    this.inflightBytes = this.countInflightBytes();
    const kept: Outgoing[] = [];
    for (const out of this.queue) (out.sharedGroup !== null ? taken : kept).push(out);
    if (kept.length !== this.queue.length) {
      this.queue = kept;
      this.queuedBytes = kept.reduce((sum, out) => sum + out.message.payload.length, 0);
    }
    if (this.journal !== null) for (const out of taken) this.journal.removed(this, out);
    return taken;
  }

  /** Copies the payloads of the messages it holds that are still views into socket read chunks. */
  detachPayloads(): void {
    for (const out of this.queue) detachPayload(out.message);
    for (const out of this.inflight.values()) detachPayload(out.message);
    for (const message of this.inboundQos2.values()) if (message !== null) detachPayload(message);
  }

  /** A queued message read back from the store: queued as it was, no limits applied. */
  restoreQueued(out: Outgoing): void {
    if (this.queue === NO_QUEUE) this.queue = [];
    (this.queue as Outgoing[]).push(out);
    this.queuedBytes += out.message.payload.length;
  }

  /** Records a message as in flight under `packetId` (also used by restore). */
  track(packetId: number, out: Outgoing): void {
    if (this.inflight === NO_INFLIGHT) this.inflight = new Map();
    (this.inflight as Map<number, Outgoing>).set(packetId, out);
  }

  private untrack(packetId: number): void {
    if (this.inflight !== NO_INFLIGHT) (this.inflight as Map<number, Outgoing>).delete(packetId);
  }

  /** An inbound QoS 2 message got PUBREC [MQTT-4.3.3-9]: kept here until its PUBREL (also used by restore). */
  addInboundQos2(packetId: number, message: Message | null): void {
    if (this.inboundQos2 === NO_INBOUND_QOS2) this.inboundQos2 = new Map();
    (this.inboundQos2 as Map<number, Message | null>).set(packetId, message);
    if (message !== null && pinsChunk(message.payload)) detachSoon(this);
  }

  /** PUBREL: removes and returns the message pending under `packetId`; undefined when the id was not known. */
  takeInboundQos2(packetId: number): Message | null | undefined {
    if (this.inboundQos2 === NO_INBOUND_QOS2) return undefined;
    const pending = this.inboundQos2 as Map<number, Message | null>;
    const message = pending.get(packetId);
    if (message !== undefined) pending.delete(packetId);
    return message;
  }

  private countInflightBytes(): number {
    let bytes = 0;
    for (const out of this.inflight.values()) bytes += out.message.payload.length;
    return bytes;
  }

  clearTimers(): void {
    if (this.willTimer) clearTimeout(this.willTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.willTimer = null;
    this.expiryTimer = null;
  }
}
