// Packet boundaries from the fixed header's remaining-length varint, so whole frames reach the parsers.
// Pure byte arithmetic: it never interprets a packet's body and never copies a frame that fits in one chunk.

/** Largest remaining length a 4-byte varint can hold [MQTT-1.5.5]. */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** frameLength() results below 1. */
export const FRAME_INCOMPLETE = 0;
export const FRAME_MALFORMED = -1;

/**
 * Total bytes (fixed header + remaining length) of the packet starting at `offset` when all of
 * it is inside buffer[offset, end); FRAME_INCOMPLETE (0) when more bytes are needed;
 * FRAME_MALFORMED (-1) when the remaining length takes more than 4 bytes [MQTT-1.5.5-1].
 */
export function frameLength(buffer: Uint8Array, offset: number, end: number): number {
  const total = declaredFrameLength(buffer, offset, end);
  return total > 0 && offset + total > end ? FRAME_INCOMPLETE : total;
}

/**
 * Bytes the frame starting at `offset` declares (header + body) once its header is complete,
 * even if the body is not there yet: FRAME_INCOMPLETE while the varint is cut, FRAME_MALFORMED
 * when it is too long. Lets a reader refuse an oversized packet before buffering it.
 */
export function declaredFrameLength(buffer: Uint8Array, offset: number, end: number): number {
  let value = 0;
  let multiplier = 1;
  let position = offset + 1;
  for (let i = 0; i < 4; i++, position++) {
    if (position >= end) return FRAME_INCOMPLETE;
    const byte = buffer[position]!;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return position + 1 - offset + value;
    multiplier *= 128;
  }
  return FRAME_MALFORMED;
}

/** Offset of the first body byte of a frame starting at `offset` whose header is complete. */
export function bodyOffset(buffer: Uint8Array, offset: number): number {
  let position = offset + 1;
  while ((buffer[position]! & 0x80) !== 0) position++;
  return position + 1;
}

/** Called once per complete frame: the packet is buffer[start, end). The buffer may be reused afterwards. */
export type FrameHandler<C> = (context: C, buffer: Buffer, start: number, end: number) => void;

/** push() results. */
export const SPLIT_OK = 0;
export const SPLIT_MALFORMED = 1;   // remaining length over 4 bytes: close the connection
export const SPLIT_TOO_LARGE = 2;   // a frame larger than maxFrameBytes: close (5.0: DISCONNECT 0x95)

/**
 * Cuts a byte stream into frames. A frame inside one chunk is handed over in place; only a frame
 * spread over chunks is copied, once, when its last byte arrives (never the rest of that chunk).
 */
export class FrameSplitter<C> {
  /** Pieces of a frame spread over chunks; null when nothing is held (most of the time). */
  private pending: Buffer[] | null = null;
  private pendingBytes = 0;
  private needed = 0; // bytes of the frame being collected, 0 while its header is incomplete

  constructor(private readonly onFrame: FrameHandler<C>, private readonly maxFrameBytes = MAX_REMAINING_LENGTH + 5) {}

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /** Whether a frame's header arrived whole and its body is still being collected. */
  get insideFrameBody(): boolean {
    return this.needed > 0;
  }

  /** Hands every complete frame of `chunk` (with what was held back) to onFrame(context, ...). */
  split(context: C, chunk: Buffer): number {
    const buffer = chunk;
    let offset = 0;
    const pending = this.pending;
    if (pending !== null) {
      if (this.needed === 0) {
        // The header itself was cut: join it with the chunk's first bytes to learn the frame's size.
        const head = Buffer.concat([...pending, chunk.subarray(0, 4)]);
        const declared = declaredFrameLength(head, 0, head.length);
        if (declared === FRAME_MALFORMED) return this.discard(SPLIT_MALFORMED);
        if (declared > this.maxFrameBytes) return this.discard(SPLIT_TOO_LARGE);
        if (declared === FRAME_INCOMPLETE) {
          pending.push(chunk);
          this.pendingBytes += chunk.length;
          return SPLIT_OK;
        }
        this.needed = declared;
      }
      if (this.pendingBytes + chunk.length < this.needed) {
        pending.push(chunk);
        this.pendingBytes += chunk.length;
        return SPLIT_OK;
      }
      // The collected frame ends inside this chunk: copy just that frame, the rest stays in place.
      const take = this.needed - this.pendingBytes;
      pending.push(chunk.subarray(0, take));
      const frame = Buffer.concat(pending, this.needed);
      this.pending = null;
      this.pendingBytes = 0;
      this.needed = 0;
      this.onFrame(context, frame, 0, frame.length);
      offset = take;
    }
    const end = buffer.length;
    while (offset < end) {
      const length = frameLength(buffer, offset, end);
      if (length > 0) {
        if (length > this.maxFrameBytes) return this.discard(SPLIT_TOO_LARGE);
        this.onFrame(context, buffer, offset, offset + length);
        offset += length;
        continue;
      }
      if (length === FRAME_MALFORMED) return this.discard(SPLIT_MALFORMED);
      const declared = declaredFrameLength(buffer, offset, end);
      if (declared > this.maxFrameBytes) return this.discard(SPLIT_TOO_LARGE);
      this.needed = declared > 0 ? declared : 0;
      // Keep only the tail; copy it when it is a small part of a big chunk, so the chunk can be freed.
      const tail = buffer.subarray(offset, end);
      this.pending = [tail.length * 4 < buffer.length ? Buffer.from(tail) : tail];
      this.pendingBytes = tail.length;
      break;
    }
    return SPLIT_OK;
  }

  private discard(code: number): number {
    this.pending = null;
    this.pendingBytes = 0;
    this.needed = 0;
    return code;
  }
}
