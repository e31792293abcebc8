// createBroker(options): the broker as a library. Owns sessions, router, retained store,
// connections and timers; listeners only hand it streams (handle()). Never imports the CLI.

import { EventEmitter } from 'node:events';
import { MqttError, ReasonCode } from '../codec/index.js';
import type { PublishProperties, QoS } from '../codec/index.js';
import { guardAuthenticate } from './auth-guard.js';
import type { Authenticate } from './auth-guard.js';
import { Connection } from './connection.js';
import { brokerMessage, routeMessage, storeRetained } from './deliver.js';
import { silentLogger } from './logger.js';
import type { BrokerLogger, LogType } from './logger.js';
import type { Message } from './message.js';
import { Metrics } from './metrics.js';
import { resolveOptions } from './options.js';
import type { BrokerOptions, ListenerOptions, ResolvedBrokerOptions } from './options.js';
import { RetainedStore } from './retained.js';
import { Router } from './router.js';
import type { Session, WillMessage } from './session.js';
import { SessionStore } from './session-store.js';
import { SysPublisher } from './sys.js';
import { Persistence } from './persistence/store.js';
import { mayWrite } from './write-access.js';
import { restore } from './persistence/restore.js';
import { listenTcp } from './transport/tcp.js';
import { listenTls } from './transport/tls.js';
import { listenUnix } from './transport/unix.js';
import { listenWebSockets } from './transport/ws.js';
import { isTcpSocket, streamAddress } from './transport/transport.js';
import type { BoundAddress, ClientStream, StreamInfo, Transport } from './transport/transport.js';
import type { ConnectInfo } from './hooks.js';

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  properties?: PublishProperties;
}

export interface BrokerStats {
  uptimeSeconds: number;
  clientsConnected: number;
  /** Offline clients whose persistent session is kept. */
  clientsDisconnected: number;
  clientsMaximum: number;
  clientsExpired: number;
  sessions: number;
  /** Open streams, including those not past CONNECT yet. */
  connections: number;
  subscriptions: number;
  retainedMessages: number;
  messagesReceived: number;
  messagesSent: number;
  publishReceived: number;
  publishSent: number;
  publishDropped: number;
  bytesReceived: number;
  bytesSent: number;
}

/**
 * Events: 'connect' (ClientInfo), 'disconnect' (ClientInfo, MqttError | null), 'publish'
 * (Message, publisher client id), 'subscribe' (subscriptions, client id), 'unsubscribe'
 * (filters, client id).
 */
export class Broker extends EventEmitter {
  readonly options: ResolvedBrokerOptions;
  readonly logger: BrokerLogger;
  /**
   * Whether Mosquitto's debug packet trace (packet-log.ts) goes anywhere: asked of the logger once,
   * so the hot paths test a field instead of building lines nobody reads.
   */
  readonly tracePackets: boolean;
  /** Whether the lines about a connection's end (error, notice or information) go anywhere. */
  readonly logsConnections: boolean;
  /** The logger's enabled() per type, asked once: every connection checks 'notice' twice. */
  private readonly logging: Readonly<Record<LogType, boolean>>;
  readonly metrics = new Metrics();
  readonly router = new Router();
  readonly retained = new RetainedStore<Message>();
  readonly sessions: SessionStore;
  readonly connections = new Set<Connection>();
  /** options.authenticate behind the auth_fail_limit throttle (one throttle for the broker's life). */
  private readonly guardedAuthenticate: Authenticate;
  /** The on-disk store with `persistence: true`; null keeps everything in memory. */
  readonly persistence: Persistence | null = null;
  private transports: Transport[] = [];
  /** Listeners with their own max_connections: the limit and how many connections they hold. */
  private readonly listenerLimits = new Map<string, { limit: number; count: number }>();
  /** Listeners with use_username_as_clientid. */
  private readonly usernameIdListeners = new Set<string>();
  /** Listeners with a mount_point, by name. */
  private readonly mountPoints = new Map<string, string>();
  /**
   * What each connection presented at CONNECT (user name, password, listener), kept as Mosquitto
   * keeps them on the context, so a reload can check connected clients against new files.
   */
  readonly credentials = new WeakMap<Connection, ConnectInfo>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly sys: SysPublisher;
  private closing = false;

