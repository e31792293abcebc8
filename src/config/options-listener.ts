// Handlers for listener options: `listener`, the deprecated default-listener forms (`port`,
// `bind_address`), per-listener settings and TLS. Records values on the current listener only.

import type { ParseContext } from './context.js';
import { formatOrigin, newListener } from './context.js';
import type { OptionSpec } from './options-general.js';
import type { ListenerSettings, ParsedListener, Protocol, SocketDomain, TlsVersion } from './types.js';
import { publishTopicProblem, readBool, readChoice, readInt, readString, tokens } from './syntax.js';

function sameAddress(a: ParsedListener, port: number, address: string | null): boolean {
  return a.port === port && (a.port === 0 ? a.unix_socket_path === address : a.bind_address === address);
}

function handleListener(ctx: ParseContext, rest: string): void {
  ctx.parsed.local_only = false;
  const usage = 'listener PORT [BIND_ADDRESS], or listener 0 /path/to/unix.sock';
  const listener = newListener(ctx.here());
  // Whatever happens, later lines belong to this listener, so one bad line does not cascade.
  ctx.listener = listener;
  ctx.parsed.listeners.push(listener);
  const parts = tokens(rest);
  if (parts.length === 0) {
    ctx.error(`listener needs a port: ${usage}`);
    return;
  }
  const port = ctx.take(readInt('listener port', parts[0]!, { min: 0, max: 65535, describe: 'a port from 1 to 65535, or 0 with a unix socket path' }));
  if (port === undefined) return;
  // conf.c: a second token starting with '#' is a comment, not an address.
  const address = parts[1] !== undefined && !parts[1].startsWith('#') ? parts[1] : null;
  const extra = address === null ? [] : parts.slice(2);
  if (extra.length > 0 && !extra[0]!.startsWith('#')) {
    ctx.error(`unexpected "${extra.join(' ')}" after the listener address: ${usage}`);
    return;
  }
  if (port === 0 && address === null) {
    ctx.error('a listener with port 0 must give a unix socket path: listener 0 /path/to/unix.sock');
    return;
  }
  const duplicate = ctx.parsed.listeners.find((other) => other !== listener && sameAddress(other, port, address));
  if (duplicate?.origin) {
    ctx.error(`listener ${port}${address ? ` ${address}` : ''} is already defined at ${formatOrigin(duplicate.origin)}`);
  }
  listener.port = port;
  if (port === 0) listener.unix_socket_path = address;
  else listener.bind_address = address;
}

function handlePort(ctx: ParseContext, rest: string): void {
  ctx.parsed.local_only = false;
  ctx.warn('port is deprecated in Mosquitto 2.0: prefer "listener PORT"');
  const port = ctx.take(readInt('port', rest, { min: 1, max: 65535 }));
  if (port === undefined) return;
  const defaults = ctx.parsed.default_listener;
  const previous = defaults.set.get('port');
  if (defaults.port !== null && previous) {
    ctx.warn(`port is already set at ${formatOrigin(previous)}; only the last one is used (as in Mosquitto)`);
  }
  defaults.port = port;
  defaults.set.set('port', ctx.here());
}

function handleBindAddress(ctx: ParseContext, rest: string): void {
  ctx.parsed.local_only = false;
  ctx.warn('bind_address is deprecated in Mosquitto 2.0: prefer "listener PORT ADDRESS"');
  const defaults = ctx.parsed.default_listener;
  const previous = defaults.set.get('bind_address');
  if (defaults.bind_address !== null && previous) {
    ctx.error(`duplicate bind_address (already set at ${formatOrigin(previous)})`);
    return;
  }
  const address = ctx.take(readString('bind_address', rest));
  if (address === undefined) return;
  defaults.bind_address = address;
  defaults.set.set('bind_address', ctx.here());
}

