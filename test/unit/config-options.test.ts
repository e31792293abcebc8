// Every mosquitto.conf option mqx parses: good values land in the resolved BrokerConfig, bad
// values stop with `file:line: what is wrong` naming the allowed values, refused options say so.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, resolveConfig, formatIssue, type BrokerConfig, type ListenerConfig } from '../../src/config/index.js';

function load(text: string, file = 'test.conf') {
  return resolveConfig(parseConfigText(text, file));
}

function errorsOf(text: string): string[] {
  return load(text).errors.map(formatIssue);
}

/** [config line, read the value back, expected value] for general options. */
const goodGlobal: Array<[string, (c: BrokerConfig) => unknown, unknown]> = [
  ['allow_duplicate_messages false', (c) => c.allow_duplicate_messages, false],
  ['autosave_interval 60', (c) => c.autosave_interval, 60],
  ['autosave_interval -5', (c) => c.autosave_interval, 0],
  ['autosave_on_changes true', (c) => c.autosave_on_changes, true],
  ['check_retain_source false', (c) => c.check_retain_source, false],
  ['clientid_prefixes secure-', (c) => c.clientid_prefixes, 'secure-'],
  ['connection_messages false', (c) => c.connection_messages, false],
  ['log_facility 5', (c) => c.log_facility, 5],
  ['log_timestamp 0', (c) => c.log_timestamp, false],
  ['log_timestamp_format %Y-%m-%dT%H:%M:%S', (c) => c.log_timestamp_format, '%Y-%m-%dT%H:%M:%S'],
  ['max_inflight_bytes 1000', (c) => c.max_inflight_bytes, 1000],
  ['max_inflight_bytes -1', (c) => c.max_inflight_bytes, 0],
  ['max_inflight_messages 1', (c) => c.max_inflight_messages, 1],
  ['max_inflight_messages 65535', (c) => c.max_inflight_messages, 0],
  ['max_inflight_messages -3', (c) => c.max_inflight_messages, 0],
  ['max_keepalive 10', (c) => c.max_keepalive, 10],
  ['max_keepalive 65535', (c) => c.max_keepalive, 65535],
  ['max_packet_size 20', (c) => c.max_packet_size, 20],
  ['max_packet_size 1048576', (c) => c.max_packet_size, 1048576],
  ['max_queued_bytes 5000', (c) => c.max_queued_bytes, 5000],
  ['max_queued_messages 0', (c) => c.max_queued_messages, 0],
  ['max_queued_messages 10', (c) => c.max_queued_messages, 10],
  ['message_size_limit 268435455', (c) => c.message_size_limit, 268435455],
  ['persistence true', (c) => c.persistence, true],
  ['retained_persistence true', (c) => c.persistence, true],
  ['persistence_file data.db', (c) => c.persistence_file, 'data.db'],
  ['persistence_location /var/lib/mqx/', (c) => c.persistence_location, '/var/lib/mqx/'],
  ['persistent_client_expiration 2h', (c) => c.persistent_client_expiration, 7200],
  ['persistent_client_expiration 14d', (c) => c.persistent_client_expiration, 14 * 86400],
  ['persistent_client_expiration 1w', (c) => c.persistent_client_expiration, 7 * 86400],
  ['persistent_client_expiration 2m', (c) => c.persistent_client_expiration, 60 * 86400],
  ['persistent_client_expiration 1y', (c) => c.persistent_client_expiration, 365 * 86400],
  ['pid_file /run/mqx.pid', (c) => c.pid_file, '/run/mqx.pid'],
  ['queue_qos0_messages true', (c) => c.queue_qos0_messages, true],
  ['retain_available false', (c) => c.retain_available, false],
  ['set_tcp_nodelay true', (c) => c.set_tcp_nodelay, true],
  ['sys_interval 0', (c) => c.sys_interval, 0],
  ['upgrade_outgoing_qos true', (c) => c.upgrade_outgoing_qos, true],
  ['user nobody', (c) => c.user, 'nobody'],
  ['websockets_headers_size 4096', (c) => c.websockets_headers_size, 4096],
  ['websockets_log_level 255', (c) => c.websockets_log_level, 255],
  ['outgoing_topic_aliases true', (c) => c.outgoing_topic_aliases, true],
  ['acl_check_subscribe true', (c) => c.acl_check_subscribe, true],
  ['auth_fail_limit 0', (c) => c.auth_fail_limit, 0],
  ['auth_fail_window 300', (c) => c.auth_fail_window, 300],
  ['auth_fail_ban 2', (c) => c.auth_fail_ban, 2],
  ['password_file /etc/mqx/passwd', (c) => c.security.password_file, '/etc/mqx/passwd'],
  ['acl_file /etc/mqx/acl', (c) => c.security.acl_file, '/etc/mqx/acl'],
  ['allow_zero_length_clientid false', (c) => c.security.allow_zero_length_clientid, false],
  ['auto_id_prefix mqx-', (c) => c.security.auto_id_prefix, 'mqx-'],
  ['log_dest stdout', (c) => c.log_dest, ['stdout']],
  ['log_dest syslog', (c) => c.log_dest, ['syslog']],
  ['log_dest topic', (c) => c.log_dest, ['topic']],
  ['log_dest none', (c) => c.log_dest, []],
  ['log_dest file /var/log/my broker.log', (c) => [c.log_dest, c.log_file], [['file'], '/var/log/my broker.log']],
  ['log_type debug', (c) => c.log_type, ['debug']],
  ['log_type none', (c) => c.log_type, []],
  ['allow_anonymous true # trailing comments are ignored, as in Mosquitto', (c) => c.security.allow_anonymous, true],
  ['password_file   /spaces/around   ', (c) => c.security.password_file, '/spaces/around'],
];

