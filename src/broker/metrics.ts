// The broker's counters, bumped inline on the hot path (plain numeric fields, no maps).
// Must not format or publish anything: sys.ts turns these into $SYS topics.

export class Metrics {
  readonly startedAt = Date.now();
  bytesReceived = 0;
  bytesSent = 0;
  messagesReceived = 0;
  messagesSent = 0;
  publishReceived = 0;
  publishSent = 0;
  /** Messages dropped: queue full, QoS 0 over a slow socket, oversized for the client, expired. */
  dropped = 0;
  clientsConnected = 0;
  clientsMaximum = 0;
  clientsExpired = 0;
  /** Connections accepted (any state), for max_connections. */
  sockets = 0;
  connectionsTotal = 0;
}
