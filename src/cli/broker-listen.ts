// Starting a broker from the CLI: create it (the persistence store may refuse), bind its
// listeners, and in local-only mode fall back to 127.0.0.1 alone when the machine has no IPv6
// loopback, as Mosquitto does. Every failure becomes one CliError line naming the port or file.

import { createBroker } from '../broker/broker.js';
import type { Broker } from '../broker/broker.js';
import type { BrokerOptions, ListenerOptions } from '../broker/options.js';
import { CliError } from './errors.js';

/** Listens on every listener of `options`; `localOnly`: ::1 may be dropped if it cannot be bound. */
export async function listenBroker(options: BrokerOptions, localOnly: boolean): Promise<Broker> {
  const listeners = options.listeners ?? [];
  try {
    return await createAndListen(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!(error instanceof CliError) && localOnly && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) {
      try {
        return await createAndListen({ ...options, listeners: listeners.filter((listener) => listener.host !== '::1') });
      } catch (retryError) {
        throw retryError instanceof CliError ? retryError : bindError(retryError, listeners);
      }
    }
    throw error instanceof CliError ? error : bindError(error, listeners);
  }
}

async function createAndListen(options: BrokerOptions): Promise<Broker> {
  let broker: Broker;
  try {
    broker = createBroker(options);
  } catch (error) {
    // The persistence store refused (in use by another broker, a newer format, unreadable).
    throw new CliError(`Error: ${(error as Error).message}`, 1);
  }
  try {
    await broker.listen();
    return broker;
  } catch (error) {
    await broker.close(); // releases the store (and its lock) before a retry or the exit
    throw error;
  }
}

function bindError(error: unknown, listeners: readonly ListenerOptions[]): CliError {
  const err = error as NodeJS.ErrnoException & { port?: number; address?: string };
  const where = err.path ?? (err.port !== undefined ? `port ${err.port}` : listeners.map((l) => l.path ?? `port ${l.port}`).join(', '));
  if (err.code === 'EADDRINUSE') return new CliError(`Error: Address already in use (${where}).`, 1);
  if (err.code === 'EACCES') return new CliError(`Error: Permission denied opening ${where}.`, 1);
  if (err.code === 'EADDRNOTAVAIL') return new CliError(`Error: Cannot assign requested address ${err.address ?? ''} (${where}).`, 1);
  return new CliError(`Error: ${err.message}`, 1);
}
