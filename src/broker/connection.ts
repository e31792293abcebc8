// One client connection: decoder, corked writes, bounded outbound buffer, read backpressure,
// keepalive bookkeeping and the ONE place where an error becomes a CONNACK, DISCONNECT or close.

import { Decoder, MqttError, ReasonCode, encode, patchPublish, connackReturnCodeFor } from '../codec/index.js';
import type { Packet, ProtocolVersion } from '../codec/index.js';
import type { Broker } from './broker.js';
import { dispatch } from './dispatch.js';
import { encodeDelivery } from './fanout.js';
import { ackBytes, PUBREL } from './handlers/acks.js';
import type { EncodedPublish, FanoutCache } from './fanout.js';
import type { Outgoing } from './message.js';
import { unmountDelivery } from './mount-point.js';
import { droppedOversizePublish, sentAck, sentConnack, sentPacket, sentPublish } from './packet-log.js';
import type { Session, SessionLink, WillMessage } from './session.js';
import { isTcpSocket, streamAddress } from './transport/transport.js';
import { disconnectLines, streamEndLine, streamErrorLine } from './disconnect-log.js';
import type { LogLine } from './disconnect-log.js';
import type { ClientStream } from './transport/transport.js';

/** Bytes a socket may hold unsent before QoS 0 messages to it are dropped (bounded outbound queue). */
const OUTBOUND_LIMIT = 4 * 1024 * 1024;
/** Connect-phase packets buffered while asynchronous authentication runs. */
const MAX_PENDING_PACKETS = 1000;

export type ConnectionState = 'new' | 'connecting' | 'connected' | 'closed';

/** Reason codes a 5.0 CONNACK may carry [MQTT-3.2.2-8]; other errors during CONNECT just close. */
const CONNACK_REASONS_V5 = new Set([0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f]);
/** The reason codes a 5.0 DISCONNECT may carry (spec 3.14.2.1); others become 0x82 Protocol Error. */
const DISCONNECT_REASONS_V5 = new Set([0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2]);
/** Errors with a 3.1.1 CONNACK return code (1 to 5); others close without CONNACK. */
const CONNACK_REASONS_V3 = new Set([0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x9a, 0x9b]);

/** A chunk this big means the client is streaming: let others run before reading it again. */
const YIELD_CHUNK_BYTES = 16 * 1024;

function endYield(connection: Connection): void {
  connection.yielding = false;
  connection.causedDrops = false;
  connection.resumeReading();
}

function flush(connection: Connection): void {
  connection.flush();
}

/** The stream's connection, so that four shared listener functions serve every stream instead of
 *  four closures per connection (issue 3 counts bytes per idle connection). */
const CONNECTION = Symbol('mqx.connection');
type OwnedStream = ClientStream & { [CONNECTION]: Connection };

// Connection.flags bits: eight booleans in one field (issue 3 counts bytes per idle connection).
const CLEAN = 1;
const DISCONNECTED_NORMALLY = 2;
const OUT_DURABLE = 4;
const READING_PAUSED = 8;
const WAITING_DRAIN = 16;
const YIELDING = 32;
const CAUSED_DROPS = 64;
/** Inside the onData of a connection not yet connected: its writes are flushed when the chunk is done, without a tick. */
const IN_DATA = 128;

export class Connection implements SessionLink {
  state: ConnectionState = 'new';
  protocolVersion: ProtocolVersion = 4;
  clientId = '';
  username: string | undefined;
  keepalive = 0;
  /**
   * When the client last sent something (ms); until CONNECT is accepted, when the connection was
   * opened, which the CONNECT deadline counts from (a slowloris trickle does not move it).
   */
  lastActivity = Date.now();
  session: Session | null = null;
  will: WillMessage | null = null;
  private flags = CLEAN;
  topicAliasesIn: Map<number, string> | null = null;
  topicAliasesOut: Map<string, number> | null = null;
  clientTopicAliasMaximum = 0;
  /** Client's Maximum Packet Size (5.0); 0 = protocol maximum. */
  maxPacketSizeOut = 0;
  /** Inbound QoS 2 messages the client may have unacknowledged (our Receive Maximum). */
  inboundQuota: number;
  /** Packets that arrived while CONNECT was being authenticated. */
  pending: Packet[] | null = null;
  /** Bytes written this event-loop turn, flushed as one buffer; null when nothing waits (no array per idle connection). */
  private outChunks: Buffer[] | null = null;
  private outBytes = 0;
  private readonly decoder: Decoder;
  /** From a TLS listener that takes usernames from client certificates (see StreamInfo). */
  certificateUsername: string | null | undefined;
  /** The listener's mount_point (prefixed to this client's topics, stripped from deliveries); null = none. */
  mountPoint: string | null = null;
  /** The last PUBLISH topic that passed validation. */
  lastValidTopic = '';
  private closeTimer: NodeJS.Timeout | null = null;

