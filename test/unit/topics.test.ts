// Topic name / filter validation, shared-filter parsing and matching, by the spec's numbered statements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isValidTopicName, isValidTopicFilter, parseSharedFilter, topicMatchesFilter, topicLevelCount,
} from '../../src/codec/topics.js';

test('[MQTT-4.7.3-1] a topic name or filter is at least one character', () => {
  assert.equal(isValidTopicName(''), false);
  assert.equal(isValidTopicFilter(''), false);
  assert.equal(isValidTopicName('a'), true);
  assert.equal(isValidTopicName('/'), true);
  assert.equal(isValidTopicName('a//b'), true);
  assert.equal(isValidTopicName(' '), true);
});

test('[MQTT-3.3.2-2] [MQTT-4.7.1-1] a topic name has no wildcard characters', () => {
  for (const topic of ['#', '+', 'a/#', 'a/+/b', 'a+', 'a#b', 'sport/tennis/#']) {
    assert.equal(isValidTopicName(topic), false, topic);
  }
  assert.equal(isValidTopicName('$SYS/broker/uptime'), true);
  assert.equal(isValidTopicName('sport/tennis/player1'), true);
});

test('[MQTT-4.7.3-2] [MQTT-1.5.4-2] U+0000 is not allowed in names or filters', () => {
  assert.equal(isValidTopicName('a\u0000b'), false);
  assert.equal(isValidTopicFilter('a/\u0000'), false);
});

test('[MQTT-1.5.4-1] a lone surrogate (not well-formed UTF-8) is rejected; pairs are fine', () => {
  assert.equal(isValidTopicName('a\ud800'), false);
  assert.equal(isValidTopicName('\udc00a'), false);
  assert.equal(isValidTopicFilter('x/\ud83d/+'), false);
  assert.equal(isValidTopicName('emoji/\ud83d\ude00'), true);
  assert.equal(isValidTopicName('é/ü/日本'), true);
});

test('[MQTT-1.5.3] topics are at most 65535 bytes of UTF-8', () => {
  assert.equal(isValidTopicName('a'.repeat(65535)), true);
  assert.equal(isValidTopicName('a'.repeat(65536)), false);
  // 'é' is two bytes: 32768 of them are 65536 bytes.
  assert.equal(isValidTopicName('é'.repeat(32767)), true);
  assert.equal(isValidTopicName('é'.repeat(32768)), false);
  assert.equal(isValidTopicFilter('é'.repeat(32767) + '/#'), false);
  assert.equal(isValidTopicFilter('\ud83d\ude00'.repeat(16383) + '/#'), true);
});

test('[MQTT-4.7.1-2] the multi-level wildcard is alone in the last level', () => {
  for (const filter of ['#', 'a/#', '/#', 'a//#', '+/#']) assert.equal(isValidTopicFilter(filter), true, filter);
  for (const filter of ['a#', 'a/#/b', '#/', '##', 'a/b#', '#a', 'a/#b']) {
    assert.equal(isValidTopicFilter(filter), false, filter);
  }
});

test('[MQTT-4.7.1-3] the single-level wildcard occupies a whole level', () => {
  for (const filter of ['+', '+/+', '/+', '+/', 'a/+/b', '+/tennis/#', '//+//']) {
    assert.equal(isValidTopicFilter(filter), true, filter);
  }
  for (const filter of ['a+', '+a', 'a/+b', 'a/b+/c', '++', '+/++']) {
    assert.equal(isValidTopicFilter(filter), false, filter);
  }
});

test('parseSharedFilter: $share/group/filter, $queue/filter and plain filters [MQTT-4.8.2-1] [MQTT-4.8.2-2]', () => {
  assert.deepEqual(parseSharedFilter('$share/g/a/b'), { group: 'g', filter: 'a/b' });
  assert.deepEqual(parseSharedFilter('$share/group1/#'), { group: 'group1', filter: '#' });
  assert.deepEqual(parseSharedFilter('$share/g//x'), { group: 'g', filter: '/x' });
  assert.deepEqual(parseSharedFilter('$queue/a/+'), { group: '$queue', filter: 'a/+' });
  assert.deepEqual(parseSharedFilter('a/b'), { group: null, filter: 'a/b' });
  assert.deepEqual(parseSharedFilter('$SYS/#'), { group: null, filter: '$SYS/#' });
  assert.deepEqual(parseSharedFilter('$share'), { group: null, filter: '$share' });
  assert.deepEqual(parseSharedFilter('$sharex/g/a'), { group: null, filter: '$sharex/g/a' });
});

