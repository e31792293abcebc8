// The pure formatter behind `mqx sub`: -F parsing and errors, field widths and their quirks,
// cJSON-compatible JSON parse/print, C-locale strftime, and the --json line.
process.env.TZ = 'UTC';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFormat, FormatError } from '../../src/client/format-spec.js';
import { formatMessage, formatSettings, type ReceivedMessage, type Sink } from '../../src/client/format.js';
import { cjsonNumberText, formatG, parseCJson, printCJson } from '../../src/client/json-cjson.js';
import { localTime, strftimeOne, isoSeconds, jsonTimestamp } from '../../src/client/format-time.js';
import { jsonLine, mosquittoJson } from '../../src/client/json-message.js';

function render(flags: Parameters<typeof formatSettings>[0], message: Partial<ReceivedMessage> = {}): { out: string; errors: string[] } {
  const chunks: Buffer[] = [];
  const sink: Sink = { bytes: (chunk) => chunks.push(chunk), text: (chunk) => chunks.push(Buffer.from(chunk)) };
  const errors: string[] = [];
  const full: ReceivedMessage = { topic: 'a/b', payload: Buffer.from('abc'), qos: 0, retain: false, mid: 0, ...message };
  formatMessage(formatSettings(flags), full, sink, (text) => errors.push(text));
  return { out: Buffer.concat(chunks).toString('latin1'), errors };
}

test('-F formats mosquitto refuses give its exact message', () => {
  const cases: [string, string][] = [
    ['%', 'Error: Incomplete format specifier.'],
    ['%-', 'Error: Incomplete format specifier.'],
    ['%10', 'Error: Incomplete format specifier.'],
    ['%5.', 'Error: Incomplete format specifier.'],
    ['%c', "Error: Invalid format specifier 'c'."],
    ['%0-5t', "Error: Invalid format specifier '-'."],
    ['@', 'Error: Incomplete format specifier.'],
    ['\\', 'Error: Incomplete escape specifier.'],
    ['\\q', "Error: Invalid escape specifier 'q'."],
  ];
  for (const [format, message] of cases) {
    assert.throws(() => compileFormat(format), (error: unknown) => error instanceof FormatError && error.message === message, format);
  }
  for (const format of ['%%', '%-05t', '%10.3t', '@Q', '\\e[1m%t\\e[0m', '%A%C%D%E%F%I%l%m%P%p%q%R%S%r%t%j%J%U%x%X']) {
    assert.doesNotThrow(() => compileFormat(format), format);
  }
});

test('plain, -v and -N output, including empty payloads', () => {
  assert.equal(render({}).out, 'abc\n');
  assert.equal(render({ eol: false }).out, 'abc');
  assert.equal(render({ verbose: true }).out, 'a/b abc\n');
  assert.equal(render({ verbose: true }, { payload: Buffer.alloc(0) }).out, 'a/b (null)\n');
  assert.equal(render({ verbose: true, eol: false }, { payload: Buffer.alloc(0) }).out, '');
  assert.equal(render({}, { payload: Buffer.alloc(0) }).out, '', 'without -v an empty payload prints nothing at all');
  assert.equal(render({ format: '%t', verbose: true }).out, 'a/b\n', '-F overrides -v');
});

test('field widths, flags and precision behave as mosquitto_sub prints them', () => {
  const cases: [string, Partial<ReceivedMessage>, string][] = [
    ['%5t|%-5t|%.1t|%5.2t|%-5.2t|', {}, '  a/b|a/b  |a|   a/|a/   |'],
    ['%5p|%05p|%-5p|%2p|%.1p', {}, '  abc|00abc|abc  |ab|abc'],
    ['%-p|', {}, 'abc   |'], // printf("%*s", -3, "") pads even without a width
    ['%10x|%010X|%2x|%1x|%-6x|', {}, '        61|0000000061|61| |61    |'], // a width caps bytes at width/2
    ['%x|%X', { payload: Buffer.from([0x00, 0xab, 0xff]) }, '00abff|00ABFF'],
    ['%05l|%-5l|%5l|%l', {}, '00003|3    |    3|3'],
    ['%m %q %r', { qos: 1, mid: 42, retain: true }, '42 1 1'],
    ['%05m', { mid: 7 }, '00007'],
    ['%%|@@|\\t|\\\\|\\0|\\e', {}, '%|@|\t|\\|\0|\x1b'],
    ['%5A|%05A|%-5S|%C|%5C|%R|%5R|%P|%D|%E|%F', {}, '     |00000|     ||     ||||||'],
  ];
  for (const [format, message, expected] of cases) {
    assert.equal(render({ format, eol: false }, message).out, expected, format);
  }
});

