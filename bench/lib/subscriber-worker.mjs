// One subscriber in its own thread, so a flooding publisher in the main thread cannot starve its reads.
// Publishes its received count through shared memory (Int32 slot 0: messages, slot 1: 1 once closed),
// and wakes a publisher thread waiting on slot 0 (Atomics.waitAsync) each time it moves.

import { parentPort, workerData } from 'node:worker_threads';
import { RawClient } from './raw-client.mjs';

const { port, clientId, filter, qos, shared } = workerData;
const counters = new Int32Array(shared);
const client = await new RawClient(port, clientId).connect();
await client.subscribe(filter, qos);
client.afterData = () => { Atomics.store(counters, 0, client.received); Atomics.notify(counters, 0); };
client.socket.on('close', () => { Atomics.store(counters, 0, client.received); Atomics.store(counters, 1, 1); });
parentPort.on('message', (message) => {
  if (message === 'stop') {
    client.destroy();
    parentPort.close();
  }
});
parentPort.postMessage('ready');