  constructor(readonly broker: Broker, readonly stream: ClientStream, private peer: string | undefined, readonly listener: string) {
    this.inboundQuota = broker.options.max_inflight_messages || 65535;
    this.decoder = new Decoder(this, broker.options.max_packet_size);
    (stream as OwnedStream)[CONNECTION] = this;
    stream.on('data', Connection.streamData);
    stream.on('error', Connection.streamError);
    // A net or direct socket that does not allow half-open connections always follows 'end' with
    // 'close': listening to both would turn its one 'end' listener into an array (bytes per idle connection).
    if (!isTcpSocket(stream) || stream.allowHalfOpen) stream.on('end', Connection.streamClosed);
    stream.on('close', Connection.streamClosed);
  }

  private static streamData(this: OwnedStream, chunk: Buffer): void {
    this[CONNECTION].onData(chunk);
  }

  private static streamError(this: OwnedStream, error: Error): void {
    this[CONNECTION].onStreamError(error);
  }

  private static streamClosed(this: OwnedStream): void {
    this[CONNECTION].onStreamClosed();
  }

  /** Clean session (3.1.1) / clean start (5.0). */
  get clean(): boolean { return (this.flags & CLEAN) !== 0; }
  set clean(value: boolean) { this.setFlag(CLEAN, value); }
  /** Set by DISCONNECT 0x00 (and 0x04 keeps the will): decides whether the will is published. */
  get disconnectedNormally(): boolean { return (this.flags & DISCONNECTED_NORMALLY) !== 0; }
  set disconnectedNormally(value: boolean) { this.setFlag(DISCONNECTED_NORMALLY, value); }
  /** Reading paused until the next loop turn after a full chunk (fairness). */
  get yielding(): boolean { return (this.flags & YIELDING) !== 0; }
  set yielding(value: boolean) { this.setFlag(YIELDING, value); }
  /** Set when a message from this client was dropped for a saturated subscriber. */
  get causedDrops(): boolean { return (this.flags & CAUSED_DROPS) !== 0; }
  set causedDrops(value: boolean) { this.setFlag(CAUSED_DROPS, value); }

  private setFlag(bit: number, value: boolean): void {
    this.flags = value ? this.flags | bit : this.flags & ~bit;
  }

  /**
   * `host:port` of the peer, asked of the socket on first use: most connections never need it
   * (no getpeername call, no strings kept per idle connection); other streams are 'stream'.
   */
  get remoteAddress(): string {
    if (this.peer === undefined) this.peer = streamAddress(this.stream);
    return this.peer;
  }

  /** Name for log lines: the client id once known. */
  get name(): string {
    return this.clientId || '<unknown>';
  }

  // --- decoder callbacks (Decoder calls these) ---
  packet(packet: Packet): void {
    if (this.state === 'closed') return;
    this.broker.metrics.messagesReceived++;
    if (this.pending) {
      if (this.pending.length >= MAX_PENDING_PACKETS) { this.closeWithError(new MqttError(ReasonCode.QuotaExceeded, 'too many packets before CONNACK')); return; }
      this.pending.push(packet);
      return;
    }
    try {
      dispatch(this, packet);
    } catch (error) {
      this.closeWithError(error);
    }
  }

  error(error: MqttError): void {
    this.closeWithError(error);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    if (this.state === 'connected') this.lastActivity = Date.now();
    this.broker.metrics.bytesReceived += chunk.length;
    // Until it is connected, a client's replies (its CONNACK) go out when its chunk is done,
    // without a process.nextTick: in a connect storm the tick machinery cost more than the
    // CONNACK's own code. A connected client's writes wait for the tick with everyone else's:
    // flushing its acks ahead of the deliveries made from the same chunk cost QoS 1 fan-in
    // 10-15% of its rate (the order in which the load reached the peers changed).
    const connecting = this.state !== 'connected';
    if (connecting) this.flags |= IN_DATA;
    try {
      this.decoder.push(chunk);
    } finally {
      this.flags &= ~IN_DATA;
    }
    if ((this.state as ConnectionState) === 'closed') return;
    if (connecting && this.outChunks !== null) this.flush();
    // Flow control: stop reading a client whose own replies cannot drain (STYLE habit 6).
    if ((this.flags & WAITING_DRAIN) === 0 && this.stream.writableNeedDrain) {
      this.flags |= WAITING_DRAIN;
      this.pauseReading();
      this.stream.once('drain', () => { this.flags &= ~WAITING_DRAIN; this.resumeReading(); });
    }
    // Fairness: a client sending full chunks yields until the next loop turn, so a flood from a
    // few publishers cannot starve timers, other clients or the subscribers' socket writes.
    if (chunk.length >= YIELD_CHUNK_BYTES && !this.yielding) {
      this.yielding = true;
      this.pauseReading();
      // Its messages are being dropped (subscribers saturated): reading faster only burns CPU
      // that the subscribers' side needs, so wait a millisecond instead of one loop turn.
      if (this.causedDrops) setTimeout(endYield, 1, this);
      else setImmediate(endYield, this);
    }
  }