for (const [line, read, expected] of goodGlobal) {
  test(`accepts "${line}"`, () => {
    const result = load(`listener 1883\n${line}\n`);
    assert.deepEqual(result.errors.map(formatIssue), []);
    assert.deepEqual(read(result.config), expected);
  });
}

/** [line, the message expected at test.conf:2]. */
const badGlobal: Array<[string, RegExp]> = [
  ['allow_anonymous yes', /invalid allow_anonymous value "yes": expected true or false/],
  ['allow_anonymous True', /invalid allow_anonymous value "True": expected true or false/],
  ['allow_anonymous', /allow_anonymous needs a value: true or false/],
  ['allow_anonymous true false', /allow_anonymous takes one value .*unexpected "false"/],
  ['max_inflight_messages abc', /invalid max_inflight_messages value "abc": expected a number from 0 to 65535/],
  ['max_inflight_messages 65536', /invalid max_inflight_messages value 65536/],
  ['max_keepalive 9', /invalid max_keepalive value 9: expected an integer from 10 to 65535/],
  ['max_keepalive 65536', /invalid max_keepalive value 65536/],
  ['max_packet_size 19', /invalid max_packet_size value 19: expected a number of bytes, at least 20/],
  ['max_packet_size 0', /invalid max_packet_size value 0/],
  ['max_queued_messages lots', /invalid max_queued_messages value "lots"/],
  ['message_size_limit 268435456', /invalid message_size_limit value 268435456: expected a number of bytes from 0 to 268435455/],
  ['message_size_limit -1', /invalid message_size_limit value -1/],
  ['sys_interval -1', /invalid sys_interval value -1: expected a number of seconds from 0 to 65535/],
  ['sys_interval 10s', /invalid sys_interval value "10s"/],
  ['log_facility 8', /invalid log_facility value 8: expected a number from 0 to 7/],
  ['persistent_client_expiration 14', /invalid persistent_client_expiration value "14": expected a positive number followed by h, d, w, m or y/],
  ['persistent_client_expiration 0d', /invalid persistent_client_expiration value "0d"/],
  ['persistent_client_expiration 5x', /invalid persistent_client_expiration value "5x"/],
  ['persistent_client_expiration -5d', /invalid persistent_client_expiration value "-5d"/],
  ['pid_file', /pid_file needs a value/],
  ['pid_file    ', /pid_file needs a value/],
  ['log_dest', /log_dest needs a value/],
  ['log_dest foo', /invalid log_dest value "foo": expected one of stdout, stderr, syslog, topic, file, none, dlt/],
  ['log_dest file', /log_dest file needs a path/],
  ['log_dest stdout stderr', /log_dest takes one value/],
  ['log_dest dlt', /log_dest dlt is not supported by mqx/],
  ['log_type foo', /invalid log_type value "foo": expected one of debug, error, warning/],
  ['log_type', /log_type needs a value/],
  ['websockets_headers_size 70000', /invalid websockets_headers_size value 70000/],
  ['persistence maybe', /invalid persistence value "maybe"/],
  ['outgoing_topic_aliases on', /invalid outgoing_topic_aliases value "on": expected true or false/],
  ['acl_check_subscribe 2', /invalid acl_check_subscribe value "2": expected true or false/],
  ['auth_fail_limit 101', /invalid auth_fail_limit value 101: expected a number of failures from 0 to 100/],
  ['auth_fail_ban 0', /invalid auth_fail_ban value 0: expected a number of seconds from 1 to 86400/],
  ['auth_fail_window 1m', /invalid auth_fail_window value "1m"/],
  ['frobnicate 1', /unknown option "frobnicate"/],
  ['alow_anonymous true', /unknown option "alow_anonymous" \(did you mean "allow_anonymous"\?\)/],
  ['max_inflight_message 5', /did you mean "max_inflight_messages"/],
  ['  # indented comment', /a comment must start with "#" in column 1/],
  ['\tallow_anonymous true', /must not start with a tab/],
  ['allow_anonymous\ttrue', /"allow_anonymous" is followed by a tab/],
  ['auth_plugin /usr/lib/mosquitto_dynamic_security.so', /auth_plugin is not supported by mqx: mqx cannot load Mosquitto plugins/],
  ['plugin /usr/lib/mosquitto_dynamic_security.so', /plugin is not supported by mqx/],
  ['plugin_opt_config_file /etc/dynsec.json', /plugin_opt_config_file is not supported by mqx/],
  ['auth_opt_db_host localhost', /auth_opt_db_host is not supported by mqx/],
  ['auth_plugin_deny_special_chars false', /auth_plugin_deny_special_chars is not supported by mqx/],
  ['memory_limit 100000', /memory_limit is not supported by mqx/],
  ['psk_file /etc/psk', /psk_file is not supported by mqx: TLS-PSK/],
  ['psk_hint hint', /psk_hint is not supported by mqx/],
  ['http_dir /var/www', /http_dir is not supported by mqx/],
  ['tls_engine pkcs11', /tls_engine is not supported by mqx: OpenSSL engines/],
  ['tls_engine_kpass_sha1 abcdef', /tls_engine_kpass_sha1 is not supported by mqx/],
  ['tls_keyform engine', /tls_keyform engine is not supported by mqx/],
  ['connection upstream', /bridges are not supported yet \(connection upstream\)/],
  ['address 10.0.0.1:1883', /address is a bridge option and needs a "connection" line before it; bridges are not supported yet/],
  ['topic # both 0', /topic is a bridge option/],
  ['global_plugin /x.so', /unknown option "global_plugin"/],
];

