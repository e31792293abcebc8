// Plain TCP listeners on libuv's TCP handles directly: the binding under net.Socket (Node's own
// tcp_wrap and stream_wrap), without a net.Socket, its two stream states and its event plumbing
// per connection. That layer costs more CPU per accepted connection than Mosquitto spends in all
// (a bare server answering CONNACK: 60-84 µs on net, 29-43 µs on these handles; Mosquitto 45-75 µs),
// and issue 3's connect rate is set by the broker's CPU per connection.
//
// The binding is Node's internal interface: loadDirectTcp() checks every function and constant
// used here and returns null when one is missing (another Node version, a permission model, or
// --pending-deprecation, under which process.binding warns); tcp.ts then uses net as before.
// DirectSocket does what the broker asks of a stream (ClientStream) and what net.Socket does
// with allowHalfOpen false: writes in order, end() after the queued writes, close after both
// sides ended, 'data' / 'end' / 'error' / 'close' / 'drain' events. It is not an EventEmitter:
// the connection's one listener per event sits in a field (no listener table per connection,
// no emit() lookup per read); others (a once('drain'), the broker's once('close') at shutdown)
// go to a short list.

import { getSystemErrorMap, getSystemErrorName } from 'node:util';

export interface TcpHandle {
  /** Must always be a function (the binding asserts it). */
  onread: (this: TcpHandle, arrayBuffer: ArrayBuffer | undefined) => void;
  onconnection: (this: TcpHandle, status: number, client?: TcpHandle) => void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteRequest, data: Buffer): number;
  shutdown(req: ShutdownRequest): number;
  close(callback: (this: TcpHandle) => void): void;
  getpeername(out: Record<string, unknown>): number;
  getsockname(out: Record<string, unknown>): number;
  setNoDelay(enable: boolean): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  listen(backlog: number): number;
  [SOCKET]?: DirectSocket;
}

interface WriteRequest {
  handle: TcpHandle | null;
  oncomplete: (this: WriteRequest, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: Buffer | null;
  socket: DirectSocket | null;
}

interface ShutdownRequest {
  handle: TcpHandle;
  oncomplete: (this: ShutdownRequest, status: number) => void;
  socket: DirectSocket;
}

export interface DirectTcp {
  TCP: new (type: number) => TcpHandle;
  serverType: number;
  ipv6OnlyFlag: number;
  WriteWrap: new () => WriteRequest;
  ShutdownWrap: new () => ShutdownRequest;
  state: Int32Array;
  readBytesOrError: number;
  arrayBufferOffset: number;
  lastWriteWasAsync: number;
  /**
   * A write request nobody holds: a write the kernel takes whole (almost every one) leaves its
   * request untouched by libuv, so the next write reuses it instead of constructing another.
   */
  spareWrite: WriteRequest | null;
}

const SOCKET = Symbol('mqx.directSocket');
/** net.Socket's writable highWaterMark: writableNeedDrain turns true at this many unsent bytes. */
const HIGH_WATER_MARK = 16 * 1024;
/** What handle.shutdown() returns when it finished at once (StreamBase: nothing left to flush). */
const SHUTDOWN_DONE_SYNC = 1;

let loaded: DirectTcp | null | undefined;

/** The handles, or null when this Node does not offer every part used here (net is used then). */
export function loadDirectTcp(): DirectTcp | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (pendingDeprecation()) return null;
  try {
    const binding = (process as unknown as { binding?: (name: string) => Record<string, unknown> }).binding;
    if (typeof binding !== 'function') return null;
    const tcpWrap = binding('tcp_wrap') as { TCP?: DirectTcp['TCP'] & { prototype: Record<string, unknown> }; constants?: Record<string, unknown> };
    const streamWrap = binding('stream_wrap') as Record<string, unknown>;
    const TCP = tcpWrap.TCP;
    const constants = tcpWrap.constants;
    if (typeof TCP !== 'function' || constants === undefined || typeof constants.SERVER !== 'number' || typeof constants.UV_TCP_IPV6ONLY !== 'number') return null;
    const methods = ['readStart', 'readStop', 'writeBuffer', 'shutdown', 'close', 'getpeername', 'getsockname', 'setNoDelay', 'bind', 'bind6', 'listen'];
    if (!methods.every((name) => typeof TCP.prototype[name] === 'function')) return null;
    const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync } = streamWrap;
    if (typeof WriteWrap !== 'function' || typeof ShutdownWrap !== 'function' || !(streamBaseState instanceof Int32Array)) return null;
    if (typeof kReadBytesOrError !== 'number' || typeof kArrayBufferOffset !== 'number' || typeof kLastWriteWasAsync !== 'number') return null;
    loaded = {
      TCP, serverType: constants.SERVER, ipv6OnlyFlag: constants.UV_TCP_IPV6ONLY,
      WriteWrap: WriteWrap as DirectTcp['WriteWrap'], ShutdownWrap: ShutdownWrap as DirectTcp['ShutdownWrap'],
      state: streamBaseState, readBytesOrError: kReadBytesOrError, arrayBufferOffset: kArrayBufferOffset, lastWriteWasAsync: kLastWriteWasAsync,
      spareWrite: null,
    };
  } catch {
    loaded = null;
  }
  return loaded;
}

