// One bench publisher: a PUBLISH encoded once by the codec, then copied into batch buffers and
// patched per message (packet id, sequence, times) and written with one socket write per batch.

import type { ProtocolVersion } from '../codec/index.js';
import { encodePublishFrame } from '../codec/fast-encode.js';
import type { BenchClient } from './client.js';
import { FLAG_WARMUP, HEADER_BYTES, writeHeaderIdentity, writeHeaderMessage } from './header.js';

export class Publisher {
  /** Messages sent in the measured phase (after --warmup). */
  sent = 0;
  warmupSent = 0;
  /** Messages completed (PUBACK/PUBCOMP) and refused, measured phase and warm-up together. */
  completed = 0;
  failed = 0;
  /** Fixed-rate schedule: slots already sent, and when slot 0 was due. */
  scheduled = 0;
  scheduleStartMs = 0;
  done = false;
  /** Subscribers that receive this publisher's messages (scenario mode; 0 when unknown). */
  fanout = 0;
  private readonly template: Buffer;
  private readonly idOffset: number;
  private readonly payloadOffset: number;
  readonly frameBytes: number;

  constructor(
    readonly client: BenchClient,
    readonly index: number,
    readonly topic: string,
    readonly qos: 0 | 1 | 2,
    size: number,
    run: number,
    version: ProtocolVersion,
    readonly retain: boolean,
    /** Messages this publisher may send in the measured phase (Infinity: no limit). */
    readonly limit: number,
  ) {
    const payload = Buffer.alloc(size, 0x61);
    writeHeaderIdentity(payload, 0, 0, run, index);
    const frame = encodePublishFrame({ topic, payload, qos, retain, messageId: qos > 0 ? 1 : undefined }, version);
    if (frame === null) throw new Error(`cannot encode a PUBLISH to '${topic}'`);
    this.template = frame.bytes;
    this.idOffset = frame.idOffset;
    this.frameBytes = frame.bytes.length;
    this.payloadOffset = frame.bytes.length - size;
    if (size < HEADER_BYTES) throw new Error(`payload size ${size} is smaller than the ${HEADER_BYTES}-byte header`);
  }

  /** Messages this publisher may still send in the measured phase. */
  get remaining(): number {
    return this.limit - this.sent;
  }

  /**
   * Sends `count` messages in one write. The first was due at `intendedMs`, the next ones
   * `intervalMs` apart (0 at full speed: intended = sent). Warm-up messages are flagged and
   * numbered apart, so receivers skip them.
   */
  sendBatch(count: number, sentMs: number, intendedMs: number, intervalMs: number, warmup: boolean): void {
    const size = this.frameBytes;
    const batch = Buffer.allocUnsafe(size * count);
    // Fill by doubling: log2(count) copies instead of one per message.
    this.template.copy(batch, 0);
    let filled = size;
    const total = size * count;
    while (filled < total) {
      const take = Math.min(filled, total - filled);
      batch.copy(batch, filled, 0, take);
      filled += take;
    }
    const client = this.client;
    const idOffset = this.idOffset;
    let header = this.payloadOffset;
    for (let k = 0; k < count; k++, header += size) {
      const intended = intervalMs > 0 ? intendedMs + k * intervalMs : sentMs;
      if (this.qos > 0) {
        const id = client.allocateId();
        const at = header - this.payloadOffset + idOffset;
        batch[at] = id >> 8;
        batch[at + 1] = id & 0xff;
        client.sentAt[id] = sentMs;
        client.intendedAt[id] = intended;
      }
      if (warmup) {
        batch[header + 3] = FLAG_WARMUP;
        writeHeaderMessage(batch, header, this.warmupSent++, sentMs, intended);
      } else {
        writeHeaderMessage(batch, header, this.sent++, sentMs, intended);
      }
    }
    client.socket.write(batch);
  }
}
