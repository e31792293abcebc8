// The floor under a Node broker built on net: a bare net server that answers every chunk with a
// CONNACK and does nothing else. For the idle-connections scenario only (`--brokers mqx,mosquitto,node-floor`):
// what a connection costs on net.Socket (its streams, libuv), before any MQTT work. mqx's plain TCP
// listeners are below it (src/broker/transport/direct-tcp.ts).
// Usage: node bench/lib/node-floor-server.mjs PORT

import { createServer } from 'node:net';

const port = Number(process.argv[2]);
const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', () => socket.write(CONNACK));
  socket.on('error', () => socket.destroy());
});
server.listen(port, '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
