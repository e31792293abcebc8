// The typed description of one MQTT client connection, shared by pub, sub and bench.
// Plain data only: no parsing of flags (src/cli/options.ts) and no sockets (connect.ts).

import type { PropertySet } from './properties.js';

export type ProtocolVersion = 3 | 4 | 5;

/** How the socket is opened: plain TCP, TLS, WebSockets (plain or TLS) or a unix socket. */
export type Transport = 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'unix';

export interface TlsOptions {
  caFile?: string;
  caPath?: string;
  certFile?: string;
  keyFile?: string;
  /** Skip the server hostname check (mosquitto --insecure). */
  insecure: boolean;
  /** `tlsv1.1`, `tlsv1.2` or `tlsv1.3`: the version to use (mosquitto --tls-version). */
  version?: 'tlsv1.1' | 'tlsv1.2' | 'tlsv1.3';
  alpn?: string;
  ciphers?: string;
  /** Trust the system CA store (Node's bundled roots plus the OS store). */
  useOsCerts: boolean;
}

export interface WillOptions {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface ConnectionOptions {
  transport: Transport;
  host: string;
  port: number;
  /** Socket path when transport is 'unix'. */
  unixPath?: string;
  username?: string;
  password?: string;
  /** The client id sent in CONNECT; '' lets the broker assign one (mosquitto 2.0 clients do this). */
  clientId: string;
  keepalive: number;
  /** false with -c: keep the session. */
  cleanSession: boolean;
  /** MQTT 5 session expiry (seconds; 4294967295 = never). Undefined = not sent. */
  sessionExpiryInterval?: number;
  protocolVersion: ProtocolVersion;
  /** Local address to bind the outgoing socket to (-A). */
  bindAddress?: string;
  qos: 0 | 1 | 2;
  /** Print mosquitto-style packet traces to stdout (-d). */
  debug: boolean;
  /** Suppress runtime error messages (--quiet). */
  quiet: boolean;
  /** TCP_NODELAY on the socket. */
  noDelay: boolean;
  will?: WillOptions;
  /** Present when the connection uses TLS. */
  tls?: TlsOptions;
  /** MQTT 5 properties per packet type, from -D. */
  properties: PropertySet;
  /** The topic given in a -L URL, validated for the command (publish topic or filter). */
  urlTopic?: string;
}