/** Whether Node warns about process.binding() here (DEP0111 is a pending deprecation). */
function pendingDeprecation(): boolean {
  return process.execArgv.includes('--pending-deprecation') || process.env.NODE_PENDING_DEPRECATION === '1' ||
    (process.env.NODE_OPTIONS ?? '').split(/\s+/).includes('--pending-deprecation');
}

/** An error shaped as Node's own for a failed libuv call (code, errno, syscall; "read ECONNRESET"). */
export function uvError(status: number, syscall: string, address?: string, port?: number): NodeJS.ErrnoException & { address?: string; port?: number } {
  const code = getSystemErrorName(status);
  const description = getSystemErrorMap().get(status)?.[1];
  const where = address === undefined ? '' : ` ${address}${port !== undefined ? `:${port}` : ''}`;
  const error: NodeJS.ErrnoException & { address?: string; port?: number } = new Error(`${syscall} ${code}${description ? `: ${description}` : ''}${where}`);
  error.code = code;
  error.errno = status;
  error.syscall = syscall;
  if (address !== undefined) error.address = address;
  if (port !== undefined) error.port = port;
  return error;
}

// Flags bits (one field instead of six booleans: issue 3 counts bytes per idle connection).
const DESTROYED = 1;
const PAUSED = 2;
const ENDING = 4;
const SHUT_DOWN = 8;
const READ_ENDED = 16;
const NEED_DRAIN = 32;

type DataListener = (this: DirectSocket, chunk: Buffer) => void;
type ErrorListener = (this: DirectSocket, error: Error) => void;
type SignalListener = (this: DirectSocket) => void;
type DirectEvent = 'data' | 'error' | 'end' | 'close' | 'drain';
/** A listener beyond the first per event: [event, listener, once]. */
type ExtraListener = [DirectEvent, (this: DirectSocket, argument?: never) => void, boolean];

/** One accepted TCP connection on a libuv handle; the subset of net.Socket the broker uses. */
export class DirectSocket {
  /** Like net.Socket({ allowHalfOpen: false }): the end of the peer's data ends ours, then closes. */
  readonly allowHalfOpen = false;
  /** Bytes handed to write() that the kernel has not taken yet. */
  writableLength = 0;
  private flags = 0;
  private pendingWrites = 0;
  private closeError: Error | null = null;
  private peer: Record<string, unknown> | null = null;
  private onData: DataListener | null = null;
  private onError: ErrorListener | null = null;
  private onClose: SignalListener | null = null;
  private extra: ExtraListener[] | null = null;

  constructor(private readonly handle: TcpHandle, /** @internal */ readonly tcp: DirectTcp) {
    handle[SOCKET] = this;
    handle.onread = onRead;
  }

  on(event: 'data', listener: DataListener): this;
  on(event: 'error', listener: ErrorListener): this;
  on(event: 'end' | 'close' | 'drain', listener: SignalListener): this;
  on(event: DirectEvent, listener: DataListener | ErrorListener | SignalListener): this {
    if (event === 'data' && this.onData === null) this.onData = listener as DataListener;
    else if (event === 'error' && this.onError === null) this.onError = listener as ErrorListener;
    else if (event === 'close' && this.onClose === null) this.onClose = listener as SignalListener;
    else (this.extra ??= []).push([event, listener as ExtraListener[1], false]);
    return this;
  }

