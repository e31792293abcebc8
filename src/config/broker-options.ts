// Maps a resolved BrokerConfig to BrokerOptions (listeners, limits) and lists every setting the
// broker cannot apply yet, so nothing is dropped silently. Pure: the CLI reads TLS files.

import type { BrokerOptions, ListenerOptions } from '../broker/options.js';
import { globalDefaults, listenerDefaults } from './defaults.js';
import type { BrokerConfig, ConfigIssue, ListenerConfig, ListenerSettings, Origin } from './types.js';

export interface BrokerOptionsMapping {
  options: BrokerOptions;
  /** For each entry of options.listeners, the index of the config listener it comes from. */
  listenerSources: number[];
  /** Settings present in the config that the broker cannot apply (yet): refuse to start on these. */
  issues: ConfigIssue[];
}

/**
 * Listener settings the broker has no per-listener knob for yet (none today). Each is refused
 * when a listener sets it to anything but Mosquitto's default.
 */
const unsupportedListenerSettings: Array<[keyof ListenerSettings, string, string]> = [
];

/**
 * Global settings BrokerOptions has no field for, refused when set to a non-default value.
 * (set_tcp_nodelay is not here: every mqx listener already sets TCP_NODELAY.)
 */
const unsupportedGlobals: Array<[keyof BrokerConfig & keyof typeof globalDefaults, string]> = [
];

/**
 * Per-listener options the broker takes once for all listeners: fine while every listener
 * agrees, refused when they differ.
 */
function sameForAll<K extends 'max_qos' | 'max_topic_alias'>(
  config: BrokerConfig, key: K, issues: ConfigIssue[],
): ListenerConfig[K] {
  const values = new Set(config.listeners.map((listener) => listener[key]));
  if (values.size > 1) {
    const where = config.listeners.find((listener) => listener[key] !== listenerDefaults[key]);
    issues.push({
      ...(where?.origins[key] ?? where?.origin ?? mainFile(config)),
      message: `different ${key} values on different listeners are not supported by the broker yet; use one value for all listeners`,
    });
  }
  return config.listeners[0]?.[key] ?? listenerDefaults[key];
}

function mainFile(config: BrokerConfig): Origin {
  return { file: config.files[0] ?? 'mosquitto.conf', line: 0 };
}

function securityValue<K extends 'allow_zero_length_clientid' | 'auto_id_prefix'>(
  config: BrokerConfig, key: K, issues: ConfigIssue[],
): BrokerConfig['security'][K] {
  if (config.per_listener_settings) {
    const values = new Set(config.listeners.map((listener) => listener.security[key]));
    if (values.size > 1) {
      const where = config.listeners.find((listener) => listener.origins[key]);
      issues.push({
        ...(where?.origins[key] ?? mainFile(config)),
        message: `a per-listener ${key} is not supported by the broker yet; set it once for all listeners`,
      });
    }
    return config.listeners[0]?.security[key] ?? config.security[key];
  }
  return config.security[key];
}

/**
 * One listener: TCP, TLS, WebSockets (plain or TLS) or a unix socket. TLS material is files;
 * the caller reads them (src/cli/broker-tls-files.ts) into `tls`, keeping this module pure.
 */
/** An address of a network interface, as os.networkInterfaces() lists it. */
export interface InterfaceAddress {
  address: string;
  family: 'IPv4' | 'IPv6';
  scopeid?: number;
}

/** System facts the mapping needs, passed in so that it stays pure. */
export interface MappingContext {
  /** The addresses of a network interface, or null when there is none of that name. */
  interfaceAddresses?: (name: string) => InterfaceAddress[] | null;
}

/**
 * bind_interface: Mosquitto binds to the device (SO_BINDTODEVICE); mqx binds each address the
 * interface has (of the socket_domain family, or the bind_address among them).
 */
function onInterface(listener: ListenerConfig, base: ListenerOptions, context: MappingContext, at: Origin, issues: ConfigIssue[]): ListenerOptions[] {
  const name = listener.bind_interface!;
  if (context.interfaceAddresses === undefined) {
    issues.push({ ...at, message: 'bind_interface needs the machine\'s interfaces (mqx broker resolves them); use "listener PORT ADDRESS" here' });
    return [];
  }
  const addresses = context.interfaceAddresses(name);
  if (addresses === null) { issues.push({ ...at, message: `no network interface named ${name}` }); return []; }
  const family = listener.socket_domain === 'ipv4' ? 'IPv4' : listener.socket_domain === 'ipv6' ? 'IPv6' : null;
  const usable = addresses.filter((entry) => (family === null || entry.family === family)
    && (listener.bind_address === null || entry.address === listener.bind_address));
  if (usable.length === 0) {
    const what = listener.bind_address !== null ? `address ${listener.bind_address}` : family === null ? 'address' : `${family} address`;
    issues.push({ ...at, message: `network interface ${name} has no ${what}` });
    return [];
  }
  return usable.map((entry) => {
    const linkLocal = entry.family === 'IPv6' && entry.address.toLowerCase().startsWith('fe80:');
    const options: ListenerOptions = { ...base, host: linkLocal ? `${entry.address}%${name}` : entry.address };
    if (entry.family === 'IPv6') options.ipv6Only = true;
    else delete options.ipv6Only;
    return options;
  });
}

