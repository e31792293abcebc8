// Parses a mosquitto_sub -F format string into a list of operations, with mosquitto's checks and
// error texts (client_shared.c check_format) and its printing-time parse (formatted_print). Pure.

/** One piece of a compiled -F format. */
export type FormatOp =
  /** Bytes to copy (latin1: one char per byte). */
  | { kind: 'text'; bytes: string }
  /** A `%` field: `left` is the `-` flag, `zero` the `0` flag, precision -1 when absent. */
  | { kind: 'field'; spec: string; left: boolean; zero: boolean; width: number; precision: number }
  /** An `@` strftime conversion (`@N`: nanoseconds). */
  | { kind: 'time'; conversion: string };

export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

const SPECIFIERS = new Set(['%', 'A', 'C', 'D', 'E', 'F', 'I', 'l', 'm', 'P', 'p', 'q', 'R', 'S', 'r', 't', 'j', 'J', 'U', 'x', 'X']);
const ESCAPES: Record<string, string> = { '\\': '\\', '0': '\0', a: '\x07', e: '\x1b', n: '\n', r: '\r', t: '\t', v: '\v' };

const isDigit = (char: string | undefined) => char !== undefined && char >= '0' && char <= '9';

/** check_format: throws FormatError with mosquitto's message for a format it refuses. */
function check(str: string): void {
  const len = str.length;
  const incomplete = () => new FormatError('Error: Incomplete format specifier.');
  for (let i = 0; i < len; i++) {
    if (str[i] === '%') {
      if (i === len - 1) throw incomplete();
      if (str[i + 1] === '0' || str[i + 1] === '-') {
        i++;
        if (i === len - 1) throw incomplete();
      }
      while (isDigit(str[i + 1])) {
        i++;
        if (i === len - 1) throw incomplete();
      }
      if (str[i + 1] === '.') {
        i++;
        if (i === len - 1) throw incomplete();
        while (isDigit(str[i + 1])) {
          i++;
          if (i === len - 1) throw incomplete();
        }
      }
      if (!SPECIFIERS.has(str[i + 1]!)) throw new FormatError(`Error: Invalid format specifier '${str[i + 1]}'.`);
      i++;
    } else if (str[i] === '@') {
      if (i === len - 1) throw incomplete();
      i++;
    } else if (str[i] === '\\') {
      if (i === len - 1) throw new FormatError('Error: Incomplete escape specifier.');
      if (!(str[i + 1]! in ESCAPES)) throw new FormatError(`Error: Invalid escape specifier '${str[i + 1]}'.`);
      i++;
    }
  }
}

/**
 * Compiles a -F format (as the user typed it) into operations. The format is handled as UTF-8
 * bytes, as mosquitto does, so widths count bytes. Throws FormatError for a format mosquitto refuses.
 */
export function compileFormat(format: string): FormatOp[] {
  const str = Buffer.from(format, 'utf8').toString('latin1');
  check(str);
  const ops: FormatOp[] = [];
  let text = '';
  const flushText = () => { if (text) { ops.push({ kind: 'text', bytes: text }); text = ''; } };
  const len = str.length;
  for (let i = 0; i < len; i++) {
    const char = str[i]!;
    if (char === '%') {
      // formatted_print's own parse: '-' then '0' may both appear; width; '.' precision.
      i++;
      let left = false;
      let zero = false;
      let width = 0;
      let precision = -1;
      if (str[i] === '-') { left = true; if (i < len - 1) i++; }
      if (str[i] === '0') { zero = true; if (i < len - 1) i++; }
      while (i < len - 1 && isDigit(str[i])) { width = width * 10 + Number(str[i]); i++; }
      if (str[i] === '.' && i < len - 1) {
        i++;
        precision = 0;
        while (i < len - 1 && isDigit(str[i])) { precision = precision * 10 + Number(str[i]); i++; }
      }
      const spec = str[i]!;
      if (spec === '%') { text += '%'; continue; }
      flushText();
      ops.push({ kind: 'field', spec, left, zero, width, precision });
    } else if (char === '@') {
      i++;
      if (str[i] === '@') { text += '@'; continue; }
      flushText();
      ops.push({ kind: 'time', conversion: str[i]! });
    } else if (char === '\\') {
      i++;
      text += ESCAPES[str[i]!]!;
    } else {
      text += char;
    }
  }
  flushText();
  return ops;
}

/** True when rendering the format needs the clock (%I %U %j %J or any @ conversion). */
export function formatNeedsTime(ops: FormatOp[]): boolean {
  return ops.some((op) => op.kind === 'time' || (op.kind === 'field' && 'IUjJ'.includes(op.spec)));
}
