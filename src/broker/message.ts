// The application message as the broker holds it, shared (never copied) by every subscriber,
// and one subscriber's copy of it in flight. Data only.

import type { PublishProperties, QoS } from '../codec/index.js';
import type { ClientInfo } from './hooks.js';

export interface Message {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** 5.0 properties passed through unchanged, minus Topic Alias and Subscription Identifier. */
  properties: PublishProperties | undefined;
  /** Date.now() at which Message Expiry Interval runs out; 0 = never. */
  expiresAt: number;
  /** Client id of the publisher (null for the broker's own messages): no-local and retained ACL. */
  publisherId: string | null;
  /**
   * The publisher as it was connected (client id, user name, listener), for check_retain_source:
   * a retained message is re-authorised for write before delivery. Null (or absent) for the
   * broker's own messages and for messages restored from storage without it. Never mutated.
   */
  publisher?: ClientInfo | null;
}

/** One subscriber's delivery of a message: the QoS and flags it gets, and its packet id. */
export interface Outgoing {
  message: Message;
  qos: QoS;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  /** The shared group this delivery came from, for redistribution when its member leaves. */
  sharedGroup: string | null;
  packetId: number;
  /** QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP. */
  released: boolean;
}

export function isExpired(message: Message, now: number): boolean {
  return message.expiresAt !== 0 && message.expiresAt <= now;
}

/** Seconds left of a message's expiry interval, rounded up, as sent to a subscriber [MQTT-3.3.2-6]. */
export function remainingExpiry(message: Message, now: number): number {
  return Math.max(0, Math.ceil((message.expiresAt - now) / 1000));
}

/**
 * Payloads arrive as views into the socket's read chunk. A message kept beyond this turn
 * (retained, queued, in flight) gets its own copy when it is a small part of a big chunk, so it
 * does not pin the whole chunk (queued and in-flight ones a little later: detach-soon.ts).
 */
export function pinsChunk(payload: Buffer): boolean {
  return payload.buffer.byteLength > 8192 && payload.byteLength * 2 < payload.buffer.byteLength;
}

export function detachPayload(message: Message): void {
  if (pinsChunk(message.payload)) message.payload = Buffer.from(message.payload);
}