  once(event: 'end' | 'close' | 'drain', listener: SignalListener): this {
    (this.extra ??= []).push([event, listener as ExtraListener[1], true]);
    return this;
  }

  /** Calls the listeners of `event`, the field's first, then the list's (once-listeners removed). */
  private emit(event: DirectEvent, argument?: Buffer | Error): void {
    if (event === 'data') this.onData?.call(this, argument as Buffer);
    else if (event === 'error') this.onError?.call(this, argument as Error);
    else if (event === 'close') this.onClose?.call(this);
    const extra = this.extra;
    if (extra === null) return;
    for (const entry of [...extra]) {
      if (entry[0] !== event) continue;
      if (entry[2]) extra.splice(extra.indexOf(entry), 1);
      entry[1].call(this, argument as never);
    }
    // Back to the fast path of received() once a once('drain') has fired.
    if (extra.length === 0 && this.extra === extra) this.extra = null;
  }

  get destroyed(): boolean { return (this.flags & DESTROYED) !== 0; }
  get writableNeedDrain(): boolean { return (this.flags & NEED_DRAIN) !== 0; }
  get remoteAddress(): string | undefined { return this.peerName().address as string | undefined; }
  get remotePort(): number | undefined { return this.peerName().port as number | undefined; }

  private peerName(): Record<string, unknown> {
    if (this.peer === null) {
      const out: Record<string, unknown> = {};
      if (!this.destroyed) this.handle.getpeername(out);
      this.peer = out;
    }
    return this.peer;
  }

  /** Starts reading (the listener calls this once the broker has attached its listeners). */
  start(): void {
    if ((this.flags & (PAUSED | DESTROYED)) !== 0) return;
    const status = this.handle.readStart();
    if (status !== 0) this.destroy(uvError(status, 'read'));
  }

  write(chunk: Buffer): boolean {
    if ((this.flags & (DESTROYED | ENDING)) !== 0) return false;
    const tcp = this.tcp;
    let req = tcp.spareWrite;
    if (req === null) {
      req = new tcp.WriteWrap();
      req.oncomplete = onWriteComplete;
      req.async = false;
      req.buffer = null;
    } else {
      tcp.spareWrite = null;
    }
    req.handle = this.handle;
    req.bytes = chunk.length;
    req.socket = this;
    const status = this.handle.writeBuffer(req, chunk);
    if (status !== 0) { this.release(req); this.destroy(uvError(status, 'write')); return false; }
    if (tcp.state[tcp.lastWriteWasAsync] === 0) {
      this.release(req);
      return (this.flags & NEED_DRAIN) === 0;
    }
    // The kernel took only part of it: libuv owns the request and writes the rest when the
    // socket can take it (onWriteComplete).
    req.async = true;
    req.buffer = chunk;
    this.pendingWrites++;
    this.writableLength += chunk.length;
    if (this.writableLength >= HIGH_WATER_MARK) this.flags |= NEED_DRAIN;
    return (this.flags & NEED_DRAIN) === 0;
  }

  /** A request libuv did not keep becomes the spare again (holding no socket). */
  private release(req: WriteRequest): void {
    req.handle = null;
    req.socket = null;
    this.tcp.spareWrite = req;
  }

