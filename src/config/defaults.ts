// Mosquitto 2.0's defaults, applied in one pure function: the default listener, local only
// mode, allow_anonymous, per-listener security and logging. Reads no files, opens no sockets.

import { formatOrigin } from './context.js';
import type {
  BrokerConfig, ConfigIssue, ConfigResult, GlobalSettings, ListenerConfig, ListenerSettings, LogType,
  Origin, ParsedConfig, ParsedListener, ParseResult, SecurityOptions,
} from './types.js';

export const globalDefaults: Readonly<GlobalSettings> = {
  allow_duplicate_messages: true,
  autosave_interval: 1800,
  autosave_on_changes: false,
  check_retain_source: true,
  clientid_prefixes: null,
  connection_messages: true,
  log_facility: null,
  log_timestamp: true,
  log_timestamp_format: null,
  max_inflight_bytes: 0,
  max_inflight_messages: 20,
  max_keepalive: 65535,
  max_packet_size: 0,
  max_queued_bytes: 0,
  max_queued_messages: 1000,
  message_size_limit: 0,
  persistence: false,
  persistence_file: null,
  persistence_location: null,
  persistent_client_expiration: null,
  pid_file: null,
  queue_qos0_messages: false,
  retain_available: true,
  set_tcp_nodelay: false,
  sys_interval: 10,
  upgrade_outgoing_qos: false,
  // Mosquitto drops to "mosquitto" when started as root and no user is given.
  user: 'mosquitto',
  websockets_headers_size: 1024,
  websockets_log_level: 0,
  outgoing_topic_aliases: false,
  direct_tcp: true,
  acl_check_subscribe: false,
  auth_fail_limit: 10,
  auth_fail_window: 60,
  auth_fail_ban: 60,
};

/** Security before allow_anonymous is decided (it depends on local only mode). */
const securityDefaults: Readonly<Omit<SecurityOptions, 'allow_anonymous'>> = {
  password_file: null,
  acl_file: null,
  allow_zero_length_clientid: true,
  auto_id_prefix: 'auto-',
};

/** listener__set_defaults in src/listeners.c. */
export const listenerDefaults: Readonly<ListenerSettings> = {
  bind_interface: null,
  protocol: 'mqtt',
  socket_domain: null,
  max_connections: -1,
  max_qos: 2,
  max_topic_alias: 10,
  mount_point: null,
  use_username_as_clientid: false,
  cafile: null,
  capath: null,
  certfile: null,
  keyfile: null,
  ciphers: null,
  ciphers_tls13: null,
  crlfile: null,
  dhparamfile: null,
  require_certificate: false,
  tls_version: null,
  use_identity_as_username: false,
  use_subject_as_username: false,
};

export const defaultLogTypes: readonly LogType[] = ['error', 'warning', 'notice', 'information'];
const allLogTypes: readonly LogType[] = ['debug', 'error', 'warning', 'notice', 'information', 'subscribe', 'unsubscribe', 'websockets', 'internal'];

export interface ResolveOptions {
  /** `-p PORT` given on the command line: used only in local only mode, as Mosquitto does. */
  ports?: number[];
  /** `-v`: log every type, overriding log_type. */
  verbose?: boolean;
}

/**
 * conf.c creates the implicit default listener only when one of these was set before any
 * `listener` line (or with `port`/`bind_address`); anything else set there has no effect.
 */
function defaultListenerWanted(listener: ParsedListener): boolean {
  const s = listener.settings;
  return listener.port !== null || listener.bind_address !== null
    || s.bind_interface !== undefined || s.cafile !== undefined || s.capath !== undefined
    || s.certfile !== undefined || s.keyfile !== undefined || s.ciphers !== undefined
    || s.ciphers_tls13 !== undefined || s.dhparamfile !== undefined || s.crlfile !== undefined
    || s.require_certificate === true || s.use_identity_as_username === true
    || s.use_subject_as_username === true || s.use_username_as_clientid === true
    || (s.max_connections !== undefined && s.max_connections !== -1)
    || (s.max_qos !== undefined && s.max_qos !== 2)
    || (s.protocol !== undefined && s.protocol !== 'mqtt')
    || s.socket_domain !== undefined
    || listener.security.password_file !== undefined
    || listener.security.allow_zero_length_clientid === false;
}

function listenerSecurity(parsed: ParsedConfig, own: Partial<SecurityOptions>, global: SecurityOptions): SecurityOptions {
  if (!parsed.per_listener_settings) return { ...global };
  // Unset allow_anonymous is -1 in conf.c: false once a listener exists, truthy in local only mode.
  return { ...securityDefaults, ...own, allow_anonymous: own.allow_anonymous ?? parsed.local_only };
}

function toListener(parsed: ParsedConfig, source: ParsedListener, global: SecurityOptions, origin: Origin | null): ListenerConfig {
  return {
    ...listenerDefaults,
    ...source.settings,
    port: source.port ?? 1883,
    bind_address: source.bind_address,
    unix_socket_path: source.unix_socket_path,
    security: listenerSecurity(parsed, source.security, global),
    origin,
    local_only: false,
    origins: Object.fromEntries(source.set),
  };
}

