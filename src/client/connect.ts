// Connects an MQTT.js client built from ConnectionOptions and resolves on a successful CONNACK;
// every failure becomes a ClientError carrying mosquitto's stderr text and exit status.
// Never reconnects, never prints except the -d trace (to the given stdout).

import type { Writable } from 'node:stream';
import type { MqttClient, IClientOptions } from 'mqtt';
import type { ConnectionOptions } from './connection-options.js';
import { ClientError } from './errors.js';
import { DebugLog, type TracedPacket } from './debug-log.js';
import { SequentialMessageIds } from './message-ids.js';
import { toMqttProperties } from './properties.js';
import { MOSQ_ERR, connackString, errnoText, isLookupError, mosquittoStrerror, reasonString } from './reasons.js';
import { prepareTransport, type TransportState } from './transport.js';

export interface ClientIo {
  /** Where the -d trace goes (mosquitto writes it to stdout). */
  stdout: Writable;
  /**
   * Called with the MQTT.js client before it connects. Listeners attached here see everything,
   * e.g. 'message' events for queued messages that arrive in the same read as the CONNACK.
   */
  onClient?(client: MqttClient): void;
  /** Aborting it ends a pending connection attempt; connectClient then rejects with signal.reason. */
  signal?: AbortSignal;
}

export interface Connection {
  client: MqttClient;
  options: ConnectionOptions;
  /** Resolves once the connection is gone: null after disconnect(), a ClientError if it was lost. */
  closed: Promise<ClientError | null>;
  /** Sends DISCONNECT (with -D disconnect properties) and closes; resolves when the socket is closed. */
  disconnect(): Promise<void>;
}

/** The MQTT.js options for a connection (no stream: connectClient supplies its own). */
export function toMqttClientOptions(options: ConnectionOptions): IClientOptions {
  const v5 = options.protocolVersion === 5;
  const connectProperties = v5 ? toMqttProperties(options.properties.connect) ?? {} : undefined;
  if (connectProperties && options.sessionExpiryInterval !== undefined) {
    connectProperties.sessionExpiryInterval = options.sessionExpiryInterval;
  }
  const clientOptions: IClientOptions = {
    protocolVersion: options.protocolVersion,
    protocolId: options.protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
    clientId: options.clientId,
    keepalive: options.keepalive,
    clean: options.cleanSession,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
    resubscribe: false,
    manualConnect: true,
    messageIdProvider: new SequentialMessageIds(),
    // MQTT.js otherwise calls the `debug` package on every packet (~2% of -l CPU time).
    log: () => {},
  };
  if (connectProperties && Object.keys(connectProperties).length > 0) clientOptions.properties = connectProperties;
  if (options.username !== undefined) clientOptions.username = options.username;
  if (options.password !== undefined) clientOptions.password = Buffer.from(options.password, 'utf8');
  if (options.will) {
    const willProperties = v5 ? toMqttProperties(options.properties.will) : undefined;
    clientOptions.will = {
      topic: options.will.topic,
      payload: options.will.payload,
      qos: options.will.qos,
      retain: options.will.retain,
      ...(willProperties ? { properties: willProperties } : {}),
    };
  }
  return clientOptions;
}

function connectFailure(options: ConnectionOptions, state: TransportState, refusedCode: number | undefined): ClientError {
  const say = (text: string) => (options.quiet ? '' : text);
  if (refusedCode !== undefined) {
    if (options.protocolVersion === 5) {
      const first = refusedCode === 132
        ? `Connection error: ${reasonString(refusedCode)}. Try connecting to an MQTT v5 broker, or use MQTT v3.x mode.`
        : `Connection error: ${reasonString(refusedCode)}`;
      // libmosquitto then sees the broker close the socket after a v5 refusal: a protocol error.
      return new ClientError(say(`${first}\nError: ${mosquittoStrerror(MOSQ_ERR.PROTOCOL)}`), refusedCode);
    }
    return new ClientError(say(`Connection error: ${connackString(refusedCode)}\nError: ${mosquittoStrerror(MOSQ_ERR.CONN_REFUSED)}`), refusedCode);
  }
  const code = state.error?.code;
  if (!state.connected) {
    if (isLookupError(code)) return new ClientError(say('Unable to connect (Lookup error.).'), 1);
    const text = errnoText(code);
    if (text !== undefined) return new ClientError(say(`Error: ${text}`), 1);
  }
  const secure = options.transport === 'mqtts' || options.transport === 'wss';
  if (secure && !state.secured) return new ClientError(say(`Error: ${mosquittoStrerror(MOSQ_ERR.TLS)}`), MOSQ_ERR.TLS);
  return new ClientError(say(`Error: ${mosquittoStrerror(MOSQ_ERR.CONN_LOST)}`), MOSQ_ERR.CONN_LOST);
}

