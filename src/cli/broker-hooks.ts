// The broker's authenticate/authorize hooks from loaded password and ACL data, with Mosquitto
// 2.0's rules (allow_anonymous, per_listener_settings). Pure: no file IO, never logs a password.

import { authenticate as checkPassword, checkAccess, checkSubscribe } from '../auth/index.js';
import type { Acl, PasswordHash } from '../auth/index.js';
import type { Access, ClientInfo, ConnectInfo } from '../broker/hooks.js';

/** The security settings in force for one listener (or for all, without per_listener_settings). */
export interface SecurityScope {
  allowAnonymous: boolean;
  /** Users from password_file; null when no password file is configured. */
  users: ReadonlyMap<string, PasswordHash> | null;
  /** acl_file; null when none is configured (everything allowed). */
  acl: Acl | null;
}

export interface SecurityState {
  /** per_listener_settings: each listener has its own scope, found by listener name. */
  perListener: boolean;
  global: SecurityScope;
  listeners: ReadonlyMap<string, SecurityScope>;
  /** mqx's acl_check_subscribe: refuse at SUBACK a filter under which nothing can be read. */
  aclCheckSubscribe: boolean;
}

/** What the hooks are told about a client; `listener` picks the scope with per_listener_settings. */
export type HookClient = ClientInfo & { listener?: string };

export interface SecurityHooks {
  authenticate: (info: ConnectInfo & { certificateUsername?: string | null }) => boolean | number;
  authorize: (client: HookClient, access: Access, topic: string) => boolean;
}

const BAD_USERNAME_OR_PASSWORD = 0x86;

function scopeFor(state: SecurityState, listener: string | undefined): SecurityScope {
  if (!state.perListener || listener === undefined) return state.global;
  return state.listeners.get(listener) ?? state.global;
}

/**
 * Mosquitto 2.0's CONNECT check: a username taken from the client certificate skips the
 * password file; no username -> allow_anonymous; a username with a password file must be in
 * it with the right password (unknown users are refused even when anonymous is allowed);
 * without a password file any username passes. Every refusal is "not authorised", as
 * mosquitto 2.0 answers (3.1.1 return code 5, 5.0 reason 0x87).
 */
export function authenticateClient(state: SecurityState, info: ConnectInfo & { certificateUsername?: string | null }): boolean | number {
  // Mosquitto: no verified certificate on such a listener is "bad user name or password" (0x86 / 4).
  if (info.certificateUsername === null) return BAD_USERNAME_OR_PASSWORD;
  if (info.certificateUsername !== undefined) return true;
  const scope = scopeFor(state, info.listener);
  if (info.username === undefined) return scope.allowAnonymous;
  if (scope.users === null) return true;
  return checkPassword(scope.users, info.username, info.password ?? null).result === 'accepted';
}

/** May this client read, write or subscribe to `topic`? Mosquitto's ACL rules; no ACL allows all. */
export function authorizeClient(state: SecurityState, client: HookClient, access: Access, topic: string): boolean {
  const acl = scopeFor(state, client.listener).acl;
  if (acl === null) return true;
  const who = { username: client.username ?? null, clientId: client.clientId };
  if (access === 'subscribe' && state.aclCheckSubscribe) return checkSubscribe(acl, who, topic).allowed;
  return checkAccess(acl, who, access, topic).allowed;
}

/** Whether any scope needs a hook at all (none: the broker keeps its hook-free fast path). */
export function needsHooks(state: SecurityState): { authenticate: boolean; authorize: boolean } {
  const scopes = state.perListener ? [state.global, ...state.listeners.values()] : [state.global];
  return {
    authenticate: scopes.some((scope) => !scope.allowAnonymous || scope.users !== null),
    authorize: scopes.some((scope) => scope.acl !== null),
  };
}

/** Hooks that read the state through `current`, so a reload swaps files without new hooks. */
export function securityHooks(current: () => SecurityState): SecurityHooks {
  return {
    authenticate: (info) => authenticateClient(current(), info),
    authorize: (client, access, topic) => authorizeClient(current(), client, access, topic),
  };
}
