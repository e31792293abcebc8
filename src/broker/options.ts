// BrokerOptions with Mosquitto's option names and defaults, resolved in one pure function.
// Must not read files, flags or the environment: the config layer and the CLI do that.

import type { ConnectInfo, ClientInfo, Access } from './hooks.js';
import type { BrokerLogger } from './logger.js';
import type { ListenerTlsOptions } from './transport/tls.js';

export interface ListenerOptions {
  /** TCP port; 0 picks a free one (read it back from listen()). Ignored with `path`. */
  port: number;
  /** Address to bind; undefined = every interface. */
  host?: string;
  /** Name for per-listener settings and ConnectInfo.listener; default the port (or path). */
  name?: string;
  /** Mosquitto's `protocol`: MQTT over TCP (default) or over WebSockets. */
  protocol?: 'mqtt' | 'websockets';
  /** TLS for this listener (mqtts, or wss with protocol websockets). */
  tls?: ListenerTlsOptions;
  /** A unix socket path instead of a TCP port (`listener 0 /path`). */
  path?: string;
  /** Mosquitto's per-listener max_connections: clients on this listener at once; -1 = no limit. */
  max_connections?: number;
  /** Accept IPv6 clients only (Mosquitto's socket_domain ipv6 with an IPv6 host). */
  ipv6Only?: boolean;
  /** Mosquitto's use_username_as_clientid: the client's user name replaces its client id. */
  use_username_as_clientid?: boolean;
  /** Mosquitto's mount_point: prefixed to every topic of this listener's clients, stripped from what they receive. */
  mount_point?: string;
}

export interface BrokerOptions {
  listeners?: ListenerOptions[];
  /** Outgoing QoS 1/2 messages in flight per client; also sent as Receive Maximum. 0 = unlimited. */
  max_inflight_messages?: number;
  /** Mosquitto's max_inflight_bytes: QoS 1/2 payload bytes in flight per client before the rest wait in the queue. 0 = no limit. */
  max_inflight_bytes?: number;
  /** Messages queued per client beyond the inflight window (offline or window full). 0 = unlimited. */
  max_queued_messages?: number;
  /** Bytes of payload queued per client. 0 = unlimited. */
  max_queued_bytes?: number;
  /** Queue QoS 0 messages for offline persistent clients too. */
  queue_qos0_messages?: boolean;
  /** Largest payload accepted in bytes; 0 = no limit beyond the protocol's. */
  message_size_limit?: number;
  /** Largest packet accepted (and announced in 5.0 CONNACK); 0 = protocol maximum. */
  max_packet_size?: number;
  /** Largest keep alive granted; 5.0 clients asking more get Server Keep Alive. */
  max_keepalive?: number;
  /** Simultaneous client connections; -1 = unlimited. */
  max_connections?: number;
  allow_zero_length_clientid?: boolean;
  auto_id_prefix?: string;
  /** Mosquitto's deprecated clientid_prefixes: only client ids starting with it may connect; '' = any. */
  clientid_prefixes?: string;
  retain_available?: boolean;
  /** Seconds between $SYS updates; 0 disables them. */
  sys_interval?: number;
  upgrade_outgoing_qos?: boolean;
  /** Deliver a retained message only while its original publisher may still write its topic (Mosquitto default true). */
  check_retain_source?: boolean;
  /** Inbound topic aliases per 5.0 client (Topic Alias Maximum in CONNACK). */
  max_topic_alias?: number;
  /** Seconds after which an offline persistent 3.1.1 session (or a 5.0 one that asked for more) expires; 0 = never. */
  persistent_client_expiration?: number;
  /** mqx's own: assign outgoing topic aliases up to each 5.0 client's maximum. */
  outgoing_topic_aliases?: boolean;
  /**
   * mqx's own: plain TCP listeners serve connections on libuv's TCP handles directly instead of
   * net.Socket (transport/direct-tcp.ts; about half the CPU per accepted connection). Default true;
   * Node's net is used anyway where this Node does not offer those handles.
   */
  direct_tcp?: boolean;
  /** mqx's own: seconds a new connection has to send CONNECT (slowloris guard). */
  connect_timeout?: number;
  max_qos?: 0 | 1 | 2;
  /** mqx's own: refused authentications from one source address (IPv6: its /64) within
   *  auth_fail_window that ban it for auth_fail_ban seconds (doubling for a repeat); 0 = off. */
  auth_fail_limit?: number;
  /** mqx's own: seconds over which auth_fail_limit failures are counted (sliding window). */
  auth_fail_window?: number;
  /** mqx's own: seconds of an address's first ban; connections are refused without a password check. */
  auth_fail_ban?: number;
  /** Authentication hook: true/undefined accepts, false refuses (not authorised), a number is a CONNACK reason code. */
  authenticate?: (info: ConnectInfo) => boolean | number | Promise<boolean | number>;
  /** Authorization hook, called per publish/delivery/subscribe: keep it synchronous and fast. */
  authorize?: (client: ClientInfo, access: Access, topic: string) => boolean;
  logger?: BrokerLogger;
  /** Version string for $SYS/broker/version and log lines. */
  version?: string;