/** Connects and resolves once the broker accepted the CONNECT. */
export async function connectClient(options: ConnectionOptions, io: ClientIo): Promise<Connection> {
  const state: TransportState = { connected: false, secured: false };
  const streamBuilder = await prepareTransport(options, state);
  const clientOptions = toMqttClientOptions(options);
  const { default: MqttClientClass } = await import('mqtt/lib/client') as unknown as { default: { default: typeof MqttClient } | typeof MqttClient };
  // MQTT.js's lib/client is CommonJS with `exports.default = MqttClient`.
  const Client = ('default' in MqttClientClass ? MqttClientClass.default : MqttClientClass) as typeof MqttClient;
  let client: MqttClient;
  try {
    client = new Client(() => streamBuilder() as never, clientOptions);
  } catch (error) {
    throw new ClientError(options.quiet ? '' : `Error: ${(error as Error).message}`, 1);
  }

  if (options.debug) {
    const log = new DebugLog(io.stdout, options.clientId, clientOptions.messageIdProvider as SequentialMessageIds);
    client.on('packetsend', (packet) => log.sent(packet as unknown as TracedPacket));
    client.on('packetreceive', (packet) => log.received(packet as unknown as TracedPacket));
  }

  let connected = false;
  let disconnecting = false;
  let refusedCode: number | undefined;
  let lastError: (Error & { code?: unknown }) | undefined;
  let resolveClosed!: (value: ClientError | null) => void;
  const closed = new Promise<ClientError | null>((resolve) => { resolveClosed = resolve; });

  const connack = new Promise<void>((resolve, reject) => {
    client.on('packetreceive', (packet) => {
      if (packet.cmd !== 'connack') return;
      const code = options.protocolVersion === 5 ? (packet as { reasonCode?: number }).reasonCode : (packet as { returnCode?: number }).returnCode;
      if (code) refusedCode = code;
    });
    client.on('connect', () => { connected = true; resolve(); });
    client.on('error', (error: Error & { code?: unknown }) => { lastError ??= error; });
    client.on('close', () => {
      if (!connected) {
        reject(connectFailure(options, state, refusedCode));
        return;
      }
      if (disconnecting) { resolveClosed(null); return; }
      const keepalive = lastError?.message === 'Keepalive timeout';
      const code = keepalive ? MOSQ_ERR.KEEPALIVE : MOSQ_ERR.CONN_LOST;
      resolveClosed(new ClientError(options.quiet ? '' : `Error: ${mosquittoStrerror(code)}`, code));
    });
  });

  io.onClient?.(client);
  if (io.signal) {
    const signal = io.signal;
    const abort = () => { client.end(true); };
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    connack.finally(() => signal.removeEventListener('abort', abort)).catch(() => {});
    client.connect();
    await Promise.race([connack, new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    })]);
  } else {
    client.connect();
    await connack;
  }

  return {
    client,
    options,
    closed,
    disconnect: () => new Promise<void>((resolve) => {
      disconnecting = true;
      const properties = options.protocolVersion === 5 ? toMqttProperties(options.properties.disconnect) : undefined;
      closed.then(() => resolve());
      client.end(false, properties ? { properties } : {}, () => resolve());
    }),
  };
}