test('parseSharedFilter: malformed shares are null [MQTT-4.8.2-1] [MQTT-4.8.2-2]', () => {
  for (const filter of ['$share/g', '$share/g/', '$share//a', '$share/', '$share/g+/a', '$share/#/a', '$share/+/a', '$queue/']) {
    assert.equal(parseSharedFilter(filter), null, filter);
  }
});

const matching: Array<[string, string]> = [
  ['a', 'a'], ['a/b', 'a/b'], ['#', 'a'], ['#', 'a/b/c'], ['#', '/'], ['#', '/a'],
  ['a/#', 'a'], ['a/#', 'a/'], ['a/#', 'a/b'], ['a/#', 'a/b/c'],
  ['+', 'a'], ['+/+', '/'], ['+/+', 'a/b'], ['/+', '/a'], ['+/', 'a/'],
  ['a/+', 'a/'], ['a/+/c', 'a//c'], ['a//b', 'a//b'], ['a/', 'a/'], ['+/#', 'a'], ['+/#', '/'],
  ['sport/tennis/player1/#', 'sport/tennis/player1'], ['sport/tennis/player1/#', 'sport/tennis/player1/ranking'],
  ['sport/+', 'sport/'], ['+/+', '/finance'], ['/+', '/finance'],
  ['$SYS/#', '$SYS/broker/uptime'], ['$SYS/#', '$SYS'], ['$SYS/+', '$SYS/x'], ['$SYS/monitor/+', '$SYS/monitor/Clients'],
  ['$share/x', '$share/x'],
];
const notMatching: Array<[string, string]> = [
  ['a', 'b'], ['a', 'a/b'], ['a/b', 'a'], ['a', 'ab'], ['ab', 'a'], ['a/b', 'a/bc'],
  ['+', 'a/b'], ['+', '/'], ['+/+', 'a'], ['+/+', 'a/b/c'], ['a/+', 'a'], ['a/+', 'a/b/c'],
  ['sport/+', 'sport'], ['/+', 'finance'], ['a/#', 'b/a'], ['a/#', 'ab'], ['a//b', 'a/b'], ['a/b', 'a//b'],
  ['a/', 'a'], ['a', 'a/'],
  // [MQTT-4.7.2-1] leading wildcards do not match $ topics.
  ['#', '$SYS'], ['#', '$SYS/broker'], ['+/monitor/Clients', '$SYS/monitor/Clients'], ['+', '$SYS'], ['+/#', '$SYS/a'],
];

test('[MQTT-4.7.1-2] [MQTT-4.7.1-3] topicMatchesFilter: matching pairs', () => {
  for (const [filter, topic] of matching) assert.equal(topicMatchesFilter(filter, topic), true, `${filter} ~ ${topic}`);
});

test('[MQTT-4.7.2-1] topicMatchesFilter: non-matching pairs incl. $ topics under leading wildcards', () => {
  for (const [filter, topic] of notMatching) assert.equal(topicMatchesFilter(filter, topic), false, `${filter} !~ ${topic}`);
});

/** The obvious split-based definition, to check the single-pass matcher against. */
function referenceMatch(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

test('topicMatchesFilter agrees with a split-based reference over random filters and topics', () => {
  let seed = 42;
  const random = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const words = ['a', 'b', '', '$SYS', 'ab'];
  let checked = 0;
  for (let i = 0; i < 20000; i++) {
    const topicLevels = Array.from({ length: 1 + random(4) }, () => words[random(words.length)]!);
    const topic = topicLevels.join('/');
    if (topic.length === 0) continue;
    const filterLevels = Array.from({ length: 1 + random(4) }, () => ['a', 'b', '', '+', '$SYS'][random(5)]!);
    if (random(3) === 0) filterLevels.push('#');
    const filter = filterLevels.join('/');
    if (!isValidTopicFilter(filter)) continue;
    assert.equal(topicMatchesFilter(filter, topic), referenceMatch(filter, topic), `${filter} vs ${topic}`);
    checked++;
  }
  assert.ok(checked > 5000);
});

test('topicLevelCount counts levels including empty ones', () => {
  assert.equal(topicLevelCount('a'), 1);
  assert.equal(topicLevelCount('a/b/c'), 3);
  assert.equal(topicLevelCount('/'), 2);
  assert.equal(topicLevelCount('a//b/'), 4);
  assert.equal(topicLevelCount('/'.repeat(199)), 200);
});
