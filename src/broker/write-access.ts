// May a client write to a topic? Mosquitto 2.0's mosquitto_acl_check for MOSQ_ACL_WRITE: its
// fixed rule for `$` topics first, then the ACL (options.authorize). One place for PUBLISH and
// for wills, so both refuse exactly the same topics. Pure. src/auth/acl.ts (what `mqx acl check`
// explains) has the same `$` rule; the broker does not import src/auth, a unit test keeps the two equal.

import type { Access, ClientInfo } from './hooks.js';

export type Authorize = (client: ClientInfo, access: Access, topic: string) => boolean;

const DOLLAR = 0x24;

/**
 * Mosquitto's acl__check_dollar (security.c) for writes, whatever the ACL says: a topic that
 * starts with `$SYS` (a prefix test, so `$SYSTEM/x` too) is refused except
 * `$SYS/broker/connection/<name>/state` (bridge status; the ACL still decides that one), and so
 * is one that starts with `$share`. Other `$` topics are left to the ACL. Checked by running
 * mosquitto 2.0.11: a client's `$SYSTEM/a` and `$sharedx/a` are not delivered,
 * `$SYS/broker/connection/foo/state` is.
 */
export function dollarWriteRefused(topic: string): boolean {
  if (topic.charCodeAt(0) !== DOLLAR) return false;
  if (topic.startsWith('$SYS')) return !isBridgeStateTopic(topic);
  return topic.startsWith('$share');
}

/** Matches `$SYS/broker/connection/+/state` (`+` matches any one level, an empty one too). */
function isBridgeStateTopic(topic: string): boolean {
  const levels = topic.split('/');
  return levels.length === 5 && levels[0] === '$SYS' && levels[1] === 'broker' && levels[2] === 'connection' && levels[4] === 'state';
}

/** The whole write check: the `$` rule, then the ACL hook when there is one (none allows all). */
export function mayWrite(authorize: Authorize | undefined, client: ClientInfo, topic: string): boolean {
  if (dollarWriteRefused(topic)) return false;
  return authorize === undefined || authorize(client, 'write', topic);
}