function handleMountPoint(ctx: ParseContext, rest: string, name: string): void {
  // conf.c checks the global listener count, not the current listener.
  if (ctx.parsed.listeners.length === 0) {
    ctx.error('mount_point needs a listener: put it after a "listener" line');
    return;
  }
  const value = ctx.take(readString(name, rest));
  if (value === undefined) return;
  const problem = publishTopicProblem(value);
  if (problem) {
    ctx.error(`invalid mount_point "${value}": ${problem}`);
    return;
  }
  const previous = ctx.listener.set.get(name);
  if (ctx.listener.settings.mount_point !== undefined && previous) {
    ctx.error(`duplicate mount_point for this listener (already set at ${formatOrigin(previous)})`);
    return;
  }
  ctx.setListener('mount_point', value, name);
}

const listenerBool = (key: keyof ListenerSettings): OptionSpec => ({
  status: 'supported',
  handle: (ctx, rest, name) => ctx.setListener(key, ctx.take(readBool(name, rest)) as never, name),
});

const listenerText = (key: keyof ListenerSettings): OptionSpec => ({
  status: 'supported',
  handle: (ctx, rest, name) => ctx.setListenerString(key, rest, name),
});

const maxQos: OptionSpec = {
  status: 'supported',
  handle: (ctx, rest, name) => {
    const value = ctx.take(readInt(name, rest, { min: 0, max: 2 }));
    if (value !== undefined) ctx.setListener('max_qos', value as 0 | 1 | 2, 'max_qos');
  },
};

export const listenerOptions: Record<string, OptionSpec> = {
  listener: { status: 'supported', handle: handleListener },
  port: { status: 'supported', handle: handlePort },
  bind_address: { status: 'supported', handle: handleBindAddress },
  bind_interface: listenerText('bind_interface'),
  max_connections: {
    status: 'supported',
    handle: (ctx, rest, name) => {
      const value = ctx.take(readInt(name, rest, { min: -2147483647, max: 2147483647, describe: 'a number of connections (-1 = unlimited)' }));
      if (value !== undefined) ctx.setListener('max_connections', value < 0 ? -1 : value, name);
    },
  },
  max_qos: maxQos,
  maximum_qos: maxQos,
  max_topic_alias: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setListener('max_topic_alias', ctx.take(readInt(name, rest, { min: 0, max: 65535 })), name),
  },
  mount_point: { status: 'supported', handle: handleMountPoint },
  protocol: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setListener('protocol', ctx.take(readChoice<Protocol>(name, rest, ['mqtt', 'websockets'])), name),
  },
  socket_domain: {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setListener('socket_domain', ctx.take(readChoice<SocketDomain>(name, rest, ['ipv4', 'ipv6'])), name),
  },
  use_username_as_clientid: listenerBool('use_username_as_clientid'),
  // Certificate based TLS.
  cafile: listenerText('cafile'),
  capath: listenerText('capath'),
  certfile: listenerText('certfile'),
  keyfile: listenerText('keyfile'),
  ciphers: listenerText('ciphers'),
  'ciphers_tls1.3': {
    status: 'supported',
    handle: (ctx, rest, name) => ctx.setListenerString('ciphers_tls13', rest, name),
  },
  crlfile: listenerText('crlfile'),
  dhparamfile: listenerText('dhparamfile'),
  require_certificate: listenerBool('require_certificate'),
  tls_version: {
    status: 'supported',
    // Mosquitto checks this only when the listener starts; mqx says so at the line.
    handle: (ctx, rest, name) => ctx.setListener('tls_version', ctx.take(readChoice<TlsVersion>(name, rest, ['tlsv1.3', 'tlsv1.2', 'tlsv1.1'])), name),
  },
  use_identity_as_username: listenerBool('use_identity_as_username'),
  use_subject_as_username: listenerBool('use_subject_as_username'),
  tls_keyform: {
    status: 'supported',
    handle: (ctx, rest, name) => {
      const form = ctx.take(readChoice(name, rest, ['pem', 'engine']));
      if (form === 'engine') ctx.error('tls_keyform engine is not supported by mqx (no OpenSSL engine support); use a PEM key file');
    },
  },
};
