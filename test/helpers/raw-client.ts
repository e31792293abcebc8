// A packet-level MQTT client for conformance tests, built on src/codec: sends any packet or raw
// bytes and hands back every packet the broker sent, with its exact bytes. Also starts brokers.

import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { Decoder, encode } from '../../src/codec/index.js';
import type { IConnackPacket, IConnectPacket, Packet, ProtocolVersion } from '../../src/codec/index.js';
import { createBroker } from '../../src/broker/broker.js';
import { isClientConductError } from '../../src/broker/disconnect-log.js';
import type { Broker } from '../../src/broker/broker.js';
import type { BrokerOptions } from '../../src/broker/options.js';
import type { LogType } from '../../src/broker/logger.js';

export interface Received {
  packet: Packet;
  bytes: Buffer;
}

export class RawClient {
  private readonly inbox: Received[] = [];
  private waiters: Array<(item: Received | null) => void> = [];
  private frames: Buffer = Buffer.alloc(0);
  private ended = false;
  private readonly closedPromise: Promise<void>;
  readonly version: ProtocolVersion;

  private constructor(readonly socket: Socket, version: ProtocolVersion) {
    this.version = version;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closedPromise = new Promise((resolve) => socket.once('close', () => {
      this.ended = true;
      for (const waiter of this.waiters) waiter(null);
      this.waiters = [];
      resolve();
    }));
    socket.on('error', () => {});
  }

