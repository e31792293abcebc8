// What every listener (tcp now; tls, ws, unix next) gives the broker: a bound address, a way
// to stop, and a callback per accepted duplex stream. Types only.

import type { Duplex } from 'node:stream';

export interface StreamInfo {
  /** `host:port` of the peer, for log lines. */
  remoteAddress: string;
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