  private pauseReading(): void {
    if ((this.flags & READING_PAUSED) === 0) { this.flags |= READING_PAUSED; this.stream.pause(); }
  }

  resumeReading(): void {
    if ((this.flags & (READING_PAUSED | WAITING_DRAIN | YIELDING)) === READING_PAUSED && this.state !== 'closed') {
      this.flags &= ~READING_PAUSED;
      this.stream.resume();
    }
  }

  /** Replays packets held back while CONNECT was authenticated. */
  flushPending(): void {
    const held = this.pending;
    this.pending = null;
    if (!held) return;
    for (const packet of held) this.packet(packet);
  }

  // --- writing ---
  /**
   * Queues bytes; everything written in one event-loop turn goes to the socket as ONE buffer
   * (a corked writev of thousands of 4-byte acks costs more than copying them together): on the
   * next tick, or, while CONNECT is handled, at the end of the connection's own chunk.
   */
  write(bytes: Buffer, durable = true): void {
    if (this.state === 'closed') return;
    if (durable) this.flags |= OUT_DURABLE;
    const chunks = this.outChunks;
    if (chunks === null) {
      this.outChunks = [bytes];
      if ((this.flags & IN_DATA) === 0) process.nextTick(flush, this);
    } else {
      chunks.push(bytes);
    }
    this.outBytes += bytes.length;
    this.broker.metrics.bytesSent += bytes.length;
    this.broker.metrics.messagesSent++;
  }

  flush(): void {
    const chunks = this.outChunks;
    if (chunks === null) return;
    const total = this.outBytes;
    const durable = (this.flags & OUT_DURABLE) !== 0;
    this.outChunks = null;
    this.outBytes = 0;
    this.flags &= ~OUT_DURABLE;
    if (this.stream.destroyed) return;
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
    // With persistence, acks wait until what they acknowledge is on disk (group commit).
    if (this.broker.persistence?.hold(this.stream, bytes, durable) === true) return;
    this.stream.write(bytes);
  }

  send(packet: Packet): void {
    if (this.broker.tracePackets) sentPacket(this, packet);
    this.write(encode(packet, this.protocolVersion));
  }

  writable(): boolean {
    return this.stream.writableLength + this.outBytes < OUTBOUND_LIMIT;
  }

  sendPublish(out: Outgoing, dup: boolean, cache: FanoutCache | null): boolean {
    if (this.state !== 'connected') return false;
    if (this.mountPoint !== null) {
      // Its own topic, so never the fan-out's shared encoding.
      const local = unmountDelivery(this.mountPoint, out);
      if (local === null) return false;
      out = local;
      cache = null;
    }
    const version = this.protocolVersion;
    let encoded: EncodedPublish;
    let patch = false;
    try {
      if (this.topicAliasesOut !== null) {
        encoded = encodeDelivery(out, version, cache?.now ?? Date.now(), this.outgoingAlias(out.message.topic), dup);
      } else if (cache !== null && !dup) {
        encoded = cache.get(out, version);
        patch = out.qos > 0;
      } else {
        encoded = encodeDelivery(out, version, Date.now(), 0, dup);
      }
    } catch (error) {
      // A message this client's protocol version cannot carry is dropped for it alone.
      this.broker.logger.log('warning', `Unable to send PUBLISH on '${out.message.topic}' to ${this.name}: ${(error as Error).message}`);
      return false;
    }
    if (this.broker.tracePackets) sentPublish(this, out, dup);
    // [MQTT-3.1.2-24] never send a packet over the client's Maximum Packet Size
    if (this.maxPacketSizeOut > 0 && encoded.bytes.length > this.maxPacketSizeOut) { droppedOversizePublish(this, encoded.bytes.length); return false; }
    // QoS 0/1 deliveries need not wait for the disk (a QoS 1 one lost in a crash comes again,
    // as its publisher was not acknowledged yet); QoS 2 ones carry a packet id that must be kept.
    this.write(patch ? patchPublish(encoded.bytes, encoded.packetIdOffset, out.packetId, false) : encoded.bytes, out.qos === 2);
    this.broker.metrics.publishSent++;
    return true;
  }

  /** Outbound topic alias (mqx option): positive = set alias with topic, negative = alias only. */
  private outgoingAlias(topic: string): number {
    const aliases = this.topicAliasesOut!;
    const known = aliases.get(topic);
    if (known !== undefined) return -known;
    if (aliases.size >= this.clientTopicAliasMaximum) return 0;
    const alias = aliases.size + 1;
    aliases.set(topic, alias);
    return alias;
  }

