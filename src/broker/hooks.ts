// Types of the optional authentication / authorization hooks the auth layer plugs into.
// Types only: the broker calls them, src/auth implements them (next issue).

export interface ConnectInfo {
  clientId: string;
  username?: string;
  password?: Buffer;
  protocolVersion: 3 | 4 | 5;
  remoteAddress: string;
  /** Name of the listener (e.g. "1883") the client came in on. */
  listener: string;
  /** Set on TLS listeners with use_identity_as_username / use_subject_as_username. */
  certificateUsername?: string | null;
}

export interface ClientInfo {
  clientId: string;
  /** The CONNECT user name, or the certificate's on listeners with use_identity_as_username. */
  username?: string;
  protocolVersion: 3 | 4 | 5;
  /** Name of the listener the client is connected through (per_listener_settings ACLs). */
  listener?: string;
}

export type Access = 'read' | 'write' | 'subscribe';
