// A minimal MQTT 3.1.1 client on a raw socket for load generation: pre-encoded, batched writes, acks in batches.
// Built on mqx's codec fast paths (dist/src/codec/fast-*.js); mqtt-packet only for CONNECT/SUBSCRIBE, once.

import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import mqttPacket from 'mqtt-packet';

const dist = fileURLToPath(new URL('../../dist/src/codec/', import.meta.url));
const frames = await import(`${dist}fast-frames.js`);
const encoders = await import(`${dist}fast-encode.js`);
export const { encodePublishFrame, copyPublishFrame, patchPublishFrame } = encoders;
const { FrameSplitter, bodyOffset } = frames;
const { writeAck } = encoders;

const PUBLISH = 3;
const PUBACK = 4;

/**
 * One connection. Callbacks (set before connect): onMessage(client, buffer, payloadStart, end, qos),
 * onPuback(client, messageId). Every QoS 1 message received is acknowledged in one write per chunk.
 */
export class RawClient {
  constructor(port, clientId, { keepalive = 0, clean = true } = {}) {
    this.port = port;
    this.clientId = clientId;
    this.keepalive = keepalive;
    this.clean = clean;
    this.socket = null;
    this.received = 0;
    this.onMessage = null;
    this.onPuback = null;
    this.afterData = null;    // called after each incoming chunk (publishers refill their window here)
    this.waiter = null;       // resolves on CONNACK / SUBACK
    this.ackBatch = null;
    this.ackOffset = 0;
    this.closed = false;
    this.splitter = new FrameSplitter(onFrame, 1 << 24);
  }

  /** Opens the socket and completes CONNECT/CONNACK; rejects on error or refusal. */
  connect(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const socket = connect({ port: this.port, host: '127.0.0.1', noDelay: true });
      this.socket = socket;
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`${this.clientId}: no CONNACK within ${timeoutMs} ms`)); }, timeoutMs);
      this.waiter = (type, bytes) => {
        clearTimeout(timer);
        if (type !== 2) return reject(new Error(`${this.clientId}: expected CONNACK, got type ${type}`));
        const code = bytes[3];
        if (code !== 0) return reject(new Error(`${this.clientId}: CONNACK refused ${code}`));
        resolve(this);
      };
      socket.on('data', (chunk) => this.handleData(chunk));
      socket.on('error', (error) => { clearTimeout(timer); this.closed = true; if (this.waiter) { const w = this.waiter; this.waiter = null; w(-1, Buffer.alloc(4)); } reject(error); });
      socket.on('close', () => { this.closed = true; });
      socket.write(mqttPacket.generate({
        cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: this.clientId, clean: this.clean, keepalive: this.keepalive,
      }));
    });
  }

  subscribe(filter, qos) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.clientId}: no SUBACK`)), 10000);
      this.waiter = (type, bytes) => {
        clearTimeout(timer);
        if (type !== 9) return reject(new Error(`${this.clientId}: expected SUBACK, got ${type}`));
        const granted = bytes[bytes.length - 1];
        if (granted === 0x80) return reject(new Error(`${this.clientId}: subscription refused`));
        resolve(granted);
      };
      this.socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] }));
    });
  }

  handleData(chunk) {
    // Acks for this chunk go out in one write; a QoS 1 frame is >= 7 bytes, an ack 4.
    this.ackBatch = null;
    this.ackOffset = 0;
    this.splitter.split(this, chunk);
    if (this.ackOffset > 0) this.socket.write(this.ackBatch.subarray(0, this.ackOffset));
    this.ackBatch = null;
    if (this.afterData !== null) this.afterData(this);
  }

  write(bytes) {
    return this.socket.write(bytes);
  }

  end() {
    if (this.socket && !this.closed) {
      this.socket.end(Buffer.from([0xe0, 0x00])); // DISCONNECT
    }
  }

  destroy() {
    if (this.socket) this.socket.destroy();
  }
}

function onFrame(client, buffer, start, end) {
  const type = buffer[start] >> 4;
  if (type === PUBLISH) {
    const qos = (buffer[start] >> 1) & 3;
    let position = bodyOffset(buffer, start);
    const topicLength = (buffer[position] << 8) | buffer[position + 1];
    position += 2 + topicLength;
    client.received++;
    if (qos > 0) {
      const messageId = (buffer[position] << 8) | buffer[position + 1];
      position += 2;
      if (client.ackBatch === null) client.ackBatch = Buffer.allocUnsafe(end - start + 4096);
      else if (client.ackOffset + 4 > client.ackBatch.length) {
        const bigger = Buffer.allocUnsafe(client.ackBatch.length * 2);
        client.ackBatch.copy(bigger, 0, 0, client.ackOffset);
        client.ackBatch = bigger;
      }
      client.ackOffset = writeAck(client.ackBatch, client.ackOffset, qos === 1 ? 'puback' : 'pubrec', messageId);
    }
    if (client.onMessage !== null) client.onMessage(client, buffer, position, end, qos);
    return;
  }
  if (type === PUBACK) {
    if (client.onPuback !== null) client.onPuback(client, (buffer[start + 2] << 8) | buffer[start + 3]);
    return;
  }
  if (client.waiter !== null) {
    const waiter = client.waiter;
    client.waiter = null;
    waiter(type, buffer.subarray(start, end));
  }
}

/** Connects `count` clients with at most `concurrency` handshakes in flight. */
export async function connectMany(port, prefix, count, concurrency = 100, options = {}) {
  const clients = new Array(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const index = next++;
      clients[index] = await new RawClient(port, `${prefix}${index}`, options).connect();
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return clients;
}
