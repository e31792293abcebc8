// Handlers for Mosquitto's general options (limits, security, logging, persistence) and mqx's
// own options, with Mosquitto 2.0's ranges and quirks. Records values only; defaults live in defaults.ts.

import type { ParseContext } from './context.js';
import { formatOrigin } from './context.js';
import type { LogDestination, LogType } from './types.js';
import { readBool, readChoice, readDuration, readInt, tokens } from './syntax.js';

export type OptionStatus =
  /** Parsed, validated and in effect in mqx. */
  | 'supported'
  /** Parsed and validated; no effect yet or by design (documented in docs/mosquitto-options.md). */
  | 'parsed'
  /** Rejected with a message saying mqx does not support it. */
  | 'refused'
  /** Part of a bridge (`connection`) section: rejected until bridges exist. */
  | 'bridge';

export interface OptionSpec {
  status: OptionStatus;
  handle: (ctx: ParseContext, rest: string, name: string) => void;
}

const INT32_MAX = 2147483647;
/** MQTT's largest payload (268435455, the Remaining Length maximum). */
const MQTT_MAX_PAYLOAD = 268435455;

const bool = (key: Parameters<ParseContext['setGlobal']>[0], status: OptionStatus = 'supported'): OptionSpec => ({
  status,
  handle: (ctx, rest, name) => ctx.setGlobal(key, ctx.take(readBool(name, rest)) as never, name),
});

const text = (key: Parameters<ParseContext['setGlobalString']>[0], status: OptionStatus = 'supported'): OptionSpec => ({
  status,
  handle: (ctx, rest, name) => ctx.setGlobalString(key, rest, name),
});

/** Integers Mosquitto clamps to 0 when negative (atoi then `if(x < 0) x = 0`). */
const clampedCount = (
  key: Parameters<ParseContext['setGlobal']>[0], status: OptionStatus = 'supported', describe = 'a whole number (0 = no limit)',
): OptionSpec => ({
  status,
  handle: (ctx, rest, name) => {
    const value = ctx.take(readInt(name, rest, { min: -INT32_MAX, max: INT32_MAX, describe }));
    if (value !== undefined) ctx.setGlobal(key, Math.max(0, value) as never, name);
  },
});

const logDestinations = ['stdout', 'stderr', 'syslog', 'topic', 'file', 'none', 'dlt'] as const;
const logTypes = ['debug', 'error', 'warning', 'notice', 'information', 'subscribe', 'unsubscribe',
  'websockets', 'internal', 'none', 'all'] as const;
const allLogTypes: LogType[] = ['debug', 'error', 'warning', 'notice', 'information', 'subscribe',
  'unsubscribe', 'websockets', 'internal'];

function handleLogDest(ctx: ParseContext, rest: string): void {
  const parts = tokens(rest);
  const first = parts[0];
  if (first === 'file') {
    // The path is the rest of the line, spaces included (conf.c skips the blanks before it).
    const path = rest.slice(rest.indexOf('file') + 4).replace(/^[ \t]+|[ \t]+$/g, '');
    if (path.length === 0) {
      ctx.error('log_dest file needs a path: log_dest file /var/log/mosquitto/mosquitto.log');
      return;
    }
    const previous = ctx.parsed.set.get('log_dest file');
    if (ctx.parsed.log_file !== null && previous) {
      ctx.error(`duplicate "log_dest file" (already set at ${formatOrigin(previous)}); only one log file is allowed`);
      return;
    }
    ctx.parsed.log_file = path;
    ctx.parsed.set.set('log_dest file', ctx.here());
    addLogDest(ctx, 'file');
    return;
  }
  const choice = ctx.take(readChoice('log_dest', rest, logDestinations));
  if (choice === undefined) return;
  if (choice === 'dlt') {
    ctx.error('log_dest dlt is not supported by mqx (no Diagnostic Log and Trace support); use stdout, stderr, file, syslog or topic');
    return;
  }
  if (choice === 'none') {
    ctx.parsed.log_dest = [];
    ctx.parsed.set.set('log_dest', ctx.here());
    return;
  }
  addLogDest(ctx, choice);
}

