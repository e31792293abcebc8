// The one codec: the only importer of mqtt-packet. Frames bytes into packets (one decoder per
// connection, with size and framing checks mqtt-packet lacks) and encodes packets; no sockets.

import mqttPacket from 'mqtt-packet';
import type { Packet, IPublishPacket } from 'mqtt-packet';
import { MqttError, ReasonCode } from './reason-codes.js';

export type {
  Packet, IConnectPacket, IConnackPacket, IPublishPacket, IPubackPacket, IPubrecPacket, IPubrelPacket,
  IPubcompPacket, ISubscribePacket, ISubackPacket, IUnsubscribePacket, IUnsubackPacket, IPingreqPacket,
  IPingrespPacket, IDisconnectPacket, IAuthPacket, ISubscription, UserProperties, QoS,
} from 'mqtt-packet';
export { MqttError, ReasonCode, ConnackReturnCode, reasonName, connackReturnCodeFor } from './reason-codes.js';
export type { ReasonCodeValue } from './reason-codes.js';

/** 3 = MQTT 3.1 (MQIsdp), 4 = 3.1.1, 5 = 5.0. */
export type ProtocolVersion = 3 | 4 | 5;

/** Largest Remaining Length the 4-byte variable integer can hold [MQTT-2.2.3]. */
export const MAX_REMAINING_LENGTH = 268_435_455;

export interface DecoderHandlers {
  packet(packet: Packet): void;
  error(error: MqttError): void;
}

/**
 * Turns a byte stream into packets. Before mqtt-packet sees a chunk, a cheap frame scan checks
 * every fixed header: a 5th length byte or a packet over `maxPacketSize` is refused before any
 * body is buffered, so a hostile peer cannot make the broker hold a 256 MB packet.
 */
export class Decoder {
  private readonly parser: ReturnType<typeof mqttPacket.parser>;
  private headerBytes = 0;
  private remaining = 0;
  private multiplier = 1;
  private bodyLeft = 0;
  private failed = false;

  /** protocolVersion: for a client-side decoder (the server's learns it from CONNECT). */
  constructor(private readonly handlers: DecoderHandlers, public maxPacketSize = 0, protocolVersion?: ProtocolVersion) {
    this.parser = mqttPacket.parser(protocolVersion ? { protocolVersion } : undefined);
    this.parser.on('packet', (packet: Packet) => { if (!this.failed) handlers.packet(packet); });
    this.parser.on('error', (error: Error) => this.fail(mapParserError(error)));
  }

  /** Feeds one chunk; emits zero or more packets, or one error after which it stays silent. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    if (!this.scanFrames(chunk)) return;
    this.parser.parse(chunk);
  }

  private fail(error: MqttError): void {
    if (this.failed) return;
    this.failed = true;
    this.handlers.error(error);
  }

  private scanFrames(chunk: Buffer): boolean {
    const length = chunk.length;
    let i = 0;
    while (i < length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, length - i);
        this.bodyLeft -= take;
        i += take;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.headerBytes === 0) {
        if (byte >> 4 === 0) { this.fail(new MqttError(ReasonCode.MalformedPacket, 'reserved packet type 0')); return false; }
        this.headerBytes = 1;
        this.remaining = 0;
        this.multiplier = 1;
        continue;
      }
      this.headerBytes++;
      this.remaining += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if (byte & 0x80) {
        // [MQTT-1.5.5-1] at most four bytes of Remaining Length
        if (this.headerBytes >= 5) { this.fail(new MqttError(ReasonCode.MalformedPacket, 'bad remaining length')); return false; }
        continue;
      }
      const total = this.headerBytes + this.remaining;
      if (this.maxPacketSize > 0 && total > this.maxPacketSize) {
        this.fail(new MqttError(ReasonCode.PacketTooLarge, `packet of ${total} bytes is over the limit of ${this.maxPacketSize}`));
        return false;
      }
      this.bodyLeft = this.remaining;
      this.headerBytes = 0;
    }
    return true;
  }
}

function mapParserError(error: Error): MqttError {
  const message = error.message || 'malformed packet';
  if (/protocol version/i.test(message)) return new MqttError(ReasonCode.UnsupportedProtocolVersion, message);
  if (/Invalid protocolId|Cannot parse protocolId/.test(message)) return new MqttError(ReasonCode.UnsupportedProtocolVersion, message);
  if (/Not supported auth packet/.test(message)) return new MqttError(ReasonCode.ProtocolError, message);
  return new MqttError(ReasonCode.MalformedPacket, message);
}

/** Encodes one packet for the given protocol version. Throws on an unencodable packet. */
export function encode(packet: Packet, protocolVersion: ProtocolVersion): Buffer {
  return mqttPacket.generate(packet, { protocolVersion });
}

/**
 * Offset of the packet identifier in an encoded QoS 1/2 PUBLISH: after the fixed header, the
 * topic length and the topic. Lets one encoded PUBLISH be reused for every subscriber.
 */
export function publishPacketIdOffset(encoded: Buffer): number {
  let i = 1;
  while (encoded[i]! & 0x80) i++;
  i++;
  return i + 2 + encoded.readUInt16BE(i);
}

/** A copy of an encoded PUBLISH with its packet identifier (and DUP flag) set. */
export function patchPublish(encoded: Buffer, packetIdOffset: number, packetId: number, dup: boolean): Buffer {
  const copy = Buffer.allocUnsafe(encoded.length);
  encoded.copy(copy);
  copy.writeUInt16BE(packetId, packetIdOffset);
  copy[0] = dup ? copy[0]! | 0x08 : copy[0]! & ~0x08;
  return copy;
}

export type PublishProperties = NonNullable<IPublishPacket['properties']>;

/**
 * True when a string decoded from the wire came from well-formed UTF-8. Node replaces
 * ill-formed sequences (and encoded surrogates) with U+FFFD, so its presence is the signal;
 * a literal U+FFFD sent by a client is refused too, a documented limitation [MQTT-1.5.4-1].
 */
export function isWellFormedUtf8(text: string): boolean {
  return !text.includes('\uFFFD');
}

/** The size a PUBLISH will have on the wire, without encoding it (for maximum packet size checks). */
export function variableIntLength(value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}