  constructor(options: BrokerOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.logger = this.options.logger ?? silentLogger;
    const logger = this.logger;
    const enabled = (type: LogType): boolean => logger.enabled?.(type) ?? true;
    this.logging = {
      error: enabled('error'), warning: enabled('warning'), notice: enabled('notice'), information: enabled('information'),
      debug: enabled('debug'), subscribe: enabled('subscribe'), unsubscribe: enabled('unsubscribe'),
    };
    this.tracePackets = this.logging.debug;
    this.logsConnections = this.logging.error || this.logging.notice || this.logging.information;
    this.guardedAuthenticate = guardAuthenticate(this.options, this.logger);
    this.sessions = new SessionStore(this.options, this.metrics, (session) => this.guarded('expiring a session', () => this.endSession(session)));
    this.sys = new SysPublisher(this);
    if (this.options.persistence) {
      const persistence = new Persistence(this.options, this.logger);
      this.persistence = persistence;
      restore(this, persistence);
      this.retained.onChange = (topic, message) => persistence.retained(topic, message);
    }
  }

  /** Starts every configured listener; resolves to the bound addresses (port 0 reads back here). */
  async listen(): Promise<BoundAddress[]> {
    try {
      for (const listener of this.options.listeners) {
        const transport = await this.openListener(listener);
        this.transports.push(transport);
        const address = transport.address;
        if (address.family === 'unix') this.logger.log('information', `Opening unix listen socket on ${address.host}.`);
        else if (address.protocol === 'websockets') this.logger.log('information', `Opening websockets listen socket on port ${address.port}.`);
        else this.logger.log('information', `Opening ${address.family === 'IPv6' ? 'ipv6' : 'ipv4'} listen socket on port ${address.port}.`);
      }
    } catch (error) {
      await Promise.all(this.transports.map((transport) => transport.close()));
      this.transports = [];
      throw error;
    }
    this.startTimers();
    return this.addresses();
  }

  /** One listener through its transport; every transport hands streams to handle(). */
  private openListener(listener: ListenerOptions): Promise<Transport> {
    const accept = (stream: ClientStream, info: StreamInfo) => this.handle(stream, info);
    const onClientError = (message: string, remoteAddress: string) => {
      this.logger.log('notice', `Client connection from ${remoteAddress} failed: ${message}.`);
    };
    // The name each transport gives its streams (StreamInfo.listener), for the per-listener limit.
    const name = listener.name ?? listener.path ?? String(listener.port);
    if (listener.max_connections !== undefined && listener.max_connections >= 0) this.listenerLimits.set(name, { limit: listener.max_connections, count: 0 });
    if (listener.use_username_as_clientid === true) this.usernameIdListeners.add(name);
    if (listener.mount_point !== undefined && listener.mount_point !== '') this.mountPoints.set(name, listener.mount_point);
    if (listener.path !== undefined) return listenUnix({ path: listener.path, name: listener.name }, accept);
    const common = { port: listener.port, host: listener.host, name: listener.name, ipv6Only: listener.ipv6Only, onClientError };
    if (listener.protocol === 'websockets') return listenWebSockets({ ...common, tls: listener.tls }, accept);
    if (listener.tls !== undefined) return listenTls({ ...common, tls: listener.tls }, accept);
    return listenTcp({ ...common, direct: this.options.direct_tcp }, accept);
  }

  /** Whether clients of this listener take their user name as client id. */
  usernameAsClientId(listener: string): boolean {
    return this.usernameIdListeners.size > 0 && this.usernameIdListeners.has(listener);
  }

  addresses(): BoundAddress[] {
    return this.transports.map((transport) => transport.address);
  }

