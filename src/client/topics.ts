// Topic checks a client makes before connecting, with mosquitto_pub/sub's exact messages.
// Pure string checks; the broker's own validation lives in src/codec.

/** A publish topic: non-empty, no wildcards ([MQTT-3.3.2-2]), at most 65535 UTF-8 bytes. */
export function isValidPublishTopic(topic: string): boolean {
  if (topic.length === 0) return false;
  if (topic.includes('+') || topic.includes('#')) return false;
  return Buffer.byteLength(topic, 'utf8') <= 65535;
}

/** A subscription filter: `#` only last and alone in its level, `+` alone in its level ([MQTT-4.7.1-2], [MQTT-4.7.1-3]). */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || Buffer.byteLength(filter, 'utf8') > 65535) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

/**
 * True when the raw argument bytes are well-formed UTF-8 without the code points mosquitto's
 * mosquitto_validate_utf8 refuses (U+0000 [MQTT-1.5.4-2], controls, non-characters). Node decodes
 * argv as UTF-8 and turns invalid bytes into U+FFFD, so a replacement character means bad bytes
 * (a literal U+FFFD typed by the user is refused too: the one place mqx is stricter).
 */
export function isValidMqttString(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code === 0xfffd) return false;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return false; // control characters, as mosquitto
    if (code >= 0xd800 && code <= 0xdfff) return false;
    if ((code >= 0xfdd0 && code <= 0xfdef) || (code & 0xfffe) === 0xfffe) return false; // non-characters
  }
  return true;
}