function addLogDest(ctx: ParseContext, destination: LogDestination): void {
  const list = ctx.parsed.log_dest ?? [];
  if (!list.includes(destination)) list.push(destination);
  ctx.parsed.log_dest = list;
  ctx.parsed.set.set('log_dest', ctx.here());
}

function handleLogType(ctx: ParseContext, rest: string): void {
  const choice = ctx.take(readChoice('log_type', rest, logTypes));
  if (choice === undefined) return;
  let list = ctx.parsed.log_type ?? [];
  if (choice === 'none') list = [];
  else if (choice === 'all') list = [...allLogTypes];
  else if (!list.includes(choice)) list.push(choice);
  ctx.parsed.log_type = list;
  ctx.parsed.set.set('log_type', ctx.here());
}

function handlePerListenerSettings(ctx: ParseContext, rest: string): void {
  // conf.c: once true it cannot be unset again, and the value is not even read.
  if (ctx.parsed.per_listener_settings) return;
  const value = ctx.take(readBool('per_listener_settings', rest));
  if (value === undefined) return;
  if (value && ctx.securityTouched) {
    ctx.error(`per_listener_settings must be set before any other security setting (one is set at ${formatOrigin(ctx.securityTouched)})`);
    return;
  }
  ctx.parsed.per_listener_settings = value;
  ctx.parsed.set.set('per_listener_settings', ctx.here());
}

