// A JSON value tree parsed and printed exactly as cJSON 1.7.15 does, so `%j`/`%J` output is
// byte-identical to mosquitto_sub's. Pure; strings are "binary" (one char per byte), never UTF-16.

/**
 * A cJSON item. Strings and keys hold raw bytes as latin1 strings (char code = byte), because
 * cJSON copies bytes it does not understand (invalid UTF-8, 0x80-0xff) straight through.
 */
export type CJsonValue =
  | { type: 'null' }
  | { type: 'bool'; value: boolean }
  | { type: 'number'; value: number }
  | { type: 'string'; bytes: string }
  | { type: 'array'; items: CJsonValue[] }
  | { type: 'object'; entries: [string, CJsonValue][] };

/** cJSON's CJSON_NESTING_LIMIT: deeper arrays/objects fail to parse. */
const NESTING_LIMIT = 1000;
const DBL_EPSILON = 2.220446049250313e-16;

export const cjsonNull: CJsonValue = { type: 'null' };
export const cjsonNumber = (value: number): CJsonValue => ({ type: 'number', value });
/** A string item from raw bytes; like cJSON_CreateString on a C string, it ends at the first NUL. */
export function cjsonBytes(bytes: Buffer | string): CJsonValue {
  let text = typeof bytes === 'string' ? bytes : bytes.toString('latin1');
  const nul = text.indexOf('\0');
  if (nul >= 0) text = text.slice(0, nul);
  return { type: 'string', bytes: text };
}
/** A string item from text (encoded as UTF-8 bytes). */
export const cjsonText = (text: string): CJsonValue => cjsonBytes(Buffer.from(text, 'utf8'));

// ---------------------------------------------------------------- parsing (cJSON_ParseWithOpts)

class Parser {
  offset = 0;
  depth = 0;
  constructor(readonly input: string) {}

  /** cJSON skips every byte <= 32 as whitespace, control characters included. */
  skipWhitespace(): void {
    const input = this.input;
    while (this.offset < input.length && input.charCodeAt(this.offset) <= 32) this.offset++;
  }

  value(): CJsonValue | null {
    const input = this.input;
    const at = this.offset;
    if (input.startsWith('null', at)) { this.offset += 4; return cjsonNull; }
    if (input.startsWith('false', at)) { this.offset += 5; return { type: 'bool', value: false }; }
    if (input.startsWith('true', at)) { this.offset += 4; return { type: 'bool', value: true }; }
    const char = input.charCodeAt(at);
    if (char === 0x22) { const bytes = this.string(); return bytes === null ? null : { type: 'string', bytes }; }
    if (char === 0x2d || (char >= 0x30 && char <= 0x39)) return this.number();
    if (char === 0x5b) return this.array();
    if (char === 0x7b) return this.object();
    return null;
  }

  /** parse_number: copy up to 63 of [0-9+-eE.], then strtod that copy. */
  number(): CJsonValue | null {
    const candidate = /^[0-9+\-eE.]{1,63}/.exec(this.input.slice(this.offset, this.offset + 63))![0];
    const match = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(candidate);
    if (!match) return null;
    this.offset += match[0].length;
    return { type: 'number', value: Number(match[0]) };
  }

  hex4(at: number): number {
    const digits = this.input.slice(at, at + 4);
    return /^[0-9a-fA-F]{4}$/.test(digits) ? parseInt(digits, 16) : -1;
  }

  /** parse_string: returns the decoded bytes, or null when malformed. */
  string(): string | null {
    const input = this.input;
    let at = this.offset + 1;
    let out = '';
    for (;;) {
      if (at >= input.length) return null;
      const char = input[at]!;
      if (char === '"') break;
      if (char !== '\\') { out += char; at++; continue; }
      const escape = input[at + 1];
      switch (escape) {
        case 'b': out += '\b'; at += 2; break;
        case 'f': out += '\f'; at += 2; break;
        case 'n': out += '\n'; at += 2; break;
        case 'r': out += '\r'; at += 2; break;
        case 't': out += '\t'; at += 2; break;
        case '"': case '\\': case '/': out += escape; at += 2; break;
        case 'u': {
          let code = this.hex4(at + 2);
          if (code < 0 || (code >= 0xdc00 && code <= 0xdfff)) return null;
          let length = 6;
          if (code >= 0xd800 && code <= 0xdbff) {
            if (input[at + 6] !== '\\' || input[at + 7] !== 'u') return null;
            const low = this.hex4(at + 8);
            if (low < 0xdc00 || low > 0xdfff) return null;
            code = 0x10000 + (((code & 0x3ff) << 10) | (low & 0x3ff));
            length = 12;
          }
          out += Buffer.from(String.fromCodePoint(code), 'utf8').toString('latin1');
          at += length;
          break;
        }
        default: return null;
      }
    }
    this.offset = at + 1;
    return out;
  }