  /** Serves one client over any duplex stream (a socket, a TLS stream, a WebSocket stream, a test pair). */
  handle(stream: ClientStream, info: Partial<StreamInfo> = {}): void {
    if (this.closing) { stream.destroy(); return; }
    // A peer gone (reset) before it was accepted has no address: Mosquitto drops it without a line.
    // Asked only when lines are logged: it costs a getpeername per connection, and without a log
    // such a connection ends unseen anyway, at its first read.
    if (this.logs('notice') && info.remoteAddress === undefined && isTcpSocket(stream) && stream.remoteAddress === undefined) { stream.destroy(); return; }
    const max = this.options.max_connections;
    if (max >= 0 && this.connections.size >= max) {
      this.logger.log('notice', `Client connection from ${streamAddress(stream, info.remoteAddress)} denied: max_connections exceeded.`);
      stream.destroy();
      return;
    }
    const own = info.listener === undefined || this.listenerLimits.size === 0 ? undefined : this.listenerLimits.get(info.listener);
    if (own !== undefined) {
      if (own.count >= own.limit) {
        this.logger.log('notice', `Client connection from ${streamAddress(stream, info.remoteAddress)} denied: max_connections exceeded.`);
        stream.destroy();
        return;
      }
      own.count++;
    }
    this.startTimers();
    const connection = new Connection(this, stream, info.remoteAddress, info.listener ?? '');
    if (info.certificateUsername !== undefined) connection.certificateUsername = info.certificateUsername;
    if (this.mountPoints.size > 0 && info.listener !== undefined) connection.mountPoint = this.mountPoints.get(info.listener) ?? null;
    this.connections.add(connection);
    this.metrics.sockets++;
    if (this.logs('notice')) this.logger.log('notice', `New connection from ${connection.remoteAddress} on port ${info.listener ?? '-'}.`);
  }

  /** Whether log lines of `type` go anywhere (lines naming the peer are then worth building). */
  logs(type: LogType): boolean {
    return this.logging[type];
  }

  /** Installs authentication/authorization hooks after start (a reload that starts needing them). */
  setHooks(hooks: Pick<BrokerOptions, 'authenticate' | 'authorize'>): void {
    if (hooks.authenticate !== undefined) this.options.authenticate = hooks.authenticate;
    if (hooks.authorize !== undefined) this.options.authorize = hooks.authorize;
  }

  /** What CONNECT calls: the current options.authenticate (a reload may add one) behind the throttle. */
  get authenticate(): Authenticate | undefined {
    return this.options.authenticate === undefined ? undefined : this.guardedAuthenticate;
  }

  /**
   * Checks every connected client again with what it presented at CONNECT, as Mosquitto does
   * after a reload (mosquitto_security_apply_default): a refused one is disconnected without a
   * DISCONNECT packet and without its will, its session kept as on any disconnection.
   * Returns the client ids disconnected.
   */
  reauthenticate(check: (info: ConnectInfo) => boolean | number | undefined): string[] {
    const dropped: string[] = [];
    for (const connection of [...this.connections]) {
      if (connection.state !== 'connected') continue;
      const info = this.credentials.get(connection) ?? anonymousInfo(connection);
      const verdict = check(info);
      if (verdict === true || verdict === undefined || verdict === 0) continue;
      dropped.push(connection.clientId);
      this.logger.log('notice', `Client ${connection.name} disconnected, not authorised.`);
      connection.will = null;
      connection.close(null);
    }
    return dropped;
  }

