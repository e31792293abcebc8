// Builds the stream opener for bench connections from the shared ConnectionOptions: -h a,b and
// --ifaddr x,y rotate per connection. Transports come from src/client; nothing is opened here.

import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from '../client/connection-options.js';
import { prepareTransport } from '../client/transport.js';
import type { TransportState } from '../client/transport.js';
import type { OpenStream } from './types.js';

/**
 * Connection n goes to hosts[n % hosts.length] from ifaddrs[n % ifaddrs.length] (emqtt-bench's
 * round robin). TLS material is loaded once per host and address pair, before any connection.
 */
export async function makeOpener(base: ConnectionOptions, hosts: string[], ifaddrs: string[]): Promise<OpenStream> {
  const addresses = ifaddrs.length > 0 ? ifaddrs : [base.bindAddress];
  const factories: (() => Duplex)[][] = [];
  for (const host of hosts) {
    const row: (() => Duplex)[] = [];
    for (const address of addresses) {
      const state: TransportState = { connected: false, secured: false };
      row.push(await prepareTransport({ ...base, host, bindAddress: address, noDelay: true }, state));
    }
    factories.push(row);
  }
  return (n) => factories[n % hosts.length]![n % addresses.length]!();
}
