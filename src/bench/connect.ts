// Opens many bench connections at a fixed pace (-i) with a bound on attempts in flight, and
// tallies failures by reason. Knows nothing of publishing or subscribing.

import { BenchClient, ConnectFailure } from './client.js';
import type { ClientHandlers, ClientSettings } from './client.js';
import { nowMs } from './header.js';
import type { BenchPlan } from './types.js';

/** Failure reasons and how often each happened. */
export class ErrorTally {
  private readonly counts = new Map<string, number>();

  add(reason: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
  }

  get total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }

  list(): { reason: string; count: number }[] {
    return [...this.counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
  }
}

export type Role = 'pub' | 'sub' | 'conn';

/** The connection settings of client `n` of a role. */
export function clientSettings(plan: BenchPlan, role: Role, n: number): ClientSettings {
  return {
    clientId: `${plan.clientPrefix}_${role}_${n}`,
    username: plan.username,
    password: plan.password,
    version: plan.version,
    keepalive: plan.keepalive,
    clean: plan.clean,
    connectTimeoutMs: plan.connectTimeoutMs,
  };
}

const MAX_PENDING = 256;

export interface ConnectOutcome {
  attempted: number;
  clients: (BenchClient | null)[];
  /** Epoch ms of the first attempt and of the last successful CONNACK. */
  firstAttemptMs: number;
  lastConnectedMs: number;
}

/**
 * Connects `count` clients, one every `intervalMs` (0: as fast as MAX_PENDING attempts in
 * flight allow). `connectionBase` offsets the connection index used for -h / --ifaddr rotation.
 * onConnected gets the CONNACK round trip; failures go to the tally. Stops early when
 * `shouldStop()` turns true (abort, or a failure that ends a pub/sub run).
 */
export async function connectMany(
  plan: BenchPlan, role: Role, count: number, connectionBase: number, handlers: ClientHandlers,
  errors: ErrorTally, onConnected: (client: BenchClient, n: number, connackMs: number) => void, shouldStop: () => boolean,
): Promise<ConnectOutcome> {
  const outcome: ConnectOutcome = { attempted: 0, clients: new Array(count).fill(null), firstAttemptMs: nowMs(), lastConnectedMs: 0 };
  const pending = new Set<Promise<void>>();
  const startMs = nowMs();
  for (let n = 0; n < count; n++) {
    if (shouldStop()) break;
    if (plan.connectIntervalMs > 0 && n > 0) {
      const wait = startMs + n * plan.connectIntervalMs - nowMs();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (shouldStop()) break;
    }
    outcome.attempted++;
    const number = plan.startNumber + n;
    const begun = nowMs();
    const attempt = BenchClient.connect(() => plan.open(connectionBase + n), clientSettings(plan, role, number), handlers)
      .then((client) => {
        const now = nowMs();
        outcome.clients[n] = client;
        outcome.lastConnectedMs = now;
        onConnected(client, n, now - begun);
      }, (error: unknown) => {
        errors.add(error instanceof ConnectFailure ? error.reason : (error as Error).message);
      })
      .finally(() => pending.delete(attempt));
    pending.add(attempt);
    if (pending.size >= MAX_PENDING) await Promise.race(pending);
  }
  await Promise.all(pending);
  return outcome;
}
