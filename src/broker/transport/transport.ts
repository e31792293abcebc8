// What every listener (tcp, tls, ws, unix) gives the broker: a bound address, a way to stop, and a
// callback per accepted duplex stream; plus the one way they all name a peer.

import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface StreamInfo {
  /** `host:port` of the peer, for log lines; a plain TCP listener leaves it to the connection to ask its socket when needed. */
  remoteAddress?: string;
  /** Listener name (its port), for per-listener settings and ConnectInfo. */
  listener: string;
  /** TLS listeners taking usernames from certificates: the name, or null without a verified one. */
  certificateUsername?: string | null;
}

export type AcceptStream = (stream: Duplex, info: StreamInfo) => void;

export interface BoundAddress {
  protocol: 'mqtt' | 'websockets';
  host: string;
  port: number;
  family: string;
}

export interface Transport {
  readonly address: BoundAddress;
  /** Stops accepting; existing connections are the broker's to close. */
  close(): Promise<void>;
}

/**
 * `host:port` of a socket's peer as ONE flat string: a template literal leaves a rope of three
 * strings per connection, and issue 3 counts the bytes of every idle connection.
 */
export function peerAddress(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return Buffer.from(`${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`, 'latin1').toString('latin1');
}

/** The peer of any stream the broker serves: the address its listener gave, else a socket's own, else 'stream'. */
export function streamAddress(stream: Duplex, given?: string): string {
  return given ?? (stream instanceof Socket ? peerAddress(stream) : 'stream');
}