  array(): CJsonValue | null {
    if (this.depth >= NESTING_LIMIT) return null;
    this.depth++;
    const items: CJsonValue[] = [];
    this.offset++;
    this.skipWhitespace();
    if (this.input[this.offset] !== ']') {
      for (;;) {
        this.skipWhitespace();
        const item = this.value();
        if (item === null) return null;
        items.push(item);
        this.skipWhitespace();
        if (this.input[this.offset] !== ',') break;
        this.offset++;
      }
      if (this.input[this.offset] !== ']') return null;
    }
    this.offset++;
    this.depth--;
    return { type: 'array', items };
  }

  object(): CJsonValue | null {
    if (this.depth >= NESTING_LIMIT) return null;
    this.depth++;
    const entries: [string, CJsonValue][] = [];
    this.offset++;
    this.skipWhitespace();
    if (this.input[this.offset] !== '}') {
      for (;;) {
        this.skipWhitespace();
        if (this.input[this.offset] !== '"') return null;
        const key = this.string();
        if (key === null) return null;
        this.skipWhitespace();
        if (this.input[this.offset] !== ':') return null;
        this.offset++;
        this.skipWhitespace();
        const item = this.value();
        if (item === null) return null;
        entries.push([key, item]);
        this.skipWhitespace();
        if (this.input[this.offset] !== ',') break;
        this.offset++;
      }
      if (this.input[this.offset] !== '}') return null;
    }
    this.offset++;
    this.depth--;
    return { type: 'object', entries };
  }
}

/**
 * Parses a payload as mosquitto_sub's %J does (cJSON_ParseWithOpts, require_null_terminated, and
 * the parse must end exactly at the payload's end). Returns null when it is not valid for cJSON.
 */
export function parseCJson(payload: Buffer): CJsonValue | null {
  // cJSON reads a C string: a NUL ends the input early, so the end check can never pass.
  if (payload.includes(0)) return null;
  const parser = new Parser(payload.toString('latin1'));
  if (parser.input.startsWith('\xef\xbb\xbf')) parser.offset = 3;
  parser.skipWhitespace();
  const value = parser.value();
  if (value === null) return null;
  parser.skipWhitespace();
  return parser.offset === parser.input.length ? value : null;
}

// ---------------------------------------------------------------- printing (cJSON_Print*)

/** C's printf("%1.<precision>g", value). */
export function formatG(value: number, precision: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const exponential = value.toExponential(precision - 1);
  const [mantissa, exponentText] = exponential.split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= precision) {
    const digits = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    const sign = exponent < 0 ? '-' : '+';
    const magnitude = String(Math.abs(exponent)).padStart(2, '0');
    return `${digits}e${sign}${magnitude}`;
  }
  const fixed = value.toFixed(Math.max(0, precision - 1 - exponent));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** print_number in cJSON 1.7.15: %1.15g unless it does not round-trip, then %1.17g. */
export function cjsonNumberText(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  const short = formatG(value, 15);
  const test = Number(short);
  const largest = Math.max(Math.abs(test), Math.abs(value));
  return Math.abs(test - value) <= largest * DBL_EPSILON ? short : formatG(value, 17);
}

const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** print_string_ptr: escapes quote, backslash and bytes below 32; copies every other byte. */
export function cjsonStringText(text: string): string {
  // cJSON holds C strings: anything after a NUL (from a \u0000 escape) is never printed.
  const nul = text.indexOf('\0');
  const bytes = nul >= 0 ? text.slice(0, nul) : text;
  // eslint-disable-next-line no-control-regex
  if (!/["\\\x00-\x1f]/.test(bytes)) return `"${bytes}"`;
  // eslint-disable-next-line no-control-regex
  return `"${bytes.replace(/["\\\x00-\x1f]/g, (char) => ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

function print(value: CJsonValue, pretty: boolean, depth: number): string {
  switch (value.type) {
    case 'null': return 'null';
    case 'bool': return value.value ? 'true' : 'false';
    case 'number': return cjsonNumberText(value.value);
    case 'string': return cjsonStringText(value.bytes);
    case 'array': {
      // Arrays stay on one line even when pretty, but still count as a nesting level.
      const separator = pretty ? ', ' : ',';
      return `[${value.items.map((item) => print(item, pretty, depth + 1)).join(separator)}]`;
    }
    case 'object': {
      if (!pretty) {
        return `{${value.entries.map(([key, item]) => `${cjsonStringText(key)}:${print(item, false, depth + 1)}`).join(',')}}`;
      }
      const indent = '\t'.repeat(depth + 1);
      let text = '{\n';
      value.entries.forEach(([key, item], index) => {
        text += `${indent}${cjsonStringText(key)}:\t${print(item, true, depth + 1)}${index < value.entries.length - 1 ? ',' : ''}\n`;
      });
      return `${text}${'\t'.repeat(depth)}}`;
    }
  }
}

/** cJSON_PrintUnformatted (pretty false) or cJSON_Print (pretty true), as raw bytes. */
export function printCJson(value: CJsonValue, pretty: boolean): Buffer {
  return Buffer.from(print(value, pretty, 0), 'latin1');
}
