// Encode-once for fan-out: one encoded PUBLISH per group of identical (version, qos, retain,
// subscription ids) deliveries; each QoS 1/2 subscriber gets a copy with only its packet id patched.

import { encode, publishPacketIdOffset } from '../codec/index.js';
import type { IPublishPacket, ProtocolVersion, PublishProperties } from '../codec/index.js';
import type { Message, Outgoing } from './message.js';
import { remainingExpiry } from './message.js';

export interface EncodedPublish {
  bytes: Buffer;
  /** Where the packet id sits (QoS 1/2); -1 for QoS 0. */
  packetIdOffset: number;
}

/** Builds and encodes the PUBLISH one subscriber receives. topicAlias: 0 none; negative = alias only (topic omitted). */
export function encodeDelivery(out: Outgoing, version: ProtocolVersion, now: number, topicAlias = 0, dup = false): EncodedPublish {
  const message = out.message;
  const packet: IPublishPacket = {
    cmd: 'publish',
    topic: topicAlias < 0 ? '' : message.topic,
    payload: message.payload,
    qos: out.qos,
    retain: out.retain,
    dup,
  };
  if (out.qos > 0) packet.messageId = out.packetId || 1;
  if (version === 5) {
    const properties = propertiesFor(message, out, now, topicAlias);
    if (properties) packet.properties = properties;
  }
  const bytes = encode(packet, version);
  return { bytes, packetIdOffset: out.qos > 0 ? publishPacketIdOffset(bytes) : -1 };
}

function propertiesFor(message: Message, out: Outgoing, now: number, topicAlias: number): PublishProperties | undefined {
  const base = message.properties;
  const ids = out.subscriptionIds;
  if (!base && !ids && message.expiresAt === 0 && topicAlias === 0) return undefined;
  const properties: PublishProperties = base ? { ...base } : {};
  if (message.expiresAt !== 0) properties.messageExpiryInterval = remainingExpiry(message, now);
  if (ids && ids.length > 0) properties.subscriptionIdentifier = ids.length === 1 ? ids[0]! : ids;
  if (topicAlias !== 0) properties.topicAlias = Math.abs(topicAlias);
  return properties;
}

/** Per-publish cache of encodings; lives for one fan-out only (expiry is computed once for it). */
export class FanoutCache {
  /** Deliveries without subscription ids: slot (version - 3) * 6 + qos * 2 + retain. */
  private readonly plain: Array<EncodedPublish | undefined> = [];
  private keyed: Map<string, EncodedPublish> | null = null;

  constructor(readonly now: number) {}

  get(out: Outgoing, version: ProtocolVersion): EncodedPublish {
    const ids = out.subscriptionIds;
    if (ids === undefined || version !== 5) {
      const slot = (version - 3) * 6 + out.qos * 2 + (out.retain ? 1 : 0);
      return this.plain[slot] ??= encodeDelivery(out, version, this.now);
    }
    const key = `${out.qos}${out.retain ? 1 : 0}${ids.join(',')}`;
    this.keyed ??= new Map();
    let encoded = this.keyed.get(key);
    if (encoded === undefined) {
      encoded = encodeDelivery(out, version, this.now);
      this.keyed.set(key, encoded);
    }
    return encoded;
  }
}
