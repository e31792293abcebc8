// Entry of a broker child process (see broker-process.ts): a test that opens 10,000 client
// sockets cannot also hold their 10,000 server ends under one process's file limit. Options come
// as JSON in argv[2]; over IPC it reports its port, then answers 'stats' and 'close'.

import { createHook } from 'node:async_hooks';
import { createBroker } from '../../src/broker/broker.js';
import { isClientConductError } from '../../src/broker/disconnect-log.js';
import type { BrokerOptions } from '../../src/broker/options.js';

export interface ChildStats {
  connections: number;
  sessions: number;
  clientsExpired: number;
  /** Timers (setTimeout/setInterval objects) created since start: a per-client tick would show here. */
  timersCreated: number;
  /** After a full GC when the child runs with --expose-gc, else as is. */
  heapUsed: number;
  /** Lines the broker logged as errors. */
  errors: string[];
}

let timersCreated = 0;
createHook({ init(_id, type) { if (type === 'Timeout') timersCreated++; } }).enable();

const errors: string[] = [];
const options = JSON.parse(process.argv[2] ?? '{}') as BrokerOptions;
const broker = createBroker({ ...options, logger: { log: (type, message) => { if (type === 'error' && !isClientConductError(message)) errors.push(message); } } });
const [address] = await broker.listen();
process.send!({ cmd: 'ready', port: address!.port });

process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'stats') {
    (globalThis as { gc?: () => void }).gc?.();
    const stats: ChildStats = {
      connections: broker.connections.size, sessions: broker.sessions.size, clientsExpired: broker.stats().clientsExpired,
      timersCreated, heapUsed: process.memoryUsage().heapUsed, errors,
    };
    process.send!({ cmd: 'stats', stats });
  } else if (message.cmd === 'close') {
    void broker.close().then(() => process.exit(0));
  }
});
// The test process went away: do not outlive it.
process.on('disconnect', () => process.exit(0));
