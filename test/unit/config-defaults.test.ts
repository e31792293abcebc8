// Mosquitto 2.0 defaults as resolveConfig applies them: local only mode, allow_anonymous,
// the implicit default listener, -p ports, -v, logging and persistence paths.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, resolveConfig, formatIssue, type ResolveOptions } from '../../src/config/index.js';

function load(text: string, options: ResolveOptions = {}) {
  return resolveConfig(parseConfigText(text, 'test.conf'), options);
}

const addresses = (text: string, options: ResolveOptions = {}) =>
  load(text, options).config.listeners.map((l) => `${l.bind_address ?? '*'}:${l.port}`);

test('an empty config is local only mode: 127.0.0.1 and ::1 on 1883, anonymous allowed', () => {
  const { config, errors, warnings } = load('');
  assert.deepEqual(errors, []);
  assert.deepEqual(warnings, []);
  assert.equal(config.local_only, true);
  assert.deepEqual(config.listeners.map((l) => [l.bind_address, l.port, l.local_only, l.security.allow_anonymous]), [
    ['127.0.0.1', 1883, true, true],
    ['::1', 1883, true, true],
  ]);
  assert.equal(config.security.allow_anonymous, true);
});

test('local only mode uses each -p port instead of 1883', () => {
  assert.deepEqual(addresses('', { ports: [1884, 1885] }), ['127.0.0.1:1884', '::1:1884', '127.0.0.1:1885', '::1:1885']);
});

test('-p is ignored, with a warning, when the config defines listeners', () => {
  const result = load('listener 2000\n', { ports: [1884] });
  assert.deepEqual(result.config.listeners.map((l) => l.port), [2000]);
  assert.deepEqual(result.warnings.map(formatIssue), ['test.conf: -p is ignored because the configuration defines listeners (as in Mosquitto)']);
});

test('local only mode overrides allow_anonymous false, and says so', () => {
  const result = load('allow_anonymous false\npassword_file /p\n');
  assert.equal(result.config.security.allow_anonymous, true);
  assert.equal(result.config.listeners.every((l) => l.security.allow_anonymous && l.local_only), true);
  assert.match(formatIssue(result.warnings[0]!), /^test\.conf:1: allow_anonymous false has no effect: .*local only mode/);
});

test('with a listener, allow_anonymous defaults to false unless set', () => {
  assert.equal(load('listener 1883\n').config.security.allow_anonymous, false);
  assert.equal(load('listener 1883\n').config.listeners[0]!.security.allow_anonymous, false);
  assert.equal(load('listener 1883\nallow_anonymous true\n').config.listeners[0]!.security.allow_anonymous, true);
  assert.equal(load('listener 1883\n').config.local_only, false);
});

test('port and bind_address create the default listener and leave local only mode', () => {
  assert.deepEqual(addresses('port 1884\n'), ['*:1884']);
  assert.deepEqual(addresses('bind_address 127.0.0.1\n'), ['127.0.0.1:1883']);
  assert.deepEqual(addresses('port 1884\nbind_address 10.0.0.1\n'), ['10.0.0.1:1884']);
  assert.equal(load('port 1884\n').config.security.allow_anonymous, false);
  // The default listener comes after the explicit ones, as in conf.c.
  assert.deepEqual(addresses('port 1884\nlistener 8883\n'), ['*:8883', '*:1884']);
});

test('listener options before any listener create the default listener on 1883 (Mosquitto quirk)', () => {
  const result = load('socket_domain ipv4\n');
  assert.deepEqual(result.config.listeners.map((l) => [l.bind_address, l.port, l.socket_domain]), [[null, 1883, 'ipv4']]);
  // conf.c keeps local_only (no listener/port/bind_address line), so anonymous stays allowed.
  assert.equal(result.config.security.allow_anonymous, true);
});

test('an option that would not create the default listener has no effect, with a warning', () => {
  const result = load('max_topic_alias 5\nlistener 1883\n');
  assert.equal(result.config.listeners.length, 1);
  assert.equal(result.config.listeners[0]!.max_topic_alias, 10);
  assert.match(formatIssue(result.warnings[0]!), /^test\.conf:1: max_topic_alias comes before any "listener" line/);
});

test('general defaults match Mosquitto 2.0', () => {
  const { config } = load('listener 1883\n');
  assert.equal(config.max_inflight_messages, 20);
  assert.equal(config.max_queued_messages, 1000);
  assert.equal(config.max_keepalive, 65535);
  assert.equal(config.max_packet_size, 0);
  assert.equal(config.message_size_limit, 0);
  assert.equal(config.sys_interval, 10);
  assert.equal(config.autosave_interval, 1800);
  assert.equal(config.check_retain_source, true);
  assert.equal(config.retain_available, true);
  assert.equal(config.persistence, false);
  assert.equal(config.persistence_filepath, null);
  assert.equal(config.persistent_client_expiration, null);
  assert.equal(config.user, 'mosquitto');
  assert.equal(config.security.auto_id_prefix, 'auto-');
  assert.equal(config.security.allow_zero_length_clientid, true);
  assert.deepEqual(config.log_dest, ['stderr']);
  assert.deepEqual(config.log_type, ['error', 'warning', 'notice', 'information']);
  assert.equal(config.outgoing_topic_aliases, false);
  assert.equal(config.acl_check_subscribe, false);
  assert.equal(config.auth_fail_limit, 10);
  assert.equal(config.auth_fail_window, 60);
  assert.equal(config.auth_fail_ban, 60);
  const listener = config.listeners[0]!;
  assert.deepEqual([listener.protocol, listener.max_connections, listener.max_qos, listener.max_topic_alias], ['mqtt', -1, 2, 10]);
});

test('-v logs every type, overriding log_type', () => {
  assert.equal(load('log_type error\n', { verbose: true }).config.log_type.length, 9);
});

test('persistence_filepath joins location and file as Mosquitto does', () => {
  assert.equal(load('persistence true\n').config.persistence_filepath, 'mosquitto.db');
  assert.equal(load('persistence true\npersistence_location /var/lib/mosquitto/\n').config.persistence_filepath, '/var/lib/mosquitto/mosquitto.db');
  assert.equal(load('persistence true\npersistence_location /data\npersistence_file b.db\n').config.persistence_filepath, '/data/b.db');
});

test('TLS needs both certfile and keyfile; CA options without TLS are flagged', () => {
  assert.deepEqual(load('listener 8883\ncertfile /c.pem\n').errors.map(formatIssue), [
    'test.conf:2: certfile is set but keyfile is not: both are needed to enable TLS',
  ]);
  assert.deepEqual(load('listener 8883\nkeyfile /k.pem\n').errors.map(formatIssue), [
    'test.conf:2: keyfile is set but certfile is not: both are needed to enable TLS',
  ]);
  assert.deepEqual(load('listener 8883\ncertfile /c\nkeyfile /k\nrequire_certificate true\n').errors.map(formatIssue), [
    'test.conf:4: require_certificate true needs cafile or capath to verify client certificates',
  ]);
  assert.deepEqual(load('listener 1883\ncafile /ca.pem\n').warnings.map(formatIssue), [
    'test.conf:2: cafile has no effect on a listener without certfile and keyfile (no TLS)',
  ]);
});
