// Mosquitto's per-listener mount_point: topics from the client get the prefix, topics to it lose
// it. Pure functions; the handlers and the connection call them only when a mount point is set.

import type { Outgoing } from './message.js';

/**
 * The broker-side topic or filter for what a client on a mount-pointed listener sent: the
 * prefix is plain string concatenation, as in Mosquitto (handle_publish.c, handle_subscribe.c),
 * so `$SYS/x` and `$share/g/t` from such a client are ordinary topics under the mount point.
 */
export function mountTopic(mountPoint: string, topic: string): string {
  return mountPoint + topic;
}

/**
 * The topic a client on a mount-pointed listener sees, or null when the message must not reach
 * it: Mosquitto (send__publish) swallows a topic that is not longer than the mount point, e.g.
 * `tenant` matched by `tenant/#` under the mount point `tenant/`.
 */
export function unmountTopic(mountPoint: string, topic: string): string | null {
  if (topic.length <= mountPoint.length || !topic.startsWith(mountPoint)) return null;
  return topic.slice(mountPoint.length);
}

/** A copy of a delivery with the mount point stripped from its topic, for encoding only; null drops it. */
export function unmountDelivery(mountPoint: string, out: Outgoing): Outgoing | null {
  const topic = unmountTopic(mountPoint, out.message.topic);
  if (topic === null) return null;
  return { ...out, message: { ...out.message, topic } };
}
