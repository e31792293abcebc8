// The shapes of a mosquitto.conf once parsed (what the file said) and once resolved (every
// default filled in). Types only: no logic, no imports of other mqx modules.

/** Where a setting came from, for `file:line` messages. */
export interface Origin {
  file: string;
  line: number;
}

/** One problem found in a configuration. `line` is 0 when the problem is the file itself. */
export interface ConfigIssue extends Origin {
  message: string;
}

export type Protocol = 'mqtt' | 'websockets';
export type SocketDomain = 'ipv4' | 'ipv6';
export type TlsVersion = 'tlsv1.3' | 'tlsv1.2' | 'tlsv1.1';
export type LogDestination = 'stdout' | 'stderr' | 'syslog' | 'topic' | 'file';
export type LogType =
  | 'debug' | 'error' | 'warning' | 'notice' | 'information'
  | 'subscribe' | 'unsubscribe' | 'websockets' | 'internal';

/**
 * Authentication and access settings. Mosquitto keeps one set globally, or one per listener
 * when `per_listener_settings true`.
 */
export interface SecurityOptions {
  allow_anonymous: boolean;
  password_file: string | null;
  acl_file: string | null;
  allow_zero_length_clientid: boolean;
  auto_id_prefix: string;
}

/** Options that belong to one listener (Mosquitto's "listener" and TLS sections). */
export interface ListenerSettings {
  bind_interface: string | null;
  protocol: Protocol;
  socket_domain: SocketDomain | null;
  /** -1 means unlimited. */
  max_connections: number;
  max_qos: 0 | 1 | 2;
  max_topic_alias: number;
  mount_point: string | null;
  use_username_as_clientid: boolean;
  cafile: string | null;
  capath: string | null;
  certfile: string | null;
  keyfile: string | null;
  ciphers: string | null;
  ciphers_tls13: string | null;
  crlfile: string | null;
  dhparamfile: string | null;
  require_certificate: boolean;
  tls_version: TlsVersion | null;
  use_identity_as_username: boolean;
  use_subject_as_username: boolean;
}

export interface ListenerConfig extends ListenerSettings {
  /** TCP port; 0 for a unix socket listener. */
  port: number;
  /** Address or host name to bind; null = every interface. */
  bind_address: string | null;
  unix_socket_path: string | null;
  /** The security options in force on this listener (the global ones unless per_listener_settings). */
  security: SecurityOptions;
  /** The `listener` (or `port`/`bind_address`) line that created it; null for local-only listeners. */
  origin: Origin | null;
  /** True for the loopback listeners Mosquitto 2.0 opens when no listener is configured. */
  local_only: boolean;
  /** Where each option of this listener was set (option name -> file:line). */
  origins: Record<string, Origin>;
}

/** Options that apply to the whole broker. */
export interface GlobalSettings {
  allow_duplicate_messages: boolean;
  autosave_interval: number;
  autosave_on_changes: boolean;
  check_retain_source: boolean;
  clientid_prefixes: string | null;
  connection_messages: boolean;
  log_facility: number | null;
  log_timestamp: boolean;
  log_timestamp_format: string | null;
  max_inflight_bytes: number;
  max_inflight_messages: number;
  max_keepalive: number;
  /** 0 = no limit. */
  max_packet_size: number;
  max_queued_bytes: number;
  max_queued_messages: number;
  message_size_limit: number;
  persistence: boolean;
  persistence_file: string | null;
  persistence_location: string | null;
  /** Seconds; null = never expire. */
  persistent_client_expiration: number | null;
  pid_file: string | null;
  queue_qos0_messages: boolean;
  retain_available: boolean;
  set_tcp_nodelay: boolean;
  sys_interval: number;
  upgrade_outgoing_qos: boolean;
  user: string | null;
  websockets_headers_size: number;
  websockets_log_level: number;
  /** mqx: send topic aliases to MQTT 5 subscribers that allow them. */
  outgoing_topic_aliases: boolean;
  /** mqx: plain TCP listeners on libuv's TCP handles instead of net.Socket (faster accepts). */
  direct_tcp: boolean;
  /** mqx: refuse a SUBSCRIBE at SUBACK when no topic under the filter could ever be read. */
  acl_check_subscribe: boolean;
  /** mqx: authentication failures from one address within auth_fail_window that ban it; 0 = off. */
  auth_fail_limit: number;
  /** mqx: seconds over which auth_fail_limit counts. */
  auth_fail_window: number;
  /** mqx: seconds of a first ban (doubled for each repeat, up to 64 times). */
  auth_fail_ban: number;
}

/** A listener as the file described it: only what was set, with where. */
export interface ParsedListener {
  /** Null for Mosquitto's implicit default listener (`port`, `bind_address`, options before any `listener`). */
  origin: Origin | null;
  port: number | null;
  bind_address: string | null;
  unix_socket_path: string | null;
  settings: Partial<ListenerSettings>;
  security: Partial<SecurityOptions>;
  /** Where each listener-scoped or per-listener security option was set. */
  set: Map<string, Origin>;
}

/** The file as written, before defaults: the output of the parser. */
export interface ParsedConfig {
  files: string[];
  global: Partial<GlobalSettings>;
  security: Partial<SecurityOptions>;
  per_listener_settings: boolean;
  /** True until a `listener`, `port` or `bind_address` line is seen (Mosquitto's local_only). */
  local_only: boolean;
  listeners: ParsedListener[];
  default_listener: ParsedListener;
  /** null = never set (stderr); the list as accumulated by `log_dest` lines otherwise. */
  log_dest: LogDestination[] | null;
  log_file: string | null;
  log_type: LogType[] | null;
  /** Where each global option was set. */
  set: Map<string, Origin>;
}

/** The configuration the broker runs with: every option resolved, Mosquitto 2.0 defaults applied. */
export interface BrokerConfig extends GlobalSettings {
  files: string[];
  per_listener_settings: boolean;
  /** No listener configured: loopback only, anonymous allowed (Mosquitto 2.0). */
  local_only: boolean;
  listeners: ListenerConfig[];
  /** The global security options (what every listener uses unless per_listener_settings). */
  security: SecurityOptions;
  log_dest: LogDestination[];
  log_file: string | null;
  log_type: LogType[];
  /** persistence_location joined with persistence_file, as Mosquitto builds it; null without persistence. */
  persistence_filepath: string | null;
  /** Where each global option was set (option name -> file:line), for messages about its value. */
  origins: Record<string, Origin>;
}

export interface ParseResult {
  parsed: ParsedConfig;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

export interface ConfigResult {
  /** Present even when there are errors (best effort), but only safe to run when errors is empty. */
  config: BrokerConfig;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}