  // --- persistence (src/broker/persistence/) ---
  /** Keep retained messages, persistent sessions and in-flight state on disk (group-committed log). */
  persistence?: boolean;
  /** Directory of the store; '' = the current directory. */
  persistence_location?: string;
  /** File name of the store inside persistence_location. */
  persistence_file?: string;
  /** Seconds between compactions of the log when it has grown; 0 = only on size and at close. */
  autosave_interval?: number;
  /** Accepted for mosquitto.conf compatibility: every acknowledged change is saved before its ack anyway. */
  autosave_on_changes?: boolean;
}

export type ResolvedBrokerOptions = Required<Omit<BrokerOptions, 'authenticate' | 'authorize' | 'logger'>> &
  Pick<BrokerOptions, 'authenticate' | 'authorize' | 'logger'>;

export const DEFAULT_OPTIONS: Omit<ResolvedBrokerOptions, 'authenticate' | 'authorize' | 'logger'> = {
  listeners: [],
  max_inflight_messages: 20,
  max_inflight_bytes: 0,
  max_queued_messages: 1000,
  max_queued_bytes: 0,
  queue_qos0_messages: false,
  message_size_limit: 0,
  max_packet_size: 0,
  max_keepalive: 65535,
  max_connections: -1,
  allow_zero_length_clientid: true,
  auto_id_prefix: 'auto-',
  clientid_prefixes: '',
  retain_available: true,
  sys_interval: 10,
  upgrade_outgoing_qos: false,
  check_retain_source: true,
  max_topic_alias: 10,
  persistent_client_expiration: 0,
  outgoing_topic_aliases: false,
  direct_tcp: true,
  connect_timeout: 10,
  max_qos: 2,
  auth_fail_limit: 10,
  auth_fail_window: 60,
  auth_fail_ban: 60,
  version: 'mqx',
  persistence: false,
  persistence_location: '',
  persistence_file: 'mosquitto.db',
  autosave_interval: 1800,
  autosave_on_changes: false,
};

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** Fills every option with its default and validates ranges; throws RangeError naming the option. */
export function resolveOptions(options: BrokerOptions = {}): ResolvedBrokerOptions {
  const resolved: ResolvedBrokerOptions = { ...DEFAULT_OPTIONS };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  checkInteger('max_inflight_messages', resolved.max_inflight_messages, 0, 65535);
  checkInteger('max_queued_messages', resolved.max_queued_messages, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('max_inflight_bytes', resolved.max_inflight_bytes, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('max_queued_bytes', resolved.max_queued_bytes, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('message_size_limit', resolved.message_size_limit, 0, 268_435_455);
  checkInteger('max_packet_size', resolved.max_packet_size, 0, 268_435_460);
  if (resolved.max_packet_size > 0 && resolved.max_packet_size < 20) {
    throw new RangeError(`max_packet_size must be 0 or at least 20, got ${resolved.max_packet_size}`);
  }
  checkInteger('max_keepalive', resolved.max_keepalive, 0, 65535);
  checkInteger('max_connections', resolved.max_connections, -1, Number.MAX_SAFE_INTEGER);
  checkInteger('sys_interval', resolved.sys_interval, 0, 65535 * 1000);
  checkInteger('max_topic_alias', resolved.max_topic_alias, 0, 65535);
  checkInteger('persistent_client_expiration', resolved.persistent_client_expiration, 0, 0xffffffff);
  checkInteger('connect_timeout', resolved.connect_timeout, 1, 3600);
  checkInteger('max_qos', resolved.max_qos, 0, 2);
  checkInteger('auth_fail_limit', resolved.auth_fail_limit, 0, 100);
  checkInteger('auth_fail_window', resolved.auth_fail_window, 1, 86400);
  checkInteger('auth_fail_ban', resolved.auth_fail_ban, 1, 86400);
  checkInteger('autosave_interval', resolved.autosave_interval, 0, 0x7fffffff);
  for (const listener of resolved.listeners) {
    checkInteger('listener port', listener.port, 0, 65535);
    if (listener.max_connections !== undefined) checkInteger('listener max_connections', listener.max_connections, -1, Number.MAX_SAFE_INTEGER);
  }
  resolved.listeners = resolved.listeners.map((listener) => ({ ...listener }));
  return resolved;
}
