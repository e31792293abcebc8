// Expands emqtt-bench's topic and client-id placeholders: %i (client sequence number),
// %c (client id), %u (username), %rand_N (random integer 1..N). Pure string work, no I/O.

export interface PlaceholderValues {
  /** The client's sequence number (from --start-number). */
  index: number;
  clientId: string;
  username?: string;
}

const PATTERN = /%(i|c|u|rand_(\d+))/g;

/**
 * Expands the placeholders of one topic for one client. %rand_N draws once per expansion (per
 * client, as emqtt-bench does at connect time), so a client keeps publishing to one topic.
 */
export function expandPlaceholders(template: string, values: PlaceholderValues, random: () => number = Math.random): string {
  return template.replace(PATTERN, (_match, name: string, limit: string | undefined) => {
    if (name === 'i') return String(values.index);
    if (name === 'c') return values.clientId;
    if (name === 'u') return values.username ?? '';
    const max = Number(limit);
    return String(max > 0 ? 1 + Math.floor(random() * max) : 0);
  });
}

/** True when the template contains a placeholder that differs between clients. */
export function hasPlaceholders(template: string): boolean {
  PATTERN.lastIndex = 0;
  return PATTERN.test(template);
}
