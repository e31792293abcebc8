// Mosquitto 2.0 options mqx refuses, each with the reason, and the bridge section options
// (refused as a whole at their `connection` line). Never lets one pass silently.

import type { ParseContext } from './context.js';
import type { OptionSpec } from './options-general.js';
import { readString } from './syntax.js';

const refuse = (reason: string): OptionSpec => ({
  status: 'refused',
  handle: (ctx, _rest, name) => ctx.error(`${name} is not supported by mqx: ${reason}`),
});

const plugins = 'mqx cannot load Mosquitto plugins; use password_file and acl_file';
const psk = 'TLS-PSK is not supported; use certificate based TLS (certfile, keyfile)';
const engine = 'OpenSSL engines are not supported; use PEM certificate and key files';

export const refusedOptions: Record<string, OptionSpec> = {
  auth_plugin: refuse(plugins),
  plugin: refuse(plugins),
  auth_plugin_deny_special_chars: refuse(plugins),
  memory_limit: refuse('Node.js cannot cap the broker heap from inside; run node with --max-old-space-size instead'),
  psk_file: refuse(psk),
  psk_hint: refuse(psk),
  http_dir: refuse('websockets listeners do not serve static files'),
  tls_engine: refuse(engine),
  tls_engine_kpass_sha1: refuse(engine),
};

/** `auth_opt_*` and `plugin_opt_*` are families, not single names. */
export function refusedPrefix(name: string): OptionSpec | undefined {
  if (name.startsWith('auth_opt_') || name.startsWith('plugin_opt_')) return refuse(plugins);
  return undefined;
}

function handleConnection(ctx: ParseContext, rest: string): void {
  const label = readString('connection', rest);
  ctx.bridge = label.ok ? label.value : '';
  ctx.error(`bridges are not supported yet${label.ok ? ` (connection ${label.value})` : ''}; remove the bridge section`);
}

/** Options that only mean something inside a `connection` section (Mosquitto 2.0.x names). */
export const bridgeOptionNames = [
  'address', 'addresses', 'bridge_alpn', 'bridge_attempt_unsubscribe', 'bridge_bind_address', 'bridge_cafile',
  'bridge_capath', 'bridge_certfile', 'bridge_identity', 'bridge_insecure', 'bridge_keyfile',
  'bridge_max_packet_size', 'bridge_outgoing_retain', 'bridge_protocol_version', 'bridge_psk',
  'bridge_require_ocsp', 'bridge_tls_version', 'cleansession', 'clientid', 'idle_timeout',
  'keepalive_interval', 'local_cleansession', 'local_clientid', 'local_password', 'local_username',
  'notification_topic', 'notifications', 'notifications_local_only', 'password', 'remote_clientid',
  'remote_password', 'remote_username', 'restart_timeout', 'round_robin', 'start_type', 'threshold',
  'topic', 'try_private', 'username',
] as const;

/** Inside a refused bridge section the lines are skipped: the `connection` line already failed. */
function handleBridgeOption(ctx: ParseContext, _rest: string, name: string): void {
  if (ctx.bridge !== null) return;
  ctx.error(`${name} is a bridge option and needs a "connection" line before it; bridges are not supported yet`);
}

export const bridgeOptions: Record<string, OptionSpec> = {
  connection: { status: 'bridge', handle: handleConnection },
  ...Object.fromEntries(bridgeOptionNames.map((name) => [name, { status: 'bridge', handle: handleBridgeOption } as OptionSpec])),
};
