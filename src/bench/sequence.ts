// Per-publisher sequence tracking at a receiver: exact unique counts, duplicates, messages that
// arrived after a later one (order violations) and holes (gaps). Pure bookkeeping, no I/O.

/** What one receiver saw from one publisher. */
class PublisherTrack {
  bits = new Uint8Array(128);
  highest = -1;
  unique = 0;
  duplicates = 0;
  reordered = 0;

  /** Records one arrival; true when it is the first copy of this sequence number. */
  see(sequence: number): boolean {
    const byte = sequence >>> 3;
    if (byte >= this.bits.length) {
      let size = this.bits.length * 2;
      while (size <= byte) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (sequence & 7);
    if ((this.bits[byte]! & mask) !== 0) {
      this.duplicates++;
      return false;
    }
    this.bits[byte]! |= mask;
    this.unique++;
    if (sequence < this.highest) this.reordered++;
    else this.highest = sequence;
    return true;
  }
}

export interface SequenceTotals {
  unique: number;
  duplicates: number;
  reordered: number;
  /** Sequence numbers below the highest seen that never arrived. */
  gaps: number;
  publishers: number;
}

/**
 * One per receiving connection. Keys are (run, publisher): the run id is masked to 20 bits so
 * the key stays an exact double (run * 2^32 + publisher < 2^53).
 */
export class SequenceTracker {
  private readonly tracks = new Map<number, PublisherTrack>();
  /** First copies seen, from every publisher. */
  unique = 0;

  see(run: number, publisher: number, sequence: number): void {
    const key = (run & 0xfffff) * 4294967296 + publisher;
    let track = this.tracks.get(key);
    if (track === undefined) {
      track = new PublisherTrack();
      this.tracks.set(key, track);
    }
    if (track.see(sequence)) this.unique++;
  }

  /** Unique messages from one publisher of one run (for exact expected-vs-received checks). */
  uniqueFrom(run: number, publisher: number): number {
    return this.tracks.get((run & 0xfffff) * 4294967296 + publisher)?.unique ?? 0;
  }

  totals(): SequenceTotals {
    const totals: SequenceTotals = { unique: 0, duplicates: 0, reordered: 0, gaps: 0, publishers: this.tracks.size };
    for (const track of this.tracks.values()) {
      totals.unique += track.unique;
      totals.duplicates += track.duplicates;
      totals.reordered += track.reordered;
      totals.gaps += track.highest + 1 - track.unique;
    }
    return totals;
  }
}

export function addTotals(into: SequenceTotals, more: SequenceTotals): SequenceTotals {
  into.unique += more.unique;
  into.duplicates += more.duplicates;
  into.reordered += more.reordered;
  into.gaps += more.gaps;
  into.publishers += more.publishers;
  return into;
}
