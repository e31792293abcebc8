// From a resolved mosquitto.conf to the broker's BrokerOptions: listeners and limits map
// across, and every configured setting the broker cannot apply yet is reported with file:line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, resolveConfig, toBrokerOptions, formatIssue } from '../../src/config/index.js';
import { resolveOptions } from '../../src/broker/options.js';

function map(text: string, ports?: number[]) {
  const result = resolveConfig(parseConfigText(text, 'test.conf'), { ports });
  assert.deepEqual(result.errors.map(formatIssue), []);
  return toBrokerOptions(result.config);
}

test('local only mode maps to the two loopback listeners', () => {
  const { options, issues } = map('');
  assert.deepEqual(issues, []);
  assert.deepEqual(options.listeners, [{ port: 1883, host: '127.0.0.1' }, { port: 1883, host: '::1' }]);
  assert.deepEqual(map('', [1884]).options.listeners, [{ port: 1884, host: '127.0.0.1' }, { port: 1884, host: '::1' }]);
});

test('listeners and limits map one to one, and the broker accepts the result', () => {
  const { options, issues } = map([
    'listener 1883', 'max_qos 1', 'listener 1884 127.0.0.1', 'max_qos 1', 'listener 1885', 'max_qos 1',
    'max_inflight_messages 5', 'max_queued_messages 7', 'max_queued_bytes 900', 'queue_qos0_messages true',
    'message_size_limit 1000', 'max_packet_size 2000', 'max_keepalive 30', 'retain_available false',
    'sys_interval 0', 'upgrade_outgoing_qos true', 'persistent_client_expiration 1h', 'outgoing_topic_aliases true',
    'allow_zero_length_clientid false', 'auto_id_prefix x-', 'auth_fail_limit 3', 'auth_fail_window 30', 'auth_fail_ban 2', '',
  ].join('\n'));
  assert.deepEqual(issues.map(formatIssue), []);
  assert.deepEqual(options.listeners, [{ port: 1883 }, { port: 1884, host: '127.0.0.1' }, { port: 1885 }]);
  const resolved = resolveOptions(options);
  assert.equal(resolved.max_qos, 1);
  assert.equal(resolved.max_inflight_messages, 5);
  assert.equal(resolved.max_queued_messages, 7);
  assert.equal(resolved.max_queued_bytes, 900);
  assert.equal(resolved.queue_qos0_messages, true);
  assert.equal(resolved.message_size_limit, 1000);
  assert.equal(resolved.max_packet_size, 2000);
  assert.equal(resolved.max_keepalive, 30);
  assert.equal(resolved.retain_available, false);
  assert.equal(resolved.sys_interval, 0);
  assert.equal(resolved.upgrade_outgoing_qos, true);
  assert.equal(resolved.persistent_client_expiration, 3600);
  assert.equal(resolved.outgoing_topic_aliases, true);
  assert.equal(resolved.allow_zero_length_clientid, false);
  assert.equal(resolved.auto_id_prefix, 'x-');
  assert.deepEqual([resolved.auth_fail_limit, resolved.auth_fail_window, resolved.auth_fail_ban], [3, 30, 2]);
});

test('check_retain_source maps to the broker (default true; false is applied, not refused)', () => {
  assert.equal(resolveOptions(map('listener 1883\n').options).check_retain_source, true);
  const off = map('listener 1883\ncheck_retain_source false\n');
  assert.deepEqual(off.issues, []);
  assert.equal(off.options.check_retain_source, false);
});

test('clientid_prefixes maps to the broker; none means any client id', () => {
  assert.equal(resolveOptions(map('listener 1883\n').options).clientid_prefixes, '');
  const set = map('listener 1883\nclientid_prefixes plant-\n');
  assert.deepEqual(set.issues, []);
  assert.equal(set.options.clientid_prefixes, 'plant-');
});

test('max_inflight_bytes maps to the broker (0 = no limit)', () => {
  assert.equal(resolveOptions(map('listener 1883\n').options).max_inflight_bytes, 0);
  const set = map('listener 1883\nmax_inflight_bytes 100\n');
  assert.deepEqual(set.issues, []);
  assert.equal(resolveOptions(set.options).max_inflight_bytes, 100);
});

