// Topic names, topic filters and shared-subscription filters: validation and matching by MQTT rules.
// Pure string functions; no I/O, no regular expressions, nothing that allocates on the hot path.

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

/** Longest topic in bytes: a UTF-8 string's length prefix is 16 bits [MQTT-1.5.3]. */
export const MAX_TOPIC_BYTES = 65535;

/** UTF-8 byte length of a string (lone surrogates count as 3, as Buffer.byteLength does). */
function utf8Length(text: string): number {
  // Most topics are ASCII: count without calling into Buffer.
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) { bytes += 4; i++; } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** True when the string has U+0000 or a lone surrogate (not encodable as well-formed UTF-8) [MQTT-1.5.4-1,2]. */
function hasForbiddenCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) return true;
    if (code >= 0xd800 && code <= 0xdfff) {
      if (code > 0xdbff || i + 1 >= text.length) return true;
      const next = text.charCodeAt(i + 1);
      if (next < 0xdc00 || next > 0xdfff) return true;
      i++;
    }
  }
  return false;
}

/** PUBLISH topic name: 1..65535 bytes, no wildcards, no U+0000 [MQTT-4.7.3-1] [MQTT-4.7.3-2] [MQTT-4.7.1-1] [MQTT-3.3.2-2]. */
export function isValidTopicName(topic: string): boolean {
  if (topic.length === 0) return false; // [MQTT-4.7.3-1]
  for (let i = 0; i < topic.length; i++) {
    const code = topic.charCodeAt(i);
    if (code === PLUS || code === HASH) return false; // [MQTT-3.3.2-2]
  }
  if (hasForbiddenCharacter(topic)) return false; // [MQTT-4.7.3-2]
  return topic.length <= MAX_TOPIC_BYTES && utf8Length(topic) <= MAX_TOPIC_BYTES;
}

/** SUBSCRIBE topic filter: non-empty, '#' alone and last, '+' alone in its level, no U+0000 [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1]. */
export function isValidTopicFilter(filter: string): boolean {
  const length = filter.length;
  if (length === 0) return false; // [MQTT-4.7.3-1]
  for (let i = 0; i < length; i++) {
    const code = filter.charCodeAt(i);
    if (code === HASH) {
      // [MQTT-4.7.1-2] '#' occupies a whole level and is the last character.
      if (i !== length - 1) return false;
      if (i > 0 && filter.charCodeAt(i - 1) !== SLASH) return false;
    } else if (code === PLUS) {
      // [MQTT-4.7.1-3] '+' occupies a whole level.
      if (i > 0 && filter.charCodeAt(i - 1) !== SLASH) return false;
      if (i < length - 1 && filter.charCodeAt(i + 1) !== SLASH) return false;
    }
  }
  if (hasForbiddenCharacter(filter)) return false; // [MQTT-4.7.3-2]
  return length <= MAX_TOPIC_BYTES && utf8Length(filter) <= MAX_TOPIC_BYTES;
}

const SHARE_PREFIX = '$share/';
const QUEUE_PREFIX = '$queue/';

/**
 * `$share/group/filter` -> {group, filter}; EMQX `$queue/filter` -> {group: '$queue', filter};
 * a non-shared filter -> {group: null, filter}; a malformed share ($share/g without filter,
 * group with + # or /, empty group) -> null. The inner filter's own syntax is checked by
 * isValidTopicFilter, not here. [MQTT-4.8.2-1] [MQTT-4.8.2-2]
 */
export function parseSharedFilter(filter: string): { group: string | null; filter: string } | null {
  if (filter.charCodeAt(0) !== DOLLAR) return { group: null, filter };
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf('/', SHARE_PREFIX.length);
    if (slash < 0) return null; // [MQTT-4.8.2-2] no filter after the group
    const group = filter.slice(SHARE_PREFIX.length, slash);
    if (group.length === 0) return null; // [MQTT-4.8.2-1] the share name is at least one character
    for (let i = 0; i < group.length; i++) {
      const code = group.charCodeAt(i);
      if (code === PLUS || code === HASH) return null; // [MQTT-4.8.2-1]
    }
    const inner = filter.slice(slash + 1);
    if (inner.length === 0) return null;
    return { group, filter: inner };
  }
  if (filter.startsWith(QUEUE_PREFIX)) {
    const inner = filter.slice(QUEUE_PREFIX.length);
    if (inner.length === 0) return null;
    return { group: '$queue', filter: inner };
  }
  return { group: null, filter };
}

/**
 * True when `topic` matches `filter` under MQTT rules, incl. `$`-topics not matched by a
 * leading wildcard [MQTT-4.7.2-1]. Walks both strings once, without splitting.
 */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  const fLength = filter.length;
  const tLength = topic.length;
  if (fLength === 0 || tLength === 0) return false;
  const first = filter.charCodeAt(0);
  // [MQTT-4.7.2-1] a filter starting with a wildcard never matches a topic starting with '$'.
  if (topic.charCodeAt(0) === DOLLAR && (first === PLUS || first === HASH)) return false;
  let f = 0;
  let t = 0;
  // Each turn handles one level of the filter; a level may be empty ("a//b", "a/").
  for (;;) {
    const code = f < fLength ? filter.charCodeAt(f) : SLASH;
    if (code === HASH) return true; // [MQTT-4.7.1-2] matches the parent and any number of levels
    if (code === PLUS) {
      // [MQTT-4.7.1-3] one whole level, possibly empty.
      while (t < tLength && topic.charCodeAt(t) !== SLASH) t++;
      f++;
    } else {
      // A literal level: compare up to the next '/'.
      while (f < fLength && filter.charCodeAt(f) !== SLASH) {
        if (t >= tLength || topic.charCodeAt(t) !== filter.charCodeAt(f)) return false;
        f++;
        t++;
      }
      if (t < tLength && topic.charCodeAt(t) !== SLASH) return false;
    }
    // Both at the end of a level: either both end, or both continue past '/'.
    if (f >= fLength) return t >= tLength;
    // filter has '/' at f
    if (t >= tLength) {
      // "a/#" matches "a": the remaining filter is exactly "/#".
      return f + 2 === fLength && filter.charCodeAt(f + 1) === HASH;
    }
    f++; // skip '/' in both
    t++;
  }
}

/** Number of levels in a topic or filter ("a" 1, "a/b" 2, "/" 2); for the 200-level limit. */
export function topicLevelCount(topic: string): number {
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === SLASH) levels++;
  return levels;
}