  sendPubrel(packetId: number): void {
    // The short form (no reason code) as Mosquitto sends it; paho 1.6 cannot parse the long one.
    this.sendAck(PUBREL, packetId, 0);
  }

  /** PUBACK, PUBREC, PUBREL or PUBCOMP (acks.ts), with its line in the packet trace. */
  sendAck(type: number, packetId: number, reasonCode: number): void {
    if (this.broker.tracePackets) sentAck(this, type, packetId, reasonCode);
    this.write(ackBytes(type, packetId, reasonCode, this.protocolVersion));
  }

  // --- closing ---
  /**
   * The one place an error reaches the wire (STYLE habit 2): during CONNECT a CONNACK refusal
   * (3.1.1 return code or 5.0 reason), afterwards a 5.0 DISCONNECT; 3.1.1 just closes.
   */
  closeWithError(error: unknown): void {
    if (this.state === 'closed') return;
    const mqttError = error instanceof MqttError ? error : new MqttError(ReasonCode.UnspecifiedError, error instanceof Error ? error.message : String(error));
    if (!(error instanceof MqttError)) this.broker.logger.log('error', `Error handling packet from client ${this.name}: ${mqttError.message}`);
    const code = mqttError.reasonCode;
    // Mosquitto logs what was wrong before its CONNACK refusal and the disconnection after it;
    // no line for the clients it closes when it stops. (Built only when logged: a line may name
    // the peer's address, a system call.)
    const lines = code === ReasonCode.ServerShuttingDown || !this.broker.logsConnections ? NO_LINES
      : disconnectLines({ name: this.name, address: this.remoteAddress, connected: this.state === 'connected' }, mqttError);
    logLines(this, lines.slice(0, -1));
    try {
      if (this.state === 'new' && code === ReasonCode.UnsupportedProtocolVersion) {
        // Version unknown: answer in the 3.1.1 format as Mosquitto does [MQTT-3.1.2-2]
        this.write(Buffer.from([0x20, 0x02, 0x00, 0x01]));
        if (this.broker.tracePackets) sentConnack(this, false, 1);
      } else if (this.state === 'connecting') {
        if (this.protocolVersion === 5) {
          if (CONNACK_REASONS_V5.has(code)) this.send({ cmd: 'connack', sessionPresent: false, reasonCode: code });
        } else if (CONNACK_REASONS_V3.has(code)) {
          this.send({ cmd: 'connack', sessionPresent: false, returnCode: connackReturnCodeFor(code) });
        }
      } else if (this.state === 'connected' && this.protocolVersion === 5) {
        // e.g. a second CONNECT with a bad protocol version: 0x84 is a CONNACK-only code [MQTT-3.1.0-2]
        this.send({ cmd: 'disconnect', reasonCode: DISCONNECT_REASONS_V5.has(code) ? code : ReasonCode.ProtocolError });
      }
    } catch {
      // An encoding failure while refusing must not stop the close.
    }
    logLines(this, lines.slice(-1));
    this.close(mqttError);
  }

  /** Ends the stream after flushing what was written; the broker's close handling runs once. */
  close(reason: MqttError | null = null): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.flush();
    this.state = 'closed';
    // (Ending a stream already destroyed would build a Node error with a stack trace, for nothing.)
    if (this.broker.persistence?.endAfterHeld(this.stream) !== true && !this.stream.destroyed) this.stream.end();
    // A peer that never reads must not keep the socket alive after we closed (a stream that is
    // already destroyed, e.g. when its 'close' brought us here, needs no timer).
    if (!this.stream.destroyed) {
      this.closeTimer = setTimeout(() => this.stream.destroy(), 2000);
      this.closeTimer.unref();
    }
    this.broker.connectionClosed(this, wasConnected, reason);
  }

  private onStreamError(error: Error): void {
    if (this.state === 'closed') return;
    if (this.broker.logsConnections) logLines(this, [streamErrorLine(this.name, error)]);
    this.close(new MqttError(ReasonCode.UnspecifiedError, error.message));
    this.stream.destroy();
  }

  private onStreamClosed(): void {
    if (this.closeTimer) { clearTimeout(this.closeTimer); this.closeTimer = null; }
    if (this.state === 'closed') return;
    if (this.broker.logsConnections) logLines(this, [streamEndLine(this.name, this.decoder.insideFrameBody)]);
    this.close(null);
    this.stream.destroy();
  }
}

const NO_LINES: readonly LogLine[] = [];

/** Logs the lines disconnect-log.ts words as Mosquitto does (the one place that mapping lives). */
function logLines(connection: Connection, lines: readonly LogLine[]): void {
  for (const [type, message] of lines) connection.broker.logger.log(type, message);
}