test("Debian's configuration maps with nothing left over", () => {
  const text = 'pid_file /run/mosquitto/mosquitto.pid\npersistence true\npersistence_location /var/lib/mosquitto/\nlog_dest file /var/log/mosquitto/mosquitto.log\n';
  assert.deepEqual(map(text).issues, []);
});

test('what the broker cannot apply yet is reported at its line, never dropped', () => {
  const cases: Array<[string, string]> = [
    ['listener 0 /tmp/mqx.sock\nprotocol websockets\n', 'test.conf:2: websockets on a unix socket listener is not supported; use protocol mqtt'],
    ['listener 1883\nlistener 1884\nmax_qos 1\n', 'test.conf:3: different max_qos values on different listeners are not supported by the broker yet; use one value for all listeners'],
    ['per_listener_settings true\nlistener 1883\nauto_id_prefix a-\nlistener 1884\n', 'test.conf:3: a per-listener auto_id_prefix is not supported by the broker yet; set it once for all listeners'],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(map(text).issues.map(formatIssue).slice(0, 1), [expected], text);
  }
  // Every mqx listener already disables Nagle's algorithm: set_tcp_nodelay true is what it does.
  assert.deepEqual(map('listener 1883\nset_tcp_nodelay true\n').issues, []);
  // max_connections is per listener, as in Mosquitto.
  const limited = map('listener 1883\nmax_connections 5\nlistener 1884\n');
  assert.deepEqual(limited.issues, []);
  assert.deepEqual(limited.options.listeners?.map((listener) => listener.max_connections), [5, undefined]);
});

test('mount_point reaches its own listener only', () => {
  const { options, issues } = map('listener 1883\nlistener 1884\nmount_point tenant/a/\n');
  assert.deepEqual(issues, []);
  assert.deepEqual(options.listeners?.map((listener) => listener.mount_point), [undefined, 'tenant/a/']);
});

test('listeners map to their transports: unix path, websockets, TLS (certificates read by the CLI)', () => {
  const { options, issues } = map('listener 0 /tmp/mqx.sock\nlistener 9001 127.0.0.1\nprotocol websockets\nlistener 8883\ncertfile /c\nkeyfile /k\n');
  assert.deepEqual(issues, []);
  assert.deepEqual(options.listeners, [
    { port: 0, path: '/tmp/mqx.sock' },
    { port: 9001, host: '127.0.0.1', protocol: 'websockets' },
    { port: 8883 },
  ]);
  const domains = map('listener 1883\nsocket_domain ipv4\nlistener 1884\nsocket_domain ipv6\n');
  assert.deepEqual(domains.issues, []);
  assert.deepEqual(domains.options.listeners, [{ port: 1883, host: '0.0.0.0' }, { port: 1884, host: '::', ipv6Only: true }]);
});

test('bind_interface binds the addresses of the interface (of the socket_domain family); unknown interfaces are errors', () => {
  const resolved = (text: string) => resolveConfig(parseConfigText(text, 'test.conf')).config;
  const interfaceAddresses = (name: string) => (name === 'eth0'
    ? [{ address: '192.0.2.5', family: 'IPv4' as const }, { address: 'fe80::1', family: 'IPv6' as const, scopeid: 2 }]
    : null);
  const both = toBrokerOptions(resolved('listener 1883\nbind_interface eth0\nmax_connections 3\nlistener 1884\n'), { interfaceAddresses });
  assert.deepEqual(both.issues, []);
  assert.deepEqual(both.options.listeners, [
    { port: 1883, host: '192.0.2.5', max_connections: 3 },
    { port: 1883, host: 'fe80::1%eth0', max_connections: 3, ipv6Only: true },
    { port: 1884 },
  ]);
  assert.deepEqual(both.listenerSources, [0, 0, 1]);
  const v4 = toBrokerOptions(resolved('listener 1883\nbind_interface eth0\nsocket_domain ipv4\n'), { interfaceAddresses });
  assert.deepEqual(v4.options.listeners, [{ port: 1883, host: '192.0.2.5' }]);
  const unknown = toBrokerOptions(resolved('listener 1883\nbind_interface wlan9\n'), { interfaceAddresses });
  assert.deepEqual(unknown.issues.map(formatIssue), ['test.conf:2: no network interface named wlan9']);
  // Without the machine's interfaces (a library caller), it is reported rather than bound everywhere.
  assert.equal(toBrokerOptions(resolved('listener 1883\nbind_interface eth0\n')).issues.length, 1);
});
