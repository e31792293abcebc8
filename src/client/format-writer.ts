// Writes formatted messages to a stream: in few, large writes (BatchWriter), or at once between
// -d trace lines (TraceOrderedSink). Never changes a byte of what it is given.

import type { Writable } from 'node:stream';
import type { Sink } from './format.js';

const HIGH_WATER = 256 * 1024;

export class BatchWriter implements Sink {
  private chunks: (Buffer | string)[] = [];
  private size = 0;
  private scheduled = false;

  constructor(private readonly stream: Writable) {}

  bytes(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.added(chunk.length);
  }

  text(chunk: string): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    // Multi-byte characters make this an underestimate; it only decides when to flush early.
    this.added(chunk.length);
  }

  private added(length: number): void {
    this.size += length;
    if (this.size >= HIGH_WATER) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => { this.scheduled = false; this.flush(); });
    }
  }

  /** Writes everything collected so far as one buffer. */
  flush(): void {
    if (this.chunks.length === 0) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.size = 0;
    if (chunks.length === 1) {
      const only = chunks[0]!;
      this.stream.write(typeof only === 'string' ? Buffer.from(only, 'utf8') : only);
      return;
    }
    let total = 0;
    for (const chunk of chunks) total += typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.length;
    const out = Buffer.allocUnsafe(total);
    let offset = 0;
    for (const chunk of chunks) {
      if (typeof chunk === 'string') offset += out.write(chunk, offset, 'utf8');
      else { chunk.copy(out, offset); offset += chunk.length; }
    }
    this.stream.write(out);
  }

  /** Flushes and resolves once the stream has taken everything written so far. */
  drain(): Promise<void> {
    this.flush();
    return new Promise((resolve) => {
      if (this.stream.writableLength === 0) resolve();
      else this.stream.write('', () => resolve());
    });
  }
}

/**
 * Output for -d: written at once, between the packet trace lines. libmosquitto acknowledges a
 * QoS 1/2 message (PUBACK, PUBCOMP) before it calls the message callback, MQTT.js after it emits
 * 'message'; so such a message's output waits for the trace line of its acknowledgement.
 */
export class TraceOrderedSink implements Sink {
  private held: { mid: number; chunks: (Buffer | string)[] } | undefined;
  constructor(private readonly stream: Writable) {}
  bytes(chunk: Buffer): void { this.write(chunk); }
  text(chunk: string): void { this.write(chunk); }
  private write(chunk: Buffer | string): void {
    if (this.held) this.held.chunks.push(chunk);
    else this.stream.write(chunk);
  }
  holdUntilAcknowledged(mid: number): void {
    this.release();
    this.held = { mid, chunks: [] };
    // MQTT.js acknowledges in the same turn; never hold output longer than that.
    process.nextTick(() => this.release());
  }
  acknowledged(mid: number | undefined): void {
    if (this.held?.mid === mid) this.release();
  }
  private release(): void {
    const held = this.held;
    this.held = undefined;
    for (const chunk of held?.chunks ?? []) this.stream.write(chunk);
  }
  async drain(): Promise<void> { this.release(); }
}