for (const [line, message] of badGlobal) {
  test(`refuses "${line.replace(/\t/g, '\\t')}" with file:line and the reason`, () => {
    const errors = errorsOf(`listener 1883\n${line}\n`);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.ok(errors[0]!.startsWith('test.conf:2: '), errors[0]);
    assert.match(errors[0]!, message);
  });
}

/** Listener options, read back from the listener they follow. */
const goodListener: Array<[string, (l: ListenerConfig) => unknown, unknown]> = [
  ['protocol websockets', (l) => l.protocol, 'websockets'],
  ['protocol mqtt', (l) => l.protocol, 'mqtt'],
  ['bind_interface eth0', (l) => l.bind_interface, 'eth0'],
  ['socket_domain ipv4', (l) => l.socket_domain, 'ipv4'],
  ['socket_domain ipv6', (l) => l.socket_domain, 'ipv6'],
  ['max_connections 100', (l) => l.max_connections, 100],
  ['max_connections -5', (l) => l.max_connections, -1],
  ['max_qos 1', (l) => l.max_qos, 1],
  ['maximum_qos 0', (l) => l.max_qos, 0],
  ['max_topic_alias 0', (l) => l.max_topic_alias, 0],
  ['mount_point tenant/a/', (l) => l.mount_point, 'tenant/a/'],
  ['use_username_as_clientid true', (l) => l.use_username_as_clientid, true],
  ['tls_keyform pem', (l) => l.certfile, null],
];

for (const [line, read, expected] of goodListener) {
  test(`accepts listener option "${line}"`, () => {
    const result = load(`listener 8883 127.0.0.1\n${line}\n`);
    assert.deepEqual(result.errors.map(formatIssue), []);
    assert.equal(result.config.listeners.length, 1);
    assert.deepEqual(read(result.config.listeners[0]!), expected);
  });
}

test('accepts every TLS option on a listener', () => {
  const result = load([
    'listener 8883',
    'cafile /tls/ca.pem', 'capath /tls/ca.d', 'certfile /tls/server.pem', 'keyfile /tls/server.key',
    'ciphers ECDHE-RSA-AES128-GCM-SHA256', 'ciphers_tls1.3 TLS_AES_128_GCM_SHA256', 'crlfile /tls/crl.pem',
    'dhparamfile /tls/dh.pem', 'require_certificate true', 'tls_version tlsv1.2',
    'use_identity_as_username true', 'use_subject_as_username false', '',
  ].join('\n'));
  assert.deepEqual(result.errors.map(formatIssue), []);
  assert.deepEqual(result.warnings.map(formatIssue), []);
  const listener = result.config.listeners[0]!;
  assert.equal(listener.cafile, '/tls/ca.pem');
  assert.equal(listener.capath, '/tls/ca.d');
  assert.equal(listener.certfile, '/tls/server.pem');
  assert.equal(listener.keyfile, '/tls/server.key');
  assert.equal(listener.ciphers, 'ECDHE-RSA-AES128-GCM-SHA256');
  assert.equal(listener.ciphers_tls13, 'TLS_AES_128_GCM_SHA256');
  assert.equal(listener.crlfile, '/tls/crl.pem');
  assert.equal(listener.dhparamfile, '/tls/dh.pem');
  assert.equal(listener.require_certificate, true);
  assert.equal(listener.tls_version, 'tlsv1.2');
  assert.equal(listener.use_identity_as_username, true);
  assert.equal(listener.use_subject_as_username, false);
});

