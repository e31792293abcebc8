// The bench's light MQTT client on src/codec: CONNECT/SUBSCRIBE through the codec, then a hot
// path of frame scanning, minimal PUBLISH/ack parsing and batched acks. No payload decoding here.

import type { Duplex } from 'node:stream';
import { Decoder, encode, reasonName } from '../codec/index.js';
import type { IConnackPacket, IConnectPacket, ISubackPacket, Packet, ProtocolVersion } from '../codec/index.js';
import { FrameSplitter, SPLIT_OK, bodyOffset } from '../codec/fast-frames.js';
import { encodePingreq, writeAck } from '../codec/fast-encode.js';
import { nowMs } from './header.js';

/** Called for every client event; one object for all clients, so nothing is allocated per message. */
export interface ClientHandlers {
  /** A PUBLISH arrived; its payload is buffer[start, end), read before returning. */
  publish(client: BenchClient, buffer: Buffer, start: number, end: number, receivedMs: number): void;
  /** One of our QoS 1/2 publishes completed (PUBACK / PUBCOMP); failed when the broker refused it. */
  completed(client: BenchClient, messageId: number, failed: boolean, receivedMs: number): void;
  /** After a chunk of input was handled: ack-clocked publishers send more here. */
  afterInput(client: BenchClient): void;
  /** The connection ended; `error` is undefined only after our own close(). */
  closed(client: BenchClient, error: Error | undefined): void;
}

export interface ClientSettings {
  clientId: string;
  username?: string;
  password?: string;
  version: ProtocolVersion;
  keepalive: number;
  clean: boolean;
  /** Milliseconds to wait for CONNACK. */
  connectTimeoutMs: number;
}

/** Why a connection could not be made, as a short reason for "failures by reason". */
export class ConnectFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ConnectFailure';
  }
}

const V311_CONNACK: Record<number, string> = {
  1: 'unacceptable protocol version', 2: 'identifier rejected', 3: 'server unavailable',
  4: 'bad user name or password', 5: 'not authorized',
};

/** Short reason for a socket error (ECONNREFUSED -> "connection refused"). */
export function socketErrorReason(error: Error & { code?: string }): string {
  switch (error.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': return 'connection reset';
    case 'ETIMEDOUT': return 'connect timed out';
    case 'EADDRNOTAVAIL': return 'address not available (--ifaddr?)';
    case 'EADDRINUSE': return 'no free local port (use --ifaddr)';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'host not found';
    case 'EPIPE': return 'broken pipe';
    default: return error.code ? `${error.code.toLowerCase()}: ${error.message}` : error.message;
  }
}

const PINGREQ = encodePingreq();
const DISCONNECT = Buffer.from([0xe0, 0x00]);
const ACK_BUFFER_BYTES = 4096;

export class BenchClient {
  /** Free slots for the driver: which publisher / subscriber this connection serves. */
  index = 0;
  owner: unknown = null;
  /** Our QoS 1/2 publishes awaiting PUBACK / PUBCOMP. */
  inflight = 0;
  /** Send times by packet identifier, for PUBACK/PUBCOMP latency. */
  readonly sentAt = new Float64Array(65536);
  readonly intendedAt = new Float64Array(65536);
  closing = false;
  private readonly idUsed = new Uint8Array(65536);
  private readonly qos2Received = new Uint8Array(65536);
  private nextId = 1;
  private acks = Buffer.allocUnsafe(ACK_BUFFER_BYTES);
  private ackBytes = 0;
  private chunkMs = 0;
  private readonly splitter = new FrameSplitter<BenchClient>(onFrame);
  private readonly decoder: Decoder;
  private waiting: ((packet: Packet) => void) | null = null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private ended = false;

  private constructor(readonly socket: Duplex, readonly version: ProtocolVersion, private readonly handlers: ClientHandlers) {
    this.decoder = new Decoder({
      packet: (packet) => this.onControlPacket(packet),
      error: (error) => this.fail(new Error(`malformed packet from the broker: ${error.message}`)),
    }, 0, version);
  }