test('MQTT 5 properties: %C %R %P %D %E %F %S %A', () => {
  const properties = {
    contentType: 'text/plain', userProperties: { k1: 'v1', k2: ['a', 'b'] }, responseTopic: 'resp',
    correlationData: Buffer.from([0x63, 0x00, 0x64]), payloadFormatIndicator: true, messageExpiryInterval: 4294967295,
    subscriptionIdentifier: [5, 6], topicAlias: 3,
  };
  assert.equal(render({ format: '%C|%R|%P|%D|%E|%F|%S|%A|%8.4C|%-6R|%04A', eol: false }, { properties }).out,
    'text/plain|resp|k1:v1 k2:a k2:b|c\0d|-1|1|5|3|    text|resp  |0003');
});

test('%J with a payload that is not JSON reports it and prints the rest of the format', () => {
  const result = render({ format: '<%J>' }, { payload: Buffer.from('{"a":') });
  assert.equal(result.out, '<>\n');
  assert.deepEqual(result.errors, ['Error: Message payload is not valid JSON on topic a/b.']);
});

test('cJSON number printing (%1.15g, else %1.17g)', () => {
  const cases: [number, string][] = [
    [0, '0'], [-0, '-0'], [1, '1'], [1.5, '1.5'], [1000, '1000'], [1e20, '1e+20'], [1e21, '1e+21'], [0.1, '0.1'],
    [1e-7, '1e-07'], [0.30000000000000004, '0.3'], [12345678901234567890, '1.2345678901234567e+19'],
    [3.14159265358979, '3.14159265358979'], [1 / 3, '0.33333333333333331'], [Number.MAX_VALUE, '1.79769313486232e+308'], [5e-324, '4.94065645841247e-324'], [-2.5e-5, '-2.5e-05'], [Infinity, 'null'],
  ];
  for (const [value, text] of cases) assert.equal(cjsonNumberText(value), text, String(value));
  assert.equal(formatG(123456, 3), '1.23e+05');
  assert.equal(formatG(0.0001, 15), '0.0001');
  assert.equal(formatG(0.00001, 15), '1e-05');
});

test('cJSON parsing accepts and refuses what cJSON 1.7.15 does', () => {
  const valid: [string, string][] = [
    [' {"a": 1.50, "b":[]} ', '{"a":1.5,"b":[]}'], ['01', '1'], ['1.', '1'], ['-.5', '-0.5'], ['\x01\x02 true \x1f', 'true'],
    ['\xef\xbb\xbf[1]', '[1]'], ['"\\u00e9\\ud83d\\ude00\\/"', '"é😀/"'], ['{"a":1,"a":2}', '{"a":1,"a":2}'],
    ['"tab\there"', '"tab\\there"'], ['1e400', 'null'], ['"a\\u0000b"', '"a"'],
  ];
  for (const [input, output] of valid) {
    const parsed = parseCJson(Buffer.from(input, 'latin1')); // inputs are ASCII, plus raw bytes for the BOM
    assert.ok(parsed, `parses ${JSON.stringify(input)}`);
    assert.equal(printCJson(parsed!, false).toString('utf8'), output, input);
  }
  for (const input of ['', '+1', '[1,]', '{"a":1,}', '{a:1}', '"\\ud800"', '"\\x"', '1 2', 'nul', '"open', '[1', '1\u0000', '0x10', '1e']) {
    assert.equal(parseCJson(Buffer.from(input)), null, `refuses ${JSON.stringify(input)}`);
  }
  assert.ok(parseCJson(Buffer.from('['.repeat(1000) + ']'.repeat(1000))), 'nesting 1000 is fine');
  assert.equal(parseCJson(Buffer.from('['.repeat(1001) + ']'.repeat(1001))), null, 'nesting 1001 is refused');
});