function toListener(listener: ListenerConfig, issues: ConfigIssue[], context: MappingContext): ListenerOptions[] {
  const at = (key: string): Origin => listener.origins[key] ?? listener.origin ?? { file: 'mosquitto.conf', line: 0 };
  for (const [key, name, message] of unsupportedListenerSettings) {
    if (listener[key] !== listenerDefaults[key]) issues.push({ ...at(name), message });
  }
  if (listener.unix_socket_path !== null) {
    if (listener.protocol === 'websockets') issues.push({ ...at('protocol'), message: 'websockets on a unix socket listener is not supported; use protocol mqtt' });
    if (listener.certfile !== null) issues.push({ ...at('certfile'), message: 'TLS on a unix socket listener is not supported' });
    return [withListenerSettings({ port: 0, path: listener.unix_socket_path }, listener)];
  }
  const options: ListenerOptions = { port: listener.port };
  if (listener.bind_address !== null) options.host = listener.bind_address;
  // socket_domain: one address family. Mosquitto's IPv6 sockets are IPV6_V6ONLY.
  if (listener.socket_domain === 'ipv4' && listener.bind_address === null) options.host = '0.0.0.0';
  if (listener.socket_domain === 'ipv6') {
    if (listener.bind_address === null) options.host = '::';
    options.ipv6Only = true;
  }
  if (listener.protocol === 'websockets') options.protocol = 'websockets';
  withListenerSettings(options, listener);
  if (listener.bind_interface !== null) return onInterface(listener, options, context, at('bind_interface'), issues);
  return [options];
}

/** Per-listener limits, client id rule and mount point: max_connections counts per listener, as in Mosquitto. */
function withListenerSettings(options: ListenerOptions, listener: ListenerConfig): ListenerOptions {
  if (listener.max_connections !== -1) options.max_connections = listener.max_connections;
  if (listener.use_username_as_clientid) options.use_username_as_clientid = true;
  if (listener.mount_point !== null) options.mount_point = listener.mount_point;
  return options;
}

/** The broker's options for this configuration, and what it cannot apply. Pure. */
export function toBrokerOptions(config: BrokerConfig, context: MappingContext = {}): BrokerOptionsMapping {
  const issues: ConfigIssue[] = [];
  // Usually one entry per config listener; bind_interface may give several (listenerSources pairs them).
  const listeners: ListenerOptions[] = [];
  const listenerSources: number[] = [];
  config.listeners.forEach((listener, index) => {
    for (const options of toListener(listener, issues, context)) {
      listeners.push(options);
      listenerSources.push(index);
    }
  });
  for (const [key, message] of unsupportedGlobals) {
    if (config[key] !== globalDefaults[key]) issues.push({ ...(config.origins[key] ?? mainFile(config)), message });
  }
  const options: BrokerOptions = {
    listeners,
    max_inflight_messages: config.max_inflight_messages,
    max_inflight_bytes: config.max_inflight_bytes,
    max_queued_messages: config.max_queued_messages,
    max_queued_bytes: config.max_queued_bytes,
    queue_qos0_messages: config.queue_qos0_messages,
    message_size_limit: config.message_size_limit,
    max_packet_size: config.max_packet_size,
    max_keepalive: config.max_keepalive,
    max_qos: sameForAll(config, 'max_qos', issues),
    max_topic_alias: sameForAll(config, 'max_topic_alias', issues),
    allow_zero_length_clientid: securityValue(config, 'allow_zero_length_clientid', issues),
    auto_id_prefix: securityValue(config, 'auto_id_prefix', issues),
    retain_available: config.retain_available,
    sys_interval: config.sys_interval,
    upgrade_outgoing_qos: config.upgrade_outgoing_qos,
    check_retain_source: config.check_retain_source,
    clientid_prefixes: config.clientid_prefixes ?? '',
    // Mosquitto's "never" is the broker's 0.
    persistent_client_expiration: Math.min(config.persistent_client_expiration ?? 0, 0xffffffff),
    outgoing_topic_aliases: config.outgoing_topic_aliases,
    direct_tcp: config.direct_tcp,
    auth_fail_limit: config.auth_fail_limit,
    auth_fail_window: config.auth_fail_window,
    auth_fail_ban: config.auth_fail_ban,
    persistence: config.persistence,
    // Mosquitto concatenates location and file name; the store joins them as a path.
    persistence_location: config.persistence_location ?? '',
    persistence_file: config.persistence_file ?? 'mosquitto.db',
    autosave_interval: config.autosave_interval,
    autosave_on_changes: config.autosave_on_changes,
  };
  return { options, listenerSources, issues };
}