  /** Opens the stream, sends CONNECT and resolves on an accepting CONNACK; rejects with ConnectFailure. */
  static connect(open: () => Duplex, settings: ClientSettings, handlers: ClientHandlers): Promise<BenchClient> {
    return new Promise((resolve, reject) => {
      let socket: Duplex;
      try {
        socket = open();
      } catch (error) {
        reject(new ConnectFailure(socketErrorReason(error as Error)));
        return;
      }
      const client = new BenchClient(socket, settings.version, handlers);
      let settled = false;
      const settle = (error: ConnectFailure | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          client.ended = true;
          socket.destroy();
          reject(error);
        } else {
          resolve(client);
        }
      };
      const timer = setTimeout(() => settle(new ConnectFailure('no CONNACK (timed out)')), settings.connectTimeoutMs);
      socket.on('error', (error: Error) => {
        if (!settled) settle(new ConnectFailure(socketErrorReason(error)));
        else client.fail(error);
      });
      socket.on('close', () => {
        if (!settled) settle(new ConnectFailure('connection closed before CONNACK'));
        else client.onClose();
      });
      socket.on('data', (chunk: Buffer) => client.onData(chunk));
      client.waiting = (packet) => {
        if (packet.cmd !== 'connack') return settle(new ConnectFailure(`unexpected ${packet.cmd} before CONNACK`));
        const connack = packet as IConnackPacket;
        const code = connack.reasonCode ?? connack.returnCode ?? 0;
        if (code !== 0) {
          const name = settings.version === 5 ? reasonName(code) : (V311_CONNACK[code] ?? `return code ${code}`);
          return settle(new ConnectFailure(`CONNACK refused: ${name}`));
        }
        client.startKeepalive(settings.keepalive);
        settle(null);
      };
      const connect: IConnectPacket = {
        cmd: 'connect', protocolId: settings.version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: settings.version,
        clientId: settings.clientId, clean: settings.clean, keepalive: settings.keepalive,
        ...(settings.username !== undefined ? { username: settings.username } : {}),
        ...(settings.password !== undefined ? { password: Buffer.from(settings.password) } : {}),
      };
      socket.write(encode(connect, settings.version));
    });
  }

  /** Subscribes to filters at one QoS; resolves with the granted codes, rejects when one is refused. */
  subscribe(filters: string[], qos: 0 | 1 | 2, timeoutMs: number): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiting = null; reject(new ConnectFailure('no SUBACK (timed out)')); }, timeoutMs);
      this.waiting = (packet) => {
        if (packet.cmd !== 'suback') return;
        clearTimeout(timer);
        this.waiting = null;
        const granted = (packet as ISubackPacket).granted.map((entry) => (typeof entry === 'number' ? entry : (entry as { qos: number }).qos));
        const refused = granted.find((code) => code >= 0x80);
        if (refused !== undefined) reject(new ConnectFailure(`SUBSCRIBE refused: ${this.version === 5 ? reasonName(refused) : 'failure'}`));
        else resolve(granted);
      };
      this.socket.write(encode({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos })) }, this.version));
    });
  }

  /** A free packet identifier for a QoS 1/2 publish (marks it in flight). */
  allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (this.idUsed[id] === 0) {
        this.idUsed[id] = 1;
        this.inflight++;
        return id;
      }
    }
  }

  /** Sends DISCONNECT and closes; the closed handler then gets no error. */
  close(): void {
    if (this.ended || this.closing) return;
    this.closing = true;
    this.stopKeepalive();
    this.socket.end(DISCONNECT);
    // A broker that never closes its side must not keep the bench alive.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  private startKeepalive(seconds: number): void {
    if (seconds <= 0) return;
    // Send PINGREQ well inside the keep-alive, so the broker never drops a quiet subscriber.
    this.keepaliveTimer = setInterval(() => { if (!this.ended) this.socket.write(PINGREQ); }, seconds * 500);
    this.keepaliveTimer.unref();
  }

  private stopKeepalive(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = null;
  }

  private onData(chunk: Buffer): void {
    // One clock read per chunk: every message in it arrived at the same time.
    this.chunkMs = nowMs();
    if (this.splitter.split(this, chunk) !== SPLIT_OK) {
      this.fail(new Error('malformed packet from the broker'));
      return;
    }
    if (this.ackBytes > 0) this.flushAcks();
    this.handlers.afterInput(this);
  }

  private queueAck(cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', messageId: number): void {
    if (this.ackBytes + 4 > ACK_BUFFER_BYTES) this.flushAcks();
    this.ackBytes = writeAck(this.acks, this.ackBytes, cmd, messageId);
  }

  private flushAcks(): void {
    if (!this.ended) this.socket.write(this.acks.subarray(0, this.ackBytes));
    // The written bytes belong to the socket now: start a fresh buffer.
    this.acks = Buffer.allocUnsafe(ACK_BUFFER_BYTES);
    this.ackBytes = 0;
  }

  /** Handles one complete frame; called by the splitter. */
  handleFrame(buffer: Buffer, start: number, end: number): void {
    const first = buffer[start]!;
    switch (first >> 4) {
      case 3: return this.onPublish(buffer, start, end, first);
      case 4: case 7: { // PUBACK, PUBCOMP: our publish is complete
        const position = bodyOffset(buffer, start);
        const id = (buffer[position]! << 8) | buffer[position + 1]!;
        const failed = end - position > 2 && buffer[position + 2]! >= 0x80;
        return this.complete(id, failed);
      }
      case 5: { // PUBREC: answer PUBREL unless the broker refused the message (5.0)
        const position = bodyOffset(buffer, start);
        const id = (buffer[position]! << 8) | buffer[position + 1]!;
        if (end - position > 2 && buffer[position + 2]! >= 0x80) return this.complete(id, true);
        return this.queueAck('pubrel', id);
      }
      case 6: { // PUBREL for a QoS 2 message we received
        const position = bodyOffset(buffer, start);
        const id = (buffer[position]! << 8) | buffer[position + 1]!;
        this.qos2Received[id] = 0;
        return this.queueAck('pubcomp', id);
      }
      case 13: return; // PINGRESP
      default:
        this.decoder.push(Buffer.from(buffer.subarray(start, end)));
    }
  }

  private complete(id: number, failed: boolean): void {
    if (this.idUsed[id] === 0) return; // not ours (or already completed): ignore
    this.idUsed[id] = 0;
    this.inflight--;
    this.handlers.completed(this, id, failed, this.chunkMs);
  }

  private onPublish(buffer: Buffer, start: number, end: number, first: number): void {
    const qos = (first >> 1) & 3;
    let position = bodyOffset(buffer, start);
    position += 2 + ((buffer[position]! << 8) | buffer[position + 1]!);
    let id = 0;
    if (qos > 0) {
      id = (buffer[position]! << 8) | buffer[position + 1]!;
      position += 2;
    }
    if (this.version === 5) { // skip the properties
      let length = 0;
      let multiplier = 1;
      let byte: number;
      do {
        byte = buffer[position++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
      } while ((byte & 0x80) !== 0 && position < end);
      position += length;
    }
    if (qos === 2) {
      // [MQTT-4.3.3-9] a resent QoS 2 PUBLISH before PUBREL is not a new message: acknowledge only.
      if (this.qos2Received[id] === 1) return this.queueAck('pubrec', id);
      this.qos2Received[id] = 1;
    }
    this.handlers.publish(this, buffer, position, end, this.chunkMs);
    if (qos === 1) this.queueAck('puback', id);
    else if (qos === 2) this.queueAck('pubrec', id);
  }

  private onControlPacket(packet: Packet): void {
    if (packet.cmd === 'disconnect') {
      const code = (packet as { reasonCode?: number }).reasonCode ?? 0;
      this.fail(new Error(`the broker sent DISCONNECT (${reasonName(code)})`));
      return;
    }
    this.waiting?.(packet);
  }

  private fail(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.stopKeepalive();
    this.socket.destroy();
    this.handlers.closed(this, error);
  }

  private onClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopKeepalive();
    this.handlers.closed(this, this.closing ? undefined : new Error('the broker closed the connection'));
  }
}

function onFrame(client: BenchClient, buffer: Buffer, start: number, end: number): void {
  client.handleFrame(buffer, start, end);
}