test('cJSON pretty printing: tabs, one-line arrays, empty objects', () => {
  const parsed = parseCJson(Buffer.from('{"a":{},"b":[1,[2,{}]],"c":{"d":"e"}}'))!;
  assert.equal(printCJson(parsed, true).toString(), '{\n\t"a":\t{\n\t},\n\t"b":\t[1, [2, {\n\t\t\t}]],\n\t"c":\t{\n\t\t"d":\t"e"\n\t}\n}');
});

test('C-locale strftime, %I and the 2.0.11 "tst" format', () => {
  const time = localTime({ seconds: 1_700_000_000, nanoseconds: 123_456_789 }); // 2023-11-14 22:13:20 UTC, a Tuesday
  const expected: Record<string, string> = {
    Y: '2023', m: '11', d: '14', H: '22', M: '13', S: '20', a: 'Tue', A: 'Tuesday', b: 'Nov', B: 'November',
    e: '14', j: '318', p: 'PM', I: '10', l: '10', k: '22', s: '1700000000', z: '+0000', u: '2', w: '2', y: '23',
    C: '20', D: '11/14/23', F: '2023-11-14', T: '22:13:20', R: '22:13', r: '10:13:20 PM', c: 'Tue Nov 14 22:13:20 2023',
    V: '46', G: '2023', U: '46', W: '46', '%': '%', Q: '%Q', E: '%E', n: '\n', t: '\t',
  };
  for (const [conversion, text] of Object.entries(expected)) assert.equal(strftimeOne(conversion, time), text, `@${conversion}`);
  assert.equal(isoSeconds(time), '2023-11-14T22:13:20+0000');
  assert.equal(jsonTimestamp(time, 123_456_789), '2023-11-14T22:13:20.123456Z+0000');
  const newYear = localTime({ seconds: Date.UTC(2021, 0, 1) / 1000, nanoseconds: 0 }); // ISO week 53 of 2020
  assert.equal(strftimeOne('V', newYear), '53');
  assert.equal(strftimeOne('G', newYear), '2020');
});

test('%j: keys in mosquitto order, payload cut at the first NUL, mid only for QoS > 0', () => {
  const time = localTime({ seconds: 1_700_000_000, nanoseconds: 5_000 });
  const json = mosquittoJson({ topic: 't', payload: Buffer.from('a\0b'), qos: 1, retain: true, mid: 9, properties: { contentType: 'x', userProperties: { u: 'v' } } }, time, 5_000, true, false);
  assert.equal(json!.toString(), '{"tst":"2023-11-14T22:13:20.000005Z+0000","topic":"t","qos":1,"retain":1,"payloadlen":3,"mid":9,"properties":{"content-type":"x","user-properties":{"u":"v"}},"payload":"a"}');
  const empty = mosquittoJson({ topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, mid: 0 }, time, 0, false, false);
  assert.match(empty!.toString(), /"payloadlen":0,"payload":null}$/);
});

test('--json line: UTF-8 payload as text, anything else base64', () => {
  const at = new Date('2026-01-02T03:04:05.678Z');
  assert.equal(jsonLine({ topic: 't', payload: Buffer.from('hé'), qos: 1, retain: true, mid: 3 }, at),
    '{"topic":"t","payload":"hé","qos":1,"retain":true,"received_at":"2026-01-02T03:04:05.678Z"}\n');
  const binary = JSON.parse(jsonLine({ topic: 't', payload: Buffer.from([0xff, 0xfe]), qos: 0, retain: false, mid: 0, properties: { correlationData: Buffer.from([0x80]) } }, at));
  assert.equal(binary.encoding, 'base64');
  assert.equal(binary.payload, '//4=');
  assert.deepEqual(binary.properties, { 'correlation-data': 'gA==', 'correlation-data-encoding': 'base64' });
});
