// connectClient against tiny loopback servers: each way a connection can fail becomes mosquitto's
// text and exit status; onClient sees the client before CONNECT; an AbortSignal ends a pending attempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { connectClient } from '../../src/client/connect.js';
import { ClientError } from '../../src/client/errors.js';
import { emptyPropertySet } from '../../src/client/properties.js';
import type { ConnectionOptions } from '../../src/client/connection-options.js';

function options(port: number, overrides: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return {
    transport: 'mqtt', host: '127.0.0.1', port, clientId: 'tester', keepalive: 60, cleanSession: true,
    protocolVersion: 4, qos: 0, debug: false, quiet: false, noDelay: false, properties: emptyPropertySet(), ...overrides,
  };
}

/** A server that answers the first bytes it reads with `reply` (or does `onData`). */
async function fakeBroker(onData: (socket: Socket) => void): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => socket.once('data', () => onData(socket)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, server };
}

async function failure(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ClientError, String(error));
    return error;
  }
  assert.fail('connectClient resolved');
}

const io = () => ({ stdout: new PassThrough() });

test('a refused TCP connection: "Error: Connection refused", exit 1', async () => {
  const { port, server } = await fakeBroker(() => {});
  await new Promise((resolve) => server.close(resolve));
  const error = await failure(connectClient(options(port), io()));
  assert.equal(error.message, 'Error: Connection refused');
  assert.equal(error.exitCode, 1);
});

test('CONNACK refused (3.1.1 code 5 and MQTT 5 reason 135): exit status is the code', async () => {
  const v3 = await fakeBroker((socket) => socket.end(Buffer.from([0x20, 0x02, 0x00, 0x05])));
  const error = await failure(connectClient(options(v3.port), io()));
  assert.equal(error.message, 'Connection error: Connection Refused: not authorised.\nError: The connection was refused.');
  assert.equal(error.exitCode, 5);
  v3.server.close();
  const v5 = await fakeBroker((socket) => socket.end(Buffer.from([0x20, 0x03, 0x00, 0x87, 0x00])));
  const error5 = await failure(connectClient(options(v5.port, { protocolVersion: 5 }), io()));
  assert.equal(error5.message, 'Connection error: Not authorized\nError: A network protocol error occurred when communicating with the broker.');
  assert.equal(error5.exitCode, 135);
  v5.server.close();
});

test('the broker closes before CONNACK: "The connection was lost.", exit 7; --quiet prints nothing', async () => {
  const { port, server } = await fakeBroker((socket) => socket.destroy());
  const error = await failure(connectClient(options(port), io()));
  assert.equal(error.message, 'Error: The connection was lost.');
  assert.equal(error.exitCode, 7);
  const quiet = await failure(connectClient(options(port, { quiet: true }), io()));
  assert.equal(quiet.message, '');
  assert.equal(quiet.exitCode, 7);
  server.close();
});

test('onClient sees the client first; aborting the signal ends a CONNECT that gets no answer', async () => {
  const { port, server } = await fakeBroker(() => {});
  const controller = new AbortController();
  let sawClient = false;
  const pending = connectClient(options(port), { stdout: new PassThrough(), signal: controller.signal, onClient: () => { sawClient = true; } });
  setTimeout(() => controller.abort(new Error('stopped')), 50);
  await assert.rejects(pending, /stopped/);
  assert.ok(sawClient);
  server.close();
});

test('a successful CONNACK resolves; disconnect() sends DISCONNECT and closes', async () => {
  let received = Buffer.alloc(0);
  const { port, server } = await fakeBroker((socket) => {
    socket.on('data', (chunk: Buffer) => { received = Buffer.concat([received, chunk]); });
    socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
  });
  const connection = await connectClient(options(port), io());
  await connection.disconnect();
  assert.deepEqual([...received.subarray(-2)], [0xe0, 0x00], 'DISCONNECT is the last packet');
  assert.equal(await connection.closed, null);
  server.close();
});