const badListener: Array<[string, RegExp]> = [
  ['protocol quic', /invalid protocol value "quic": expected one of mqtt, websockets/],
  ['protocol', /protocol needs a value/],
  ['socket_domain ipv5', /invalid socket_domain value "ipv5": expected one of ipv4, ipv6/],
  ['max_connections many', /invalid max_connections value "many": expected a number of connections \(-1 = unlimited\)/],
  ['max_qos 3', /invalid max_qos value 3: expected an integer from 0 to 2/],
  ['max_topic_alias 70000', /invalid max_topic_alias value 70000: expected an integer from 0 to 65535/],
  ['mount_point foo/#', /invalid mount_point "foo\/#": it must not contain a wildcard/],
  ['mount_point a/+/b', /invalid mount_point "a\/\+\/b"/],
  ['tls_version tlsv1.0', /invalid tls_version value "tlsv1.0": expected one of tlsv1.3, tlsv1.2, tlsv1.1/],
  ['require_certificate sometimes', /invalid require_certificate value "sometimes"/],
  ['cafile', /cafile needs a value/],
  ['use_identity_as_username 2', /invalid use_identity_as_username value "2"/],
];

for (const [line, message] of badListener) {
  test(`refuses listener option "${line}"`, () => {
    const errors = errorsOf(`listener 8883\n${line}\n`);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.ok(errors[0]!.startsWith('test.conf:2: '), errors[0]);
    assert.match(errors[0]!, message);
  });
}

test('a string option given twice is an error naming the first line, as in Mosquitto', () => {
  assert.deepEqual(errorsOf('listener 1883\npassword_file /a\npassword_file /b\n'), [
    'test.conf:3: duplicate password_file (already set at test.conf:2)',
  ]);
  assert.deepEqual(errorsOf('listener 1883\ncafile /a\ncafile /b\n'), [
    'test.conf:3: duplicate cafile for this listener (already set at test.conf:2)',
  ]);
  assert.deepEqual(errorsOf('log_dest file /a.log\nlog_dest file /b.log\n'), [
    'test.conf:2: duplicate "log_dest file" (already set at test.conf:1); only one log file is allowed',
  ]);
});

test('a boolean given twice keeps the last value', () => {
  const result = load('listener 1883\nretain_available false\nretain_available true\n');
  assert.deepEqual(result.errors, []);
  assert.equal(result.config.retain_available, true);
});

test('log_dest and log_type accumulate, "none" clears, "all" enables every type', () => {
  const result = load('listener 1883\nlog_dest stdout\nlog_dest file /tmp/x.log\nlog_dest stdout\nlog_type error\nlog_type all\n');
  assert.deepEqual(result.config.log_dest, ['stdout', 'file']);
  assert.deepEqual(result.config.log_type, ['debug', 'error', 'warning', 'notice', 'information', 'subscribe', 'unsubscribe', 'websockets', 'internal']);
  assert.deepEqual(load('listener 1883\nlog_dest stdout\nlog_dest none\nlog_dest topic\n').config.log_dest, ['topic']);
});

test('deprecated options load with a warning, never silently', () => {
  for (const [line, warning] of [
    ['allow_duplicate_messages true', /allow_duplicate_messages is deprecated/],
    ['clientid_prefixes x', /clientid_prefixes is deprecated/],
    ['retry_interval 20', /retry_interval is no longer available .* no effect/],
    ['port 1884', /port is deprecated/],
    ['bind_address 127.0.0.1', /bind_address is deprecated/],
  ] as const) {
    const result = load(`${line}\n`);
    assert.deepEqual(result.errors, [], line);
    assert.match(result.warnings.map(formatIssue).join('\n'), warning);
    assert.match(formatIssue(result.warnings[0]!), /^test\.conf:1: /);
  }
});

test('lines inside a refused bridge section are reported once, at the connection line', () => {
  const errors = errorsOf('listener 1883\nconnection cloud\naddress broker.example:8883\ntopic # out 1\nremote_username me\nallow_anonymous true\n');
  assert.deepEqual(errors, ['test.conf:2: bridges are not supported yet (connection cloud); remove the bridge section']);
});