  /** Publishes a message as the broker (no publisher id). */
  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): void {
    const message = brokerMessage(topic, typeof payload === 'string' ? Buffer.from(payload) : payload, options.qos ?? 0, options.retain === true);
    if (options.properties) {
      message.properties = options.properties;
      if (options.properties.messageExpiryInterval !== undefined) message.expiresAt = Date.now() + options.properties.messageExpiryInterval * 1000;
    }
    this.publishMessage(message);
  }

  /** The retained store, then every subscriber; returns how many sessions got it. */
  publishMessage(message: Message): number {
    storeRetained(this, message);
    return routeMessage(this, message);
  }

  /** A snapshot of the counters and sizes (what $SYS publishes, as numbers). */
  stats(): BrokerStats {
    const m = this.metrics;
    let offline = 0;
    for (const session of this.sessions.values()) if (!session.link) offline++;
    return {
      uptimeSeconds: Math.floor((Date.now() - m.startedAt) / 1000),
      clientsConnected: m.clientsConnected, clientsDisconnected: offline, clientsMaximum: m.clientsMaximum,
      clientsExpired: m.clientsExpired, sessions: this.sessions.size, connections: this.connections.size,
      subscriptions: this.router.count, retainedMessages: this.retained.size,
      messagesReceived: m.messagesReceived, messagesSent: m.messagesSent, publishReceived: m.publishReceived,
      publishSent: m.publishSent, publishDropped: m.dropped, bytesReceived: m.bytesReceived, bytesSent: m.bytesSent,
    };
  }

  /** Called by a connection once CONNACK is about to be sent. */
  connectionAccepted(connection: Connection): void {
    this.metrics.clientsConnected++;
    if (this.metrics.clientsConnected > this.metrics.clientsMaximum) this.metrics.clientsMaximum = this.metrics.clientsConnected;
    this.metrics.connectionsTotal++;
    this.router.setOnline(connection.clientId, true);
    this.persistence?.sessionOnline(connection.session!, connection.will);
  }

  /** Called exactly once per connection when it closes, for whatever reason. */
  connectionClosed(connection: Connection, wasConnected: boolean, reason: MqttError | null): void {
    this.connections.delete(connection);
    this.metrics.sockets--;
    const own = this.listenerLimits.size === 0 ? undefined : this.listenerLimits.get(connection.listener);
    if (own !== undefined) own.count--;
    if (!wasConnected) return;
    this.metrics.clientsConnected--;
    const session = connection.session!;
    if (session.link !== connection) return;
    session.detach();
    this.router.setOnline(session.clientId, false);
    this.redistributeShared(session);
    const ends = this.sessions.effectiveExpiry(session) === 0;
    // [MQTT-3.1.2-8] the will is published unless the client sent a normal DISCONNECT [MQTT-3.1.2-10]
    if (connection.will !== null && !connection.disconnectedNormally) this.scheduleWill(session, connection.will, ends);
    if (ends) this.endSession(session);
    else { this.sessions.scheduleExpiry(session); this.persistence?.sessionOffline(session); }
    this.emit('disconnect', session.clientInfo, reason);
  }

  /**
   * [MQTT-3.1.3-9] a delayed will waits for its delay or the session's end, whichever is first;
   * a session ending now (expiry 0) publishes at once, where Mosquitto would still wait.
   */
  private scheduleWill(session: Session, will: WillMessage, sessionEndsNow: boolean): void {
    if (will.delay === 0 || sessionEndsNow) { this.publishWill(will, session); return; }
    session.pendingWill = will;
    const seconds = Math.min(will.delay, this.sessions.effectiveExpiry(session));
    session.willTimer = setTimeout(() => {
      session.willTimer = null;
      const pending = session.pendingWill;
      session.pendingWill = null;
      if (pending && !session.link) this.guarded('publishing a delayed will', () => { this.publishWill(pending, session); this.persistence?.sessionOffline(session); });
    }, Math.min(seconds * 1000, 2_147_483_647));
  }

  /**
   * Publishes a will if its publisher may write its topic now (the mount point is already in
   * the topic). Mosquitto 2.0 checks a will only here, when it is sent (context__send_will),
   * never at CONNECT: a denied will is accepted with the connection and silently dropped, with
   * the ACL in force at that moment (a reload in between counts). Returns whether it went out.
   */
  publishWill(will: WillMessage, session: Session): boolean {
    const publisher = will.message.publisher ?? session.clientInfo;
    if (!mayWrite(this.options.authorize, publisher, will.message.topic)) {
      this.logger.log('debug', `Denied will of ${publisher.clientId} ('${will.message.topic}', ... (${will.message.payload.length} bytes)).`);
      return false;
    }
    const expiry = will.message.properties?.messageExpiryInterval;
    const message: Message = { ...will.message, expiresAt: expiry !== undefined ? Date.now() + expiry * 1000 : 0 };
    this.publishMessage(message);
    return true;
  }

  /** A session ends: its pending will goes out, its subscriptions and messages are dropped. */
  endSession(session: Session): void {
    const will = session.pendingWill;
    session.pendingWill = null;
    session.clearTimers();
    if (will) this.publishWill(will, session);
    this.redistributeShared(session);
    this.router.removeAll(session.clientId);
    this.sessions.delete(session);
    this.persistence?.sessionEnded(session);
  }

  /** A leaving member's unacknowledged shared-subscription messages go to another member. */
  private redistributeShared(session: Session): void {
    const taken = session.takeSharedDeliveries();
    if (taken.length === 0) return;
    const filters = this.router.subscriptionsOf(session.clientId).map((entry) => entry.filter);
    for (const out of taken) {
      const group = out.sharedGroup!;
      const prefix = group === '$queue' ? '$queue/' : `$share/${group}/`;
      for (const filter of filters) {
        if (!filter.startsWith(prefix)) continue;
        const plain = filter.slice(prefix.length);
        const next = this.router.nextSharedMember(group, plain, session.clientId);
        const target = next === null ? undefined : this.sessions.get(next);
        if (target === undefined) continue;
        target.deliver(out.message, out.qos, out.retain, out.subscriptionIds, group, null);
        break;
      }
    }
  }

  private startTimers(): void {
    if (this.sweepTimer !== null || this.closing) return;
    this.sweepTimer = setInterval(() => this.guarded('checking keep alives', () => this.sweep()), 1000);
    this.sweepTimer.unref();
    this.sys.start();
  }

  /** Runs timer work so that a bug logs an error line instead of ending the process. */
  guarded(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.logger.log('error', `Error ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Once a second: keepalive at 1.5x [MQTT-3.1.2-24] and the CONNECT deadline (slowloris). */
  private sweep(): void {
    const now = Date.now();
    const connectDeadline = this.options.connect_timeout * 1000;
    for (const connection of this.connections) {
      if (connection.state === 'connected') {
        if (connection.keepalive > 0 && now - connection.lastActivity > connection.keepalive * 1500) {
          connection.closeWithError(new MqttError(ReasonCode.KeepAliveTimeout, 'keep alive timeout'));
        }
      } else if (connection.state !== 'closed' && now - connection.lastActivity > connectDeadline) {
        this.logger.log('notice', `Client ${connection.remoteAddress} did not send CONNECT in time, disconnecting.`);
        connection.close(null);
        connection.stream.destroy();
      }
    }
  }

  /** Graceful stop: listeners closed, clients told (5.0 0x8B), wills published, sessions kept in memory. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.sys.stop();
    await Promise.all(this.transports.map((transport) => transport.close()));
    this.transports = [];
    const closed: Promise<void>[] = [];
    for (const connection of [...this.connections]) {
      closed.push(new Promise<void>((resolve) => {
        if (connection.stream.destroyed) { resolve(); return; }
        connection.stream.once('close', () => resolve());
        setTimeout(() => { connection.stream.destroy(); resolve(); }, 1000).unref();
      }));
      connection.closeWithError(new MqttError(ReasonCode.ServerShuttingDown, 'server shutting down'));
    }
    await Promise.all(closed);
    for (const session of this.sessions.values()) {
      const will = session.pendingWill;
      session.pendingWill = null;
      session.clearTimers();
      if (will) { this.publishWill(will, session); this.persistence?.sessionOffline(session); }
    }
    await this.persistence?.close();
  }
}

/** What an anonymous client presented at CONNECT, rebuilt from its connection (see handleConnect). */
function anonymousInfo(connection: Connection): ConnectInfo {
  return {
    clientId: connection.clientId, username: undefined, password: undefined, protocolVersion: connection.protocolVersion,
    remoteAddress: connection.remoteAddress, listener: connection.listener,
  };
}

export function createBroker(options: BrokerOptions = {}): Broker {
  return new Broker(options);
}