  /** Ends our side after the queued writes (FIN, not RST), then closes once the peer ended too. */
  end(): this {
    if ((this.flags & (DESTROYED | ENDING)) !== 0) return this;
    this.flags |= ENDING;
    if (this.pendingWrites === 0) this.shutdown();
    return this;
  }

  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.flags |= DESTROYED;
    if (error !== undefined) this.closeError = error;
    this.handle.onread = ignoreRead;
    this.handle.close(onHandleClose);
    return this;
  }

  pause(): this {
    if ((this.flags & (PAUSED | DESTROYED)) === 0) {
      this.flags |= PAUSED;
      if ((this.flags & READ_ENDED) === 0) this.handle.readStop();
    }
    return this;
  }

  resume(): this {
    if ((this.flags & PAUSED) !== 0) {
      this.flags &= ~PAUSED;
      if ((this.flags & (READ_ENDED | DESTROYED)) === 0) this.handle.readStart();
    }
    return this;
  }

  private shutdown(): void {
    const req = new this.tcp.ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = onShutdownComplete;
    req.socket = this;
    const status = this.handle.shutdown(req);
    if (status === SHUTDOWN_DONE_SYNC) this.writeSideClosed();
    else if (status !== 0) this.destroy(notConnected(status) ? undefined : uvError(status, 'shutdown'));
  }

  private writeSideClosed(): void {
    this.flags |= SHUT_DOWN;
    if ((this.flags & READ_ENDED) !== 0) this.destroy();
  }

  /** @internal from onRead: bytes arrived. */
  received(chunk: Buffer): void {
    const listener = this.onData;
    if (listener !== null && this.extra === null) listener.call(this, chunk);
    else this.emit('data', chunk);
  }

  /** @internal from onRead: the peer sent FIN. */
  readEnded(): void {
    this.flags |= READ_ENDED;
    this.emit('end');
    if ((this.flags & SHUT_DOWN) !== 0) this.destroy();
    else this.end();
  }

  /** @internal from onWriteComplete. */
  written(req: WriteRequest, status: number): void {
    if (this.destroyed) return;
    if (status < 0) { this.destroy(uvError(status, 'write')); return; }
    this.pendingWrites--;
    this.writableLength -= req.bytes;
    if (this.pendingWrites !== 0) return;
    if ((this.flags & NEED_DRAIN) !== 0) { this.flags &= ~NEED_DRAIN; this.emit('drain'); }
    if ((this.flags & (ENDING | DESTROYED)) === ENDING) this.shutdown();
  }

  /** @internal from onShutdownComplete. */
  shutdownFinished(status: number): void {
    if (this.destroyed) return;
    if (status < 0 && !notConnected(status)) { this.destroy(uvError(status, 'shutdown')); return; }
    this.writeSideClosed();
  }

  /** @internal from onHandleClose: 'error' (if any) then 'close', as net.Socket emits them. */
  closed(): void {
    const error = this.closeError;
    this.closeError = null;
    // Unlike an EventEmitter, an error nobody listens to is dropped, not thrown: this runs from a
    // libuv callback, where a throw would take the whole broker down for one connection.
    if (error !== null) this.emit('error', error);
    this.emit('close');
  }
}

/** libuv's status for an error name (it differs between systems), looked up once. */
function uvStatus(name: string, fallback: number): number {
  return [...getSystemErrorMap()].find(([, [errorName]]) => errorName === name)?.[0] ?? fallback;
}

const UV_EOF = uvStatus('EOF', -4095);
const UV_ENOTCONN = uvStatus('ENOTCONN', -107);

/** Shutting down a socket the peer already reset (ENOTCONN) is no error, as in net.Socket. */
function notConnected(status: number): boolean {
  return status === UV_ENOTCONN;
}

// Shared callbacks (no closure per connection); `this` is the handle or request, as Node calls them.
function onRead(this: TcpHandle, arrayBuffer: ArrayBuffer | undefined): void {
  const socket = this[SOCKET]!;
  const tcp = socket.tcp;
  const nread = tcp.state[tcp.readBytesOrError]!;
  if (nread > 0) {
    if (!socket.destroyed) socket.received(Buffer.from(arrayBuffer!, tcp.state[tcp.arrayBufferOffset]!, nread));
    return;
  }
  if (nread === 0 || socket.destroyed) return;
  if (nread === UV_EOF) socket.readEnded();
  else socket.destroy(uvError(nread, 'read'));
}

function ignoreRead(): void {}

function onWriteComplete(this: WriteRequest, status: number): void {
  this.socket!.written(this, status);
}

function onShutdownComplete(this: ShutdownRequest, status: number): void {
  this.socket.shutdownFinished(status);
}

function onHandleClose(this: TcpHandle): void {
  const socket = this[SOCKET];
  this[SOCKET] = undefined;
  socket?.closed();
}
