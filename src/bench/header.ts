// The mqx bench payload header: who sent a message, its sequence number and when, so a receiver
// can measure latency, gaps, duplicates and reordering. Pure byte layout; no clocks, no sockets.

/** Bytes of the header at the start of every bench payload; -s may not be smaller. */
export const HEADER_BYTES = 32;

// 'M' 'Q' 'X' then a flags byte: a payload from another tool is recognised and ignored.
const MAGIC_0 = 0x4d;
const MAGIC_1 = 0x51;
const MAGIC_2 = 0x58;
/** Flag bit: sent during --warmup, not counted by receivers. */
export const FLAG_WARMUP = 0x01;

/*
 * Layout (big endian):
 *   0  'MQX' + flags (1 byte)
 *   4  run id (uint32): tells apart two benches publishing to one subscriber
 *   8  publisher index (uint32)
 *  12  sequence number of this publisher (uint32, from 0 after the warm-up)
 *  16  send time, ms since the epoch (float64): performance.timeOrigin + performance.now()
 *  24  intended send time (float64): the fixed-rate schedule's slot, for coordinated omission
 */

/** Writes the constant part of the header (magic, flags, run, publisher) once per template. */
export function writeHeaderIdentity(target: Buffer, offset: number, flags: number, run: number, publisher: number): void {
  target[offset] = MAGIC_0;
  target[offset + 1] = MAGIC_1;
  target[offset + 2] = MAGIC_2;
  target[offset + 3] = flags;
  target.writeUInt32BE(run >>> 0, offset + 4);
  target.writeUInt32BE(publisher >>> 0, offset + 8);
}

/** Writes the per-message part: sequence number and the two times. */
export function writeHeaderMessage(target: Buffer, offset: number, sequence: number, sentMs: number, intendedMs: number): void {
  target.writeUInt32BE(sequence >>> 0, offset + 12);
  target.writeDoubleBE(sentMs, offset + 16);
  target.writeDoubleBE(intendedMs, offset + 24);
}

/** True when buffer[offset, end) starts with an mqx bench header. */
export function hasHeader(buffer: Buffer, offset: number, end: number): boolean {
  return end - offset >= HEADER_BYTES && buffer[offset] === MAGIC_0 && buffer[offset + 1] === MAGIC_1 && buffer[offset + 2] === MAGIC_2;
}

export function headerFlags(buffer: Buffer, offset: number): number {
  return buffer[offset + 3]!;
}

export function headerRun(buffer: Buffer, offset: number): number {
  return buffer.readUInt32BE(offset + 4);
}

export function headerPublisher(buffer: Buffer, offset: number): number {
  return buffer.readUInt32BE(offset + 8);
}

export function headerSequence(buffer: Buffer, offset: number): number {
  return buffer.readUInt32BE(offset + 12);
}

export function headerSentMs(buffer: Buffer, offset: number): number {
  return buffer.readDoubleBE(offset + 16);
}

export function headerIntendedMs(buffer: Buffer, offset: number): number {
  return buffer.readDoubleBE(offset + 24);
}

/** The clock both ends use: epoch milliseconds with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
