// Message payloads from files and stdin for pub: the whole input as one payload (-f, -s) or one
// payload per line (-l), bytes kept exactly (no decoding). Reads only; never publishes.

import type { Readable } from 'node:stream';

/** All of a stream as one Buffer (-s). */
export async function readAll(input: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Each line of a stream without its '\n' (-l). An empty line is an empty payload; a last line
 * without a newline is still a message; '\r' is kept, as mosquitto_pub keeps it.
 */
export async function* readLines(input: Readable): AsyncGenerator<Buffer> {
  let pending: Buffer | null = null;
  for await (const raw of input) {
    const chunk: Buffer = typeof raw === 'string' ? Buffer.from(raw) : raw as Buffer;
    let start = 0;
    let newline = chunk.indexOf(10, start);
    while (newline >= 0) {
      const piece = chunk.subarray(start, newline);
      if (pending) {
        yield Buffer.concat([pending, piece]);
        pending = null;
      } else {
        yield piece;
      }
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      pending = pending ? Buffer.concat([pending, rest]) : rest;
    }
  }
  if (pending && pending.length > 0) yield pending;
}
