// Client-side topic checks: publish topics, filters and the UTF-8 rules mosquitto applies to -t.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidMqttString, isValidPublishTopic, isValidTopicFilter } from '../../src/client/topics.js';

test('publish topics refuse wildcards and the empty string [MQTT-3.3.2-2]', () => {
  assert.ok(isValidPublishTopic('a/b'));
  assert.ok(isValidPublishTopic('/'));
  assert.ok(!isValidPublishTopic(''));
  assert.ok(!isValidPublishTopic('a/+'));
  assert.ok(!isValidPublishTopic('a/#'));
});

test('filters: # last and alone, + alone in its level [MQTT-4.7.1-2] [MQTT-4.7.1-3]', () => {
  for (const ok of ['#', 'a/#', '+', 'a/+/b', '+/+', '$SYS/#']) assert.ok(isValidTopicFilter(ok), ok);
  for (const bad of ['', 'a#', 'a/#/b', 'a+', 'a/b+/c']) assert.ok(!isValidTopicFilter(bad), bad);
});

test('strings mosquitto calls malformed UTF-8', () => {
  assert.ok(isValidMqttString('héllo/wörld'));
  for (const bad of ['a\u0000b', 'a\tb', 'a\u007fb', 'a\u0085b', 'a\ufffeb', 'a\ufdd0b', 'a\ufffdb']) assert.ok(!isValidMqttString(bad), JSON.stringify(bad));
});
