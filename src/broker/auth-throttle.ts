// Authentication failure throttling (mqx's auth_fail_limit / auth_fail_window / auth_fail_ban):
// fail2ban's rule per source address. Pure policy with an injected clock; no sockets, no logging.

import { isIP } from 'node:net';

export interface AuthThrottleSettings {
  /** Failures within the window that ban an address; 0 turns throttling off. */
  limit: number;
  windowMs: number;
  /** The first ban; each ban of an address it earns again before being forgotten doubles, up to MAX_BACKOFF_FACTOR times. */
  banMs: number;
  /** Addresses remembered at once; the least recently failing is forgotten first. */
  maxEntries?: number;
}

/** A ban starts: what the caller logs, once per ban. */
export interface Ban {
  key: string;
  failures: number;
  ms: number;
  /** 1 for a first ban, 2 after a repeat (doubled), ... */
  strike: number;
}

/** A repeat offender's ban doubles each time, up to this factor of auth_fail_ban. */
export const MAX_BACKOFF_FACTOR = 64;
/** Enough for a distributed flood to cost at most a few MB; the oldest entries go first. */
export const DEFAULT_MAX_ENTRIES = 10_000;
/** Expired entries looked at per recorded failure, so forgotten addresses drain without a timer. */
const PRUNE_PER_FAILURE = 2;

interface Entry {
  /** Times of the last failures (at most `limit`), a ring once full. */
  times: number[];
  next: number;
  bannedUntil: number;
  strikes: number;
  /** After this the address has a clean slate: the entry is deleted. */
  forgetAt: number;
}

export class AuthThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;

  constructor(private readonly settings: AuthThrottleSettings, private readonly now: () => number = Date.now) {
    this.maxEntries = Math.max(1, settings.maxEntries ?? DEFAULT_MAX_ENTRIES);
  }

  /** Addresses currently remembered (failing recently or banned). */
  get size(): number {
    return this.entries.size;
  }

  /** Whether connections from this address are refused now, without checking their password. */
  banned(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    const now = this.now();
    if (now >= entry.forgetAt) { this.entries.delete(key); return false; }
    return now < entry.bannedUntil;
  }

  /** Records one failed authentication; returns the ban it starts, if it starts one. */
  failed(key: string): Ban | null {
    const { limit, windowMs, banMs } = this.settings;
    if (limit <= 0) return null;
    const now = this.now();
    this.prune(now);
    let entry = this.entries.get(key);
    if (entry !== undefined && now >= entry.forgetAt) { this.entries.delete(key); entry = undefined; }
    if (entry === undefined) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      entry = { times: [], next: 0, bannedUntil: 0, strikes: 0, forgetAt: 0 };
    } else {
      // Re-inserted: Map order is then least recently failing first, the eviction order.
      this.entries.delete(key);
    }
    this.entries.set(key, entry);
    if (now < entry.bannedUntil) return null; // a check that started before the ban
    if (entry.times.length < limit) entry.times.push(now);
    else entry.times[entry.next] = now;
    entry.next = (entry.next + 1) % limit;
    entry.forgetAt = Math.max(entry.forgetAt, now + windowMs);
    // Ring full: times[next] is the oldest of the last `limit` failures.
    if (entry.times.length < limit || now - entry.times[entry.next]! > windowMs) return null;
    entry.strikes++;
    const ms = banMs * Math.min(2 ** (entry.strikes - 1), MAX_BACKOFF_FACTOR);
    entry.bannedUntil = now + ms;
    // Remembered for one more ban length: failing again soon after earns a doubled ban.
    entry.forgetAt = now + 2 * ms;
    entry.times = [];
    entry.next = 0;
    return { key, failures: limit, ms, strike: entry.strikes };
  }

  private prune(now: number): void {
    let looked = 0;
    for (const [key, entry] of this.entries) {
      if (looked++ >= PRUNE_PER_FAILURE) break;
      if (now >= entry.forgetAt) this.entries.delete(key);
    }
  }
}

/**
 * The address a connection's failures are counted against: its IP without the port (so a
 * client cannot escape by reconnecting), an IPv4-mapped IPv6 address as IPv4, and an IPv6
 * address by its /64 (one host or site usually holds a whole /64, so per-address counting
 * would be escaped by changing the interface id). Null for streams without an IP address
 * (unix sockets, in-process streams): they are not throttled.
 */
export function sourceKey(remoteAddress: string): string | null {
  let host = remoteAddress;
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracket) host = bracket[1]!;
  else {
    // Transports give "address:port"; a bare IPv6 address also ends in ":digits".
    const colon = host.lastIndexOf(':');
    if (colon > 0 && /^\d+$/.test(host.slice(colon + 1)) && isIP(stripZone(host.slice(0, colon))) !== 0) host = host.slice(0, colon);
  }
  host = stripZone(host);
  const family = isIP(host);
  if (family === 4) return host;
  if (family !== 6) return null;
  const groups = ipv6Groups(host);
  if (groups === null) return null;
  // ::ffff:a.b.c.d
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

function stripZone(host: string): string {
  const percent = host.indexOf('%');
  return percent === -1 ? host : host.slice(0, percent);
}

/** The eight 16-bit groups of a valid IPv6 address (isIP already said it is one). */
function ipv6Groups(address: string): number[] | null {
  let text = address;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Dotted IPv4 in the last 32 bits.
    const octets = text.slice(lastColon + 1).split('.').map(Number);
    tail.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
    text = `${text.slice(0, lastColon + 1)}`;
    text = text.endsWith('::') ? text : text.slice(0, -1);
  }
  const halves = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length > 1 ? parse(halves[1]!) : [];
  const missing = 8 - tail.length - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...rest, ...tail];
}