  /** Opens a TCP connection to the broker (no MQTT yet), from `localAddress` if given (e.g. 127.0.0.2). */
  static open(port: number, version: ProtocolVersion = 4, host = '127.0.0.1', localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) }, () => { socket.off('error', reject); resolve(new RawClient(socket, version)); });
      socket.once('error', reject);
    });
  }

  /** Opens and completes CONNECT/CONNACK; throws unless the CONNACK accepts. */
  static async connect(port: number, version: ProtocolVersion, fields: Partial<IConnectPacket> = {}): Promise<{ client: RawClient; connack: IConnackPacket }> {
    const client = await RawClient.open(port, version);
    const connack = await client.handshake(fields);
    const code = connack.reasonCode ?? connack.returnCode ?? 0;
    if (code !== 0) throw new Error(`CONNACK refused with ${code}`);
    return { client, connack };
  }

  async handshake(fields: Partial<IConnectPacket> = {}): Promise<IConnackPacket> {
    this.send({ cmd: 'connect', protocolId: this.version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: this.version, clientId: '', clean: true, keepalive: 0, ...fields } as IConnectPacket);
    return (await this.expect('connack')) as IConnackPacket;
  }

  private onData(chunk: Buffer): void {
    // Split frames ourselves so each packet comes with its exact bytes.
    this.frames = Buffer.concat([this.frames, chunk]);
    for (;;) {
      if (this.frames.length < 2) return;
      let length = 0;
      let multiplier = 1;
      let i = 1;
      for (;;) {
        if (i >= this.frames.length) return;
        const byte = this.frames[i++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if (!(byte & 0x80)) break;
      }
      if (this.frames.length < i + length) return;
      const frame = this.frames.subarray(0, i + length);
      this.frames = this.frames.subarray(i + length);
      let parsed: Packet | undefined;
      const decoder = new Decoder({ packet: (packet) => { parsed = packet; }, error: (error) => { throw error; } }, 0, this.version);
      decoder.push(Buffer.from(frame));
      if (parsed) this.push({ packet: parsed, bytes: Buffer.from(frame) });
    }
  }

  private push(item: Received): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.inbox.push(item);
  }

  send(packet: Packet): void {
    this.socket.write(encode(packet, this.version));
  }

  sendBytes(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.from(bytes as Buffer));
  }

  /** The next packet with its bytes, or null if the broker closed first. Rejects after timeoutMs. */
  nextReceived(timeoutMs = 3000): Promise<Received | null> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no packet within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (item: Received | null) => { clearTimeout(timer); resolve(item); };
      this.waiters.push(waiter);
    });
  }

  async next(timeoutMs = 3000): Promise<Packet | null> {
    return (await this.nextReceived(timeoutMs))?.packet ?? null;
  }

  /** The next packet, which must be of type cmd. */
  async expect(cmd: Packet['cmd'], timeoutMs = 3000): Promise<Packet> {
    const packet = await this.next(timeoutMs);
    if (!packet) throw new Error(`connection closed while waiting for ${cmd}`);
    if (packet.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(packet)}`);
    return packet;
  }

  /** Resolves true if nothing arrives within ms (for "must not be sent" checks; bounded). */
  async silentFor(ms: number): Promise<boolean> {
    try {
      const packet = await this.next(ms);
      if (packet === null) return true;
      this.inbox.unshift({ packet, bytes: Buffer.alloc(0) });
      return false;
    } catch {
      return true;
    }
  }

  /** Resolves when the broker has closed the connection; collects what it sent before closing. */
  async closedByBroker(timeoutMs = 5000): Promise<Packet[]> {
    const seen: Packet[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('broker did not close the connection');
      const packet = await this.next(left).catch(() => { throw new Error('broker did not close the connection'); });
      if (packet === null) return seen;
      seen.push(packet);
    }
  }

  get closed(): Promise<void> {
    return this.closedPromise;
  }

  /** Closes the socket without DISCONNECT (a network failure, as far as the broker knows). */
  drop(): Promise<void> {
    this.socket.destroy();
    return this.closedPromise;
  }

  /** Sends DISCONNECT and closes. */
  async disconnect(reasonCode?: number): Promise<void> {
    if (!this.ended) {
      this.send(this.version === 5 ? { cmd: 'disconnect', reasonCode: reasonCode ?? 0 } : { cmd: 'disconnect' });
      this.socket.end();
    }
    await this.closedPromise;
  }
}

export interface TestBroker {
  broker: Broker;
  port: number;
  logs: Array<{ type: LogType; message: string }>;
  /** Opens a raw client; closed automatically after the test. */
  open(version?: ProtocolVersion): Promise<RawClient>;
  connect(version: ProtocolVersion, fields?: Partial<IConnectPacket>): Promise<RawClient>;
}

/**
 * Starts a broker in-process on 127.0.0.1 port 0; after the test closes every client, checks
 * that the broker logged no error and holds no connection, then closes it.
 */
export async function startBroker(t: TestContext, options: BrokerOptions = {}): Promise<TestBroker> {
  const logs: Array<{ type: LogType; message: string }> = [];
  const broker = createBroker({ sys_interval: 0, ...options, listeners: [{ port: 0, host: '127.0.0.1' }], logger: { log: (type, message) => logs.push({ type, message }) } });
  const [address] = await broker.listen();
  const clients: RawClient[] = [];
  t.after(async () => {
    await Promise.all(clients.map((client) => client.drop()));
    for (let i = 0; i < 200 && broker.connections.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const leaked = broker.connections.size;
    const errors = logs.filter((line) => line.type === 'error' && !isClientConductError(line.message));
    await broker.close();
    if (errors.length > 0) throw new Error(`broker logged errors: ${errors.map((line) => line.message).join('; ')}`);
    if (leaked > 0) throw new Error(`broker leaked ${leaked} connection(s)`);
  });
  const port = address!.port;
  return {
    broker,
    port,
    logs,
    async open(version: ProtocolVersion = 4) {
      const client = await RawClient.open(port, version);
      clients.push(client);
      return client;
    },
    async connect(version: ProtocolVersion, fields: Partial<IConnectPacket> = {}) {
      const client = await RawClient.open(port, version);
      clients.push(client);
      const connack = await client.handshake(fields);
      const code = connack.reasonCode ?? connack.returnCode ?? 0;
      if (code !== 0) throw new Error(`CONNACK refused with ${code}`);
      return client;
    },
  };
}

export const VERSIONS: ProtocolVersion[] = [4, 5];
