// mosquitto.conf lexical rules (src/conf.c): which lines count, how a line splits into a name
// and its value, and the readers for each value kind. Pure; knows no option names.

export interface ConfigLine {
  line: number;
  name: string;
  /** Everything after the first space, untouched (string options keep inner spaces). */
  rest: string;
}

/** A line that cannot be an option: reported, never guessed at. */
export interface BadLine {
  line: number;
  message: string;
}

/**
 * Splits a file into option lines exactly as Mosquitto reads them: a comment is a `#` in
 * column 1 only, blank lines are skipped, CR/LF are stripped, and only the space character
 * separates a name from its value (a tab is part of the name, so Mosquitto rejects it).
 */
export function splitLines(text: string): { lines: ConfigLine[]; bad: BadLine[] } {
  const lines: ConfigLine[] = [];
  const bad: BadLine[] = [];
  const raw = text.split('\n');
  // A final newline does not start another line.
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  raw.forEach((content, index) => {
    const line = index + 1;
    const stripped = content.replace(/[\r\n]+$/, '');
    if (stripped.startsWith('#') || stripped.length === 0) return;
    if (stripped.startsWith('\uFEFF')) {
      bad.push({ line, message: 'the file starts with a UTF-8 byte order mark, which Mosquitto reads as part of the option name; save it without one' });
      return;
    }
    const firstToken = stripped.split(' ').find((token) => token.length > 0);
    if (firstToken === undefined) return; // only spaces
    if (firstToken.startsWith('#')) {
      bad.push({ line, message: 'a comment must start with "#" in column 1 (Mosquitto reads " #" as an unknown option)' });
      return;
    }
    if (/^[\t\v\f]/.test(firstToken)) {
      bad.push({ line, message: 'a line must not start with a tab (Mosquitto separates only with spaces)' });
      return;
    }
    if (/[\t\v\f]/.test(firstToken)) {
      const name = firstToken.split(/[\t\v\f]/)[0] ?? '';
      bad.push({ line, message: `"${name}" is followed by a tab: separate an option from its value with a space` });
      return;
    }
    const start = stripped.indexOf(firstToken);
    const rest = stripped.slice(start + firstToken.length).replace(/^ /, '');
    lines.push({ line, name: firstToken, rest });
  });
  return { lines, bad };
}

/** A value reader's result: the value, or the message explaining what was expected. */
export type Read<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Read<T> => ({ ok: true, value });
const fail = <T>(message: string): Read<T> => ({ ok: false, message });

/** Space-separated tokens, as strtok(" ") yields them. */
export function tokens(rest: string): string[] {
  return rest.split(' ').filter((token) => token.length > 0);
}

/**
 * Mosquitto reads the first token of a single-value option and ignores the rest. mqx ignores
 * a trailing `# comment` the same way but refuses other trailing text, which is always a mistake.
 */
export function single(name: string, rest: string, expected: string): Read<string> {
  const parts = tokens(rest);
  if (parts.length === 0) return fail(`${name} needs a value: ${expected}`);
  const extra = parts.slice(1);
  if (extra.length > 0 && !extra[0]!.startsWith('#')) {
    return fail(`${name} takes one value (${expected}); unexpected "${extra.join(' ')}" after "${parts[0]}"`);
  }
  return ok(parts[0]!);
}

/** `true|false|1|0`, exactly as conf__parse_bool accepts (case-sensitive). */
export function readBool(name: string, rest: string): Read<boolean> {
  const token = single(name, rest, 'true or false');
  if (!token.ok) return token;
  if (token.value === 'true' || token.value === '1') return ok(true);
  if (token.value === 'false' || token.value === '0') return ok(false);
  return fail(`invalid ${name} value "${token.value}": expected true or false`);
}

export interface IntRange {
  min: number;
  max: number;
  /** How to describe the range in messages, when plain "from min to max" is misleading. */
  describe?: string;
}

/**
 * An integer in range. Mosquitto uses atoi() (so "abc" silently becomes 0); mqx refuses
 * anything that is not a whole decimal number, naming the allowed range.
 */
export function readInt(name: string, rest: string, range: IntRange): Read<number> {
  const expected = range.describe ?? `an integer from ${range.min} to ${range.max}`;
  const token = single(name, rest, expected);
  if (!token.ok) return token;
  if (!/^[+-]?\d+$/.test(token.value)) return fail(`invalid ${name} value "${token.value}": expected ${expected}`);
  const value = Number(token.value);
  if (value < range.min || value > range.max) return fail(`invalid ${name} value ${token.value}: expected ${expected}`);
  return ok(value);
}

/** One of a fixed set of words. */
export function readChoice<T extends string>(name: string, rest: string, choices: readonly T[]): Read<T> {
  const expected = choices.join(', ');
  const token = single(name, rest, `one of ${expected}`);
  if (!token.ok) return token;
  if ((choices as readonly string[]).includes(token.value)) return ok(token.value as T);
  return fail(`invalid ${name} value "${token.value}": expected one of ${expected}`);
}

/**
 * A free-text value: the rest of the line with surrounding blanks removed, as conf__parse_string
 * does (spaces inside are kept, so paths with spaces work). Must be valid UTF-8.
 */
export function readString(name: string, rest: string): Read<string> {
  const value = rest.replace(/^[ \t]+|[ \t]+$/g, '');
  if (value.length === 0) return fail(`${name} needs a value`);
  if (value.includes('\uFFFD')) return fail(`${name} value is not valid UTF-8`);
  return ok(value);
}

const durationUnits: Record<string, number> = { h: 3600, d: 86400, w: 86400 * 7, m: 86400 * 30, y: 86400 * 365 };

/** `persistent_client_expiration`: a positive integer and one of h d w m y (hours ... years). */
export function readDuration(name: string, rest: string): Read<number> {
  const expected = 'a positive number followed by h, d, w, m or y (e.g. 14d)';
  const token = single(name, rest, expected);
  if (!token.ok) return token;
  const match = /^(\d+)([hdwmy])$/.exec(token.value);
  const seconds = match ? Number(match[1]) * durationUnits[match[2]!]! : 0;
  if (!match || seconds <= 0) return fail(`invalid ${name} value "${token.value}": expected ${expected}`);
  return ok(seconds);
}

/** Mosquitto's mosquitto_pub_topic_check, used for mount_point: no wildcards, at most 65535 bytes. */
export function publishTopicProblem(topic: string): string | null {
  if (topic.includes('+') || topic.includes('#')) return 'it must not contain a wildcard (+ or #)';
  if (Buffer.byteLength(topic) > 65535) return 'it is longer than 65535 bytes';
  return null;
}

/** Levenshtein distance, for "did you mean" on unknown options. */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length]!;
}
