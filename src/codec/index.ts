// The one codec: the only importer of mqtt-packet. Frames bytes into packets (one decoder per
// connection; fast paths from fast-*.ts for hot packets, mqtt-packet for the rest) and encodes; no sockets.

import mqttPacket from 'mqtt-packet';
import type { Packet, IPublishPacket } from 'mqtt-packet';
import { MqttError, ReasonCode } from './reason-codes.js';
import { FrameSplitter, SPLIT_MALFORMED, SPLIT_TOO_LARGE, bodyOffset } from './fast-frames.js';
import { parseFast, parseFastConnect } from './fast-parse.js';
import { encodeConnackV3, encodePublishFrame } from './fast-encode.js';

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

function onFrame(decoder: Decoder, buffer: Buffer, start: number, end: number): void {
  decoder.frame(buffer, start, end);
}

/**
 * Turns a byte stream into packets. It is its own frame splitter (one object per connection, not
 * two: idle connections are counted in bytes), which checks every fixed header first (a 5th length
 * byte or a packet over `maxPacketSize` is refused before its body is buffered); CONNECT and the
 * hot packets then go through the fast parsers, everything else through mqtt-packet, a frame at a time.
 */
export class Decoder extends FrameSplitter<Decoder> {
  private failed = false;
  /** 0 until a CONNECT was parsed (server side) or given (client side): fast paths need it. */
  protocolVersion: number;

  /** protocolVersion: for a client-side decoder (the server's learns it from CONNECT). */
  constructor(private readonly handlers: DecoderHandlers, maxPacketSize = 0, protocolVersion?: ProtocolVersion) {
    super(onFrame, maxPacketSize > 0 ? maxPacketSize : MAX_REMAINING_LENGTH + 5);
    this.protocolVersion = protocolVersion ?? 0;
  }

  /** Feeds one chunk; emits zero or more packets, or one error after which it stays silent. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    const result = this.split(this, chunk);
    if (result === SPLIT_MALFORMED) this.fail(new MqttError(ReasonCode.MalformedPacket, 'bad remaining length')); // [MQTT-1.5.5-1]
    else if (result === SPLIT_TOO_LARGE) this.fail(new MqttError(ReasonCode.PacketTooLarge, 'packet over the maximum packet size'));
  }

  /** One complete frame from the splitter. */
  frame(buffer: Buffer, start: number, end: number): void {
    if (this.failed) return;
    if (buffer[start]! >> 4 === 0) { this.fail(new MqttError(ReasonCode.MalformedPacket, 'reserved packet type 0')); return; }
    if (this.protocolVersion !== 0) {
      const fast = parseFast(buffer, start, end, this.protocolVersion);
      if (fast !== null) { this.handlers.packet(fast as Packet); return; }
    } else {
      const connect = parseFastConnect(buffer, start, end);
      if (connect !== null) { this.accept(connect as Packet); return; }
    }
    const parsed = parseWhole(buffer.subarray(start, end), this.protocolVersion);
    if (parsed instanceof Error) { this.fail(mapParserError(parsed, buffer.subarray(start, end))); return; }
    // mqtt-packet reports a packet identifier cut short by the remaining length as -1 instead of
    // an error; such a packet is malformed [MQTT-1.5.5-1], and answering it would encode id -1.
    const { messageId } = parsed as { messageId?: number };
    if (messageId !== undefined && messageId < 0) { this.fail(new MqttError(ReasonCode.MalformedPacket, 'packet identifier cut short')); return; }
    this.accept(parsed);
  }

  private accept(packet: Packet): void {
    if (packet.cmd === 'connect' && this.protocolVersion === 0) this.protocolVersion = packet.protocolVersion ?? 4;
    this.handlers.packet(packet);
  }

  private fail(error: MqttError): void {
    if (this.failed) return;
    this.failed = true;
    this.handlers.error(error);
  }
}

