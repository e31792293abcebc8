// Every session by client id: lookup, creation, expiry timers and removal.
// Must not touch connections or sockets; the broker decides when a session ends.

import type { ClientInfo } from './hooks.js';
import type { Metrics } from './metrics.js';
import type { ResolvedBrokerOptions } from './options.js';
import { Session } from './session.js';

export const NEVER_EXPIRES = 0xffffffff;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly options: ResolvedBrokerOptions,
    private readonly metrics: Metrics,
    /** Called when a session ends by expiry, to publish its will and drop its subscriptions. */
    private readonly onExpire: (session: Session) => void,
  ) {}

  get(clientId: string): Session | undefined {
    return this.sessions.get(clientId);
  }

  /** A new session; `clientInfo` when its owner is known already (a CONNECT), else a placeholder. */
  create(clientId: string, clientInfo?: ClientInfo): Session {
    const session = new Session(clientId, this.options, this.metrics, clientInfo);
    this.sessions.set(clientId, session);
    return session;
  }

  delete(session: Session): void {
    session.clearTimers();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
  }

  get size(): number {
    return this.sessions.size;
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** Seconds an offline session lives: its interval, capped by persistent_client_expiration. */
  effectiveExpiry(session: Session): number {
    const cap = this.options.persistent_client_expiration;
    if (cap > 0 && session.expiryInterval > cap) return cap;
    return session.expiryInterval;
  }

  /** Starts the offline countdown [MQTT-3.1.2-23]; NEVER_EXPIRES (without a cap) keeps it forever.
   *  `elapsedMs`: time already spent offline (a session restored from the persistence store). */
  scheduleExpiry(session: Session, elapsedMs = 0): void {
    const seconds = this.effectiveExpiry(session);
    if (seconds === NEVER_EXPIRES) return;
    session.expiryTimer = setTimeout(() => {
      session.expiryTimer = null;
      if (session.link) return;
      this.metrics.clientsExpired++;
      this.onExpire(session);
    }, Math.max(0, Math.min(seconds * 1000 - elapsedMs, 2_147_483_647)));
    session.expiryTimer.unref();
  }
}
