// Opens many idle MQTT connections as cheaply as this process can, for the connect-rate scenario.
// On 2 cores the load generator's CPU per connection bounds the rate it can measure: through
// net.Socket (RawClient) it spends 110-180 µs per connection, more than either broker (40-70), so
// the rate measured the generator more than the broker. Here each connection is a bare libuv TCP
// handle (Node's tcp_wrap binding, the layer under net.Socket, as the broker's own direct-tcp.ts
// uses) with a pre-encoded CONNECT, no promise and no stream per connection: about 55-80 µs.
// Bench-only: it uses Node internals that src/broker/transport/direct-tcp.ts checks with care.

const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');
const { WriteWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset } = process.binding('stream_wrap');

const CONNACK = 0x20;

/** An MQTT 3.1.1 CONNECT with clean session and keepalive 0 (the broker never expects a ping). */
function connectPacket(clientId) {
  const id = Buffer.from(clientId, 'utf8');
  const remaining = 10 + 2 + id.length;
  if (remaining > 127) throw new Error(`client id too long: ${clientId}`);
  const packet = Buffer.allocUnsafe(2 + remaining);
  packet.set([0x10, remaining, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00, id.length >> 8, id.length & 0xff]);
  id.copy(packet, 14);
  return packet;
}

function ignore() {}

/** A gap this long between the generator's callbacks, with every handshake past TCP, is the broker's. */
const STALL_MS = 1;

/**
 * Connects `count` clients (ids `${prefix}${index}`) to 127.0.0.1:port, at most `concurrency`
 * handshakes in flight; resolves once every CONNACK accepted them, rejects on the first refusal,
 * error, early close or timeout. The result's close() closes them all; its stallMs adds up the
 * gaps of over 1 ms in which every connection in flight waited for a CONNACK (the broker paused:
 * a garbage collection, a compilation on its core), which leave the generator idle.
 */
export function connectIdle(port, prefix, count, concurrency = 100, timeoutMs = 60000) {
  const handles = [];
  const close = () => { for (const handle of handles) handle.close(ignore); handles.length = 0; };
  return new Promise((resolve, reject) => {
    let started = 0;
    let accepted = 0;
    let failed = false;
    let connecting = 0;
    let lastCallback = 0;
    let stallMs = 0;
    const noteCallback = () => {
      const now = performance.now();
      if (connecting === 0 && lastCallback !== 0 && now - lastCallback > STALL_MS) stallMs += now - lastCallback;
      lastCallback = now;
    };
    const timer = setTimeout(() => fail(new Error(`${count - accepted} of ${count} connections not accepted within ${timeoutMs} ms`)), timeoutMs);
    function fail(error) {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      close();
      reject(error);
    }
    function onAccepted() {
      accepted++;
      if (accepted === count) { clearTimeout(timer); resolve({ count, close, stallMs }); } else if (started < count) startOne();
    }
    function startOne() {
      const clientId = `${prefix}${started++}`;
      const handle = new TCP(constants.SOCKET);
      handles.push(handle);
      let answered = false;
      handle.onread = function onRead(arrayBuffer) {
        const length = streamBaseState[kReadBytesOrError];
        if (answered) return; // nothing else is expected on an idle connection; a later close is the broker's business
        answered = true;
        noteCallback();
        if (length <= 0) return fail(new Error(`${clientId}: closed before CONNACK (${length})`));
        const bytes = new Uint8Array(arrayBuffer, streamBaseState[kArrayBufferOffset], length);
        if (bytes[0] !== CONNACK || length < 4) return fail(new Error(`${clientId}: expected CONNACK, got 0x${bytes[0].toString(16)}`));
        if (bytes[3] !== 0) return fail(new Error(`${clientId}: CONNACK refused ${bytes[3]}`));
        onAccepted();
      };
      const request = new TCPConnectWrap();
      request.oncomplete = function onConnected(status) {
        if (failed) return;
        noteCallback();
        connecting--;
        if (status < 0) return fail(new Error(`${clientId}: connect failed (${status})`));
        handle.readStart();
        const write = new WriteWrap();
        write.handle = handle;
        write.oncomplete = ignore;
        write.async = false;
        const error = handle.writeBuffer(write, connectPacket(clientId));
        if (error < 0) fail(new Error(`${clientId}: write failed (${error})`));
      };
      request.address = '127.0.0.1';
      request.port = port;
      connecting++;
      const error = handle.connect(request, '127.0.0.1', port);
      if (error < 0) fail(new Error(`${clientId}: connect failed (${error})`));
    }
    for (let i = 0; i < Math.min(concurrency, count); i++) startOne();
  });
}

let warmed = false;

/**
 * Runs the connector's own code to optimized state once per process, against a throwaway
 * in-process listener, so that the first broker measured does not pay for the generator's JIT.
 */
export async function warmConnector() {
  if (warmed) return;
  warmed = true;
  const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
  const server = new TCP(constants.SERVER);
  if (server.bind('127.0.0.1', 0) !== 0 || server.listen(511) !== 0) throw new Error('warm-up listener failed');
  const name = {};
  server.getsockname(name);
  server.onconnection = (status, client) => {
    if (status !== 0) return;
    client.onread = function onRead() {
      if (streamBaseState[kReadBytesOrError] <= 0) { this.close(ignore); return; }
      const write = new WriteWrap();
      write.handle = this;
      write.oncomplete = ignore;
      write.async = false;
      this.writeBuffer(write, CONNACK_OK);
    };
    client.readStart();
  };
  try {
    for (let round = 0; round < 3; round++) (await connectIdle(name.port, `warm${round}-`, 2000)).close();
  } finally {
    server.close(ignore);
  }
}