export const generalOptions: Record<string, OptionSpec> = {
  acl_file: { status: 'supported', handle: (ctx, rest) => ctx.setSecurityString('acl_file', rest) },
  allow_anonymous: {
    status: 'supported',
    handle: (ctx, rest) => ctx.setSecurity('allow_anonymous', ctx.take(readBool('allow_anonymous', rest))),
  },
  allow_duplicate_messages: {
    status: 'parsed',
    handle: (ctx, rest, name) => {
      ctx.warn('allow_duplicate_messages is deprecated in Mosquitto 2.0; mqx always sends one copy per client');
      ctx.setGlobal('allow_duplicate_messages', ctx.take(readBool(name, rest)), name);
    },
  },
  allow_zero_length_clientid: {
    status: 'supported',
    handle: (ctx, rest) => ctx.setSecurity('allow_zero_length_clientid', ctx.take(readBool('allow_zero_length_clientid', rest))),
  },
  auto_id_prefix: { status: 'supported', handle: (ctx, rest) => ctx.setSecurityString('auto_id_prefix', rest) },
  autosave_interval: clampedCount('autosave_interval', 'supported', 'a number of seconds (0 = save only on exit and SIGUSR1)'),
  // Both decide when the persistence log is compacted (every change is durable on its own).
  autosave_on_changes: bool('autosave_on_changes', 'supported'),
  check_retain_source: {
    status: 'supported',
    handle: (ctx, rest, name) => {
      ctx.securityTarget(); // conf.c counts it as a security option for per_listener_settings
      ctx.setGlobal('check_retain_source', ctx.take(readBool(name, rest)), name);
    },
  },
  clientid_prefixes: {
    status: 'supported',
    handle: (ctx, rest, name) => {
      ctx.warn('clientid_prefixes is deprecated in Mosquitto 2.0 and will be removed');
      ctx.setGlobalString('clientid_prefixes', rest, name);
    },
  },
  connection_messages: bool('connection_messages'),
  log_dest: { status: 'supported', handle: handleLogDest },
  log_facility: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setGlobal('log_facility', ctx.take(readInt(name, rest, { min: 0, max: 7, describe: 'a number from 0 to 7 (local0 to local7)' })), name),
  },
  log_timestamp: bool('log_timestamp'),
  log_timestamp_format: text('log_timestamp_format'),
  log_type: { status: 'supported', handle: handleLogType },
  max_inflight_bytes: clampedCount('max_inflight_bytes'),
  max_inflight_messages: {
    status: 'supported',
    handle: (ctx, rest, name) => {
      const value = ctx.take(readInt(name, rest, { min: -INT32_MAX, max: 65535, describe: 'a number from 0 to 65535 (0 = no limit)' }));
      // conf.c: negative and 65535 both mean "no limit".
      if (value !== undefined) ctx.setGlobal('max_inflight_messages', value < 0 || value === 65535 ? 0 : value, name);
    },
  },
  max_keepalive: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setGlobal('max_keepalive', ctx.take(readInt(name, rest, { min: 10, max: 65535 })), name),
  },
  max_packet_size: {
    status: 'supported',
    // Mosquitto 2.0 refuses anything below 20 bytes, 0 included; leave it unset for "no limit".
    handle: (ctx, rest, name) => ctx.setGlobal('max_packet_size', ctx.take(readInt(name, rest, { min: 20, max: INT32_MAX, describe: 'a number of bytes, at least 20' })), name),
  },
  max_queued_bytes: clampedCount('max_queued_bytes'),
  max_queued_messages: clampedCount('max_queued_messages'),
  message_size_limit: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setGlobal('message_size_limit', ctx.take(readInt(name, rest, { min: 0, max: MQTT_MAX_PAYLOAD, describe: `a number of bytes from 0 to ${MQTT_MAX_PAYLOAD} (0 = no limit)` })), name),
  },
  password_file: { status: 'supported', handle: (ctx, rest) => ctx.setSecurityString('password_file', rest) },
  per_listener_settings: { status: 'supported', handle: handlePerListenerSettings },
  persistence: bool('persistence', 'supported'),
  retained_persistence: bool('persistence', 'supported'),
  persistence_file: text('persistence_file', 'supported'),
  persistence_location: text('persistence_location', 'supported'),
  persistent_client_expiration: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setGlobal('persistent_client_expiration', ctx.take(readDuration(name, rest)), name),
  },
  pid_file: text('pid_file'),
  queue_qos0_messages: bool('queue_qos0_messages'),
  retain_available: bool('retain_available'),
  retry_interval: {
    status: 'parsed',
    handle: (ctx) => ctx.warn('retry_interval is no longer available in Mosquitto 2.0 and has no effect (ignored, as Mosquitto does)'),
  },
  set_tcp_nodelay: bool('set_tcp_nodelay'),
  sys_interval: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setGlobal('sys_interval', ctx.take(readInt(name, rest, { min: 0, max: 65535, describe: 'a number of seconds from 0 to 65535 (0 disables $SYS)' })), name),
  },
  upgrade_outgoing_qos: bool('upgrade_outgoing_qos'),
  user: text('user'),
  websockets_headers_size: {
    status: 'parsed',
    handle: (ctx, rest, name) => ctx.setGlobal('websockets_headers_size', ctx.take(readInt(name, rest, { min: 0, max: 65535 })), name),
  },
  websockets_log_level: {
    status: 'parsed',
    handle: (ctx, rest, name) => ctx.setGlobal('websockets_log_level', ctx.take(readInt(name, rest, { min: -INT32_MAX, max: INT32_MAX, describe: 'an integer (a libwebsockets log bit mask)' })), name),
  },
  // mqx's own options.
  outgoing_topic_aliases: bool('outgoing_topic_aliases'),
  direct_tcp: bool('direct_tcp'),
  acl_check_subscribe: bool('acl_check_subscribe'),
  auth_fail_limit: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setGlobal('auth_fail_limit', ctx.take(readInt(name, rest, { min: 0, max: 100, describe: 'a number of failures from 0 to 100 (0 = no throttling)' })), name),
  },
  auth_fail_window: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setGlobal('auth_fail_window', ctx.take(readInt(name, rest, { min: 1, max: 86400, describe: 'a number of seconds from 1 to 86400' })), name),
  },
  auth_fail_ban: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setGlobal('auth_fail_ban', ctx.take(readInt(name, rest, { min: 1, max: 86400, describe: 'a number of seconds from 1 to 86400' })), name),
  },
};