function localListener(address: string, port: number, global: SecurityOptions): ListenerConfig {
  return {
    ...listenerDefaults,
    port,
    bind_address: address,
    unix_socket_path: null,
    security: { ...global, allow_anonymous: true },
    origin: null,
    local_only: true,
    origins: {},
  };
}

function joinPath(location: string | null, file: string): string {
  if (!location) return file;
  return location.endsWith('/') ? `${location}${file}` : `${location}/${file}`;
}

/** Cross-option checks Mosquitto makes when a listener starts; mqx makes them up front. */
function checkListener(listener: ListenerConfig, source: ParsedListener, errors: ConfigIssue[], warnings: ConfigIssue[]): void {
  const at = (name: string): Origin => source.set.get(name) ?? source.origin ?? { file: '', line: 0 };
  const tls = listener.certfile !== null || listener.keyfile !== null;
  if (listener.certfile !== null && listener.keyfile === null) {
    errors.push({ ...at('certfile'), message: 'certfile is set but keyfile is not: both are needed to enable TLS' });
  }
  if (listener.keyfile !== null && listener.certfile === null) {
    errors.push({ ...at('keyfile'), message: 'keyfile is set but certfile is not: both are needed to enable TLS' });
  }
  if (!tls) {
    for (const name of ['cafile', 'capath', 'crlfile', 'ciphers', 'ciphers_tls1.3', 'dhparamfile', 'tls_version', 'require_certificate', 'use_identity_as_username', 'use_subject_as_username']) {
      if (source.set.has(name)) warnings.push({ ...at(name), message: `${name} has no effect on a listener without certfile and keyfile (no TLS)` });
    }
  }
  if (listener.require_certificate && listener.cafile === null && listener.capath === null && tls) {
    errors.push({ ...at('require_certificate'), message: 'require_certificate true needs cafile or capath to verify client certificates' });
  }
}

/** Applies every Mosquitto 2.0 default to a parse result. The one place defaults are decided. */
export function resolveConfig(result: ParseResult, options: ResolveOptions = {}): ConfigResult {
  const { parsed } = result;
  const errors = [...result.errors];
  const warnings = [...result.warnings];
  const mainFile = parsed.files[0] ?? 'mosquitto.conf';
  const global: GlobalSettings = { ...globalDefaults, ...parsed.global };

  const security: SecurityOptions = {
    ...securityDefaults,
    ...parsed.security,
    // [conf.c config__read] local only mode forces anonymous access; otherwise it defaults to false.
    allow_anonymous: parsed.local_only ? true : parsed.security.allow_anonymous ?? false,
  };
  const anonymousAt = parsed.set.get('allow_anonymous');
  if (parsed.local_only && parsed.security.allow_anonymous === false && anonymousAt) {
    warnings.push({ ...anonymousAt, message: 'allow_anonymous false has no effect: with no listener configured, Mosquitto 2.0 runs in local only mode (loopback only, anonymous allowed); add a "listener" line' });
  }

  const listeners: ListenerConfig[] = [];
  parsed.listeners.forEach((source) => {
    const listener = toListener(parsed, source, security, source.origin);
    checkListener(listener, source, errors, warnings);
    listeners.push(listener);
  });

  const fallback = parsed.default_listener;
  if (defaultListenerWanted(fallback)) {
    // The Map keeps insertion order: its first entry is the earliest line that shaped the listener.
    const firstSet: Origin | null = fallback.set.values().next().value ?? null;
    const listener = toListener(parsed, fallback, security, firstSet);
    const clash = listeners.find((other) => other.port === listener.port && other.bind_address === listener.bind_address);
    if (clash?.origin && firstSet) {
      errors.push({ ...firstSet, message: `this creates Mosquitto's default listener on port ${listener.port}, which clashes with the listener at ${formatOrigin(clash.origin)}; move the option after a "listener" line` });
    }
    checkListener(listener, fallback, errors, warnings);
    listeners.push(listener);
  } else {
    for (const [name, origin] of fallback.set) {
      warnings.push({ ...origin, message: `${name} comes before any "listener" line in this file, so it applies to Mosquitto's default listener, which is not created: it has no effect (move it after a "listener" line)` });
    }
  }

  if (listeners.length === 0) {
    // [mosquitto.c listeners__start_local_only] loopback only, on each -p port or 1883.
    for (const port of options.ports && options.ports.length > 0 ? options.ports : [1883]) {
      listeners.push(localListener('127.0.0.1', port, security), localListener('::1', port, security));
    }
  } else if (options.ports && options.ports.length > 0) {
    warnings.push({ file: mainFile, line: 0, message: '-p is ignored because the configuration defines listeners (as in Mosquitto)' });
  }

  const persistenceFile = global.persistence_file ?? 'mosquitto.db';
  const config: BrokerConfig = {
    ...global,
    persistence_file: persistenceFile,
    files: [...parsed.files],
    per_listener_settings: parsed.per_listener_settings,
    local_only: parsed.local_only,
    listeners,
    security,
    log_dest: parsed.log_dest ?? ['stderr'],
    log_file: parsed.log_file,
    log_type: options.verbose ? [...allLogTypes] : parsed.log_type ?? [...defaultLogTypes],
    persistence_filepath: global.persistence ? joinPath(global.persistence_location, persistenceFile) : null,
    origins: Object.fromEntries(parsed.set),
  };
  return { config, errors, warnings };
}