/** The part of mqtt-packet's parser used here. `settings` is what it reads the protocol version from. */
interface PacketParser {
  settings: object;
  parse(buffer: Buffer): number;
  on(event: 'packet', listener: (packet: Packet) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
}

/** Settings per protocol version (0 = not known yet: a CONNECT tells). */
const PARSER_SETTINGS: Record<number, object> = { 0: {}, 3: { protocolVersion: 3 }, 4: { protocolVersion: 4 }, 5: { protocolVersion: 5 } };
let sharedParser: PacketParser | null = null;
let parsedPacket: Packet | null = null;
let parseError: Error | null = null;

/**
 * Parses one complete frame with ONE mqtt-packet parser shared by every connection: a frame never
 * spans calls, so no connection needs a parser (and its buffer list stream) of its own. The
 * packet is handed out after parse() returns, so a handler can never re-enter the parser.
 */
function parseWhole(frame: Buffer, protocolVersion: number): Packet | Error {
  if (sharedParser === null) {
    const parser = mqttPacket.parser() as unknown as PacketParser;
    parser.on('packet', (packet) => { parsedPacket = packet; });
    parser.on('error', (error) => { parseError = error; });
    sharedParser = parser;
  }
  // mqtt-packet replaces its settings with each CONNECT it parses: set them for this connection.
  sharedParser.settings = PARSER_SETTINGS[protocolVersion] ?? PARSER_SETTINGS[0]!;
  const left = sharedParser.parse(frame);
  const packet = parsedPacket;
  const error = parseError;
  parsedPacket = null;
  parseError = null;
  // A parser left in an error or mid-packet state is not reused (cannot happen with whole frames).
  if (error !== null || left !== 0 || packet === null) sharedParser = null;
  if (error !== null) return error;
  if (packet === null || left !== 0) return new Error('malformed packet');
  return packet;
}

function mapParserError(error: Error, frame: Buffer): MqttError {
  const message = error.message || 'malformed packet';
  // A refused CONNECT names its protocol level or name, which the broker's log line quotes.
  if (/protocol version/i.test(message)) {
    const level = connectProtocol(frame)?.level;
    return new MqttError(ReasonCode.UnsupportedProtocolVersion, level === undefined ? message : `Invalid protocol version ${level}`);
  }
  // Not an MQTT CONNECT at all: closed without CONNACK, as Mosquitto does [MQTT-3.1.2-1].
  if (/Invalid protocolId|Cannot parse protocolId/.test(message)) {
    const name = connectProtocol(frame)?.name;
    return new MqttError(ReasonCode.ProtocolError, name === undefined ? message : `Invalid protocol "${name}"`);
  }
  if (/Not supported auth packet/.test(message)) return new MqttError(ReasonCode.ProtocolError, message);
  return new MqttError(ReasonCode.MalformedPacket, message);
}

/** The protocol name and level at the start of a CONNECT frame, when the frame holds them. */
function connectProtocol(frame: Buffer): { name: string; level: number | undefined } | undefined {
  if (frame.length < 2 || frame[0]! >> 4 !== 1) return undefined;
  const i = bodyOffset(frame, 0); // a whole frame from the splitter: its header is complete
  if (i + 2 > frame.length) return undefined;
  const length = frame.readUInt16BE(i);
  if (i + 2 + length > frame.length) return undefined;
  return { name: frame.toString('utf8', i + 2, i + 2 + length), level: frame[i + 2 + length] };
}

/** Encodes one packet for the given protocol version. Throws on an unencodable packet. */
export function encode(packet: Packet, protocolVersion: ProtocolVersion): Buffer {
  if (packet.cmd === 'publish') {
    const frame = encodePublishFrame(packet, protocolVersion);
    if (frame !== null) return frame.bytes;
  } else if (packet.cmd === 'connack' && protocolVersion < 5) {
    return encodeConnackV3(packet.sessionPresent, packet.returnCode ?? 0);
  }
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
