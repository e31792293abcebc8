// The retained store without a broker: set, replace, clear, and filter matching incl. $ topics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetainedStore } from '../../src/broker/retained.js';
import { isValidTopicFilter, topicMatchesFilter } from '../../src/codec/topics.js';

interface Message { topic: string; payload: string }
const message = (topic: string, payload = 'x'): Message => ({ topic, payload });
const topicsOf = (found: Message[]) => found.map((m) => m.topic).sort();

test('[MQTT-3.3.1-5] set stores one message per topic and replaces the previous one', () => {
  const store = new RetainedStore<Message>();
  store.set('a/b', message('a/b', '1'));
  store.set('a/b', message('a/b', '2'));
  assert.equal(store.size, 1);
  assert.equal(store.get('a/b')!.payload, '2');
  assert.deepEqual(store.match('a/b').map((m) => m.payload), ['2']);
});

test('[MQTT-3.3.1-10] [MQTT-3.3.1-11] null clears the topic; clearing an unknown topic is harmless', () => {
  const store = new RetainedStore<Message>();
  store.set('a/b/c', message('a/b/c'));
  store.set('a', message('a'));
  store.set('a/b/c', null);
  store.set('never/set', null);
  assert.equal(store.size, 1);
  assert.equal(store.get('a/b/c'), undefined);
  assert.deepEqual(topicsOf(store.match('#')), ['a']);
  store.set('a', null);
  assert.equal(store.size, 0);
  assert.deepEqual(store.match('#'), []);
  assert.deepEqual([...store.entries()], []);
});

test('[MQTT-4.7.1-2] [MQTT-4.7.1-3] match walks wildcards: #, a/#, +, +/+, empty levels', () => {
  const store = new RetainedStore<Message>();
  for (const topic of ['a', 'a/b', 'a/b/c', 'a//c', '/', '/x', 'b', 'a/']) store.set(topic, message(topic));
  assert.deepEqual(topicsOf(store.match('#')), ['/', '/x', 'a', 'a/', 'a//c', 'a/b', 'a/b/c', 'b']);
  assert.deepEqual(topicsOf(store.match('a/#')), ['a', 'a/', 'a//c', 'a/b', 'a/b/c']);
  assert.deepEqual(topicsOf(store.match('+')), ['a', 'b']);
  assert.deepEqual(topicsOf(store.match('+/+')), ['/', '/x', 'a/', 'a/b']);
  assert.deepEqual(topicsOf(store.match('a/+/c')), ['a//c', 'a/b/c']);
  assert.deepEqual(topicsOf(store.match('a/b')), ['a/b']);
  assert.deepEqual(topicsOf(store.match('a/+')), ['a/', 'a/b']);
  assert.deepEqual(topicsOf(store.match('nothing/#')), []);
});

test('[MQTT-4.7.2-1] $ topics are matched only by filters that start with $', () => {
  const store = new RetainedStore<Message>();
  for (const topic of ['$SYS/broker/uptime', '$SYS', 'a/$x', 'plain']) store.set(topic, message(topic));
  assert.deepEqual(topicsOf(store.match('#')), ['a/$x', 'plain']);
  assert.deepEqual(topicsOf(store.match('+/broker/uptime')), []);
  assert.deepEqual(topicsOf(store.match('+')), ['plain']);
  assert.deepEqual(topicsOf(store.match('$SYS/#')), ['$SYS', '$SYS/broker/uptime']);
  assert.deepEqual(topicsOf(store.match('$SYS/+/uptime')), ['$SYS/broker/uptime']);
  assert.deepEqual(topicsOf(store.match('a/+')), ['a/$x']);
});

test('entries lists every stored message once', () => {
  const store = new RetainedStore<Message>();
  for (const topic of ['x', 'y/z', '$SYS/a']) store.set(topic, message(topic));
  assert.deepEqual(topicsOf([...store.entries()]), ['$SYS/a', 'x', 'y/z']);
});

test('match agrees with topicMatchesFilter over random topics and filters, after clears', () => {
  let seed = 99;
  const random = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const words = ['a', 'b', '', '$SYS'];
  const store = new RetainedStore<Message>();
  const topics = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const topic = Array.from({ length: 1 + random(4) }, () => words[random(words.length)]!).join('/');
    if (topic.length === 0) continue;
    if (random(4) === 0) { store.set(topic, null); topics.delete(topic); } else { store.set(topic, message(topic)); topics.add(topic); }
  }
  assert.equal(store.size, topics.size);
  for (let i = 0; i < 1000; i++) {
    const levels = Array.from({ length: 1 + random(3) }, () => ['a', 'b', '', '+', '$SYS'][random(5)]!);
    if (random(3) === 0) levels.push('#');
    const filter = levels.join('/');
    if (!isValidTopicFilter(filter)) continue;
    const expected = [...topics].filter((t) => topicMatchesFilter(filter, t)).sort();
    assert.deepEqual(topicsOf(store.match(filter)), expected, filter);
  }
});
