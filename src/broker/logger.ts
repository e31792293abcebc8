// The broker's log sink: Mosquitto's log types and message texts, no timestamps or printing.
// The CLI decides where lines go and prefixes `<epoch>: `; library users pass their own sink.

export type LogType = 'error' | 'warning' | 'notice' | 'information' | 'debug' | 'subscribe' | 'unsubscribe';

export interface BrokerLogger {
  log(type: LogType, message: string): void;
  /**
   * False when lines of this type go nowhere: the broker then skips building them (and what they
   * name). Asked once per type when the broker is created.
   */
  enabled?(type: LogType): boolean;
}

/** The default without a logger: lines go nowhere, so none is built (no peer address asked per connection). */
export const silentLogger: BrokerLogger = { log() {}, enabled: () => false };

/** Mosquitto's `(p2, c1, k60, u'name')` summary of a CONNECT. */
export function connectSummary(protocolVersion: number, clean: boolean, keepalive: number, username?: string): string {
  const protocol = protocolVersion === 3 ? 'p1' : protocolVersion === 4 ? 'p2' : 'p5';
  const user = username !== undefined ? `, u'${username}'` : '';
  return `(${protocol}, c${clean ? 1 : 0}, k${keepalive}${user})`;
}
