// The parser against the real thing: Debian's mosquitto 2.0 reads the same files, and must
// accept what mqx accepts and stop at the same line where mqx reports its first error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/config/index.js';
import { havePeers, peerPath } from '../helpers/peers.js';
import { run } from '../helpers/process.js';

/**
 * Mosquitto stops at its first bad line ("Error found at FILE:LINE") before doing anything
 * else. A good file goes on to write its pid file: the appended pid_file points into a
 * directory that does not exist, so an accepted config exits right there without binding.
 */
async function mosquittoVerdict(binary: string, path: string): Promise<number | 'accepted'> {
  const result = await run(binary, ['-c', path], { timeoutMs: 10000 });
  const found = /Error found at .*:(\d+)\./.exec(result.stderr);
  if (found) return Number(found[1]);
  assert.match(result.stderr, /Unable to write pid file/, `mosquitto neither accepted nor refused ${path}: ${result.stderr}`);
  return 'accepted';
}

function mqxVerdict(path: string): number | 'accepted' {
  const result = loadConfigFile(path);
  return result.errors.length === 0 ? 'accepted' : result.errors[0]!.line;
}

/** Configs on which mqx and mosquitto 2.0 agree. */
const agree: string[] = [
  '',
  '# only a comment\n\n',
  'listener 1883\nallow_anonymous true\n',
  'listener 1883\r\nallow_anonymous 1\r\n',
  'allow_anonymous 0\nlistener 1883 127.0.0.1\n',
  'listener 0 /tmp/mqx-parity.sock\n',
  'listener 1883\nmax_qos 1\nmaximum_qos 0\nmax_topic_alias 0\nprotocol websockets\nsocket_domain ipv4\n',
  'per_listener_settings true\nlistener 1883\nallow_anonymous true\npassword_file /p\nlistener 1884\nacl_file /a\n',
  'max_keepalive 10\nmax_packet_size 20\nmessage_size_limit 268435455\nsys_interval 65535\n',
  'persistent_client_expiration 14d\npersistence true\npersistence_location /var/lib/mosquitto/\n',
  'log_dest stdout\nlog_dest stderr\nlog_type all\nlog_timestamp_format %Y-%m-%dT%H:%M:%S\n',
  'retry_interval 20\nallow_duplicate_messages false\n',
  'port 1884\nbind_address 127.0.0.1\n',
  'listener 1883\nallow_anonymous true # trailing comment\n',
  'listener 1883 # a comment, not an address\n',
  // Refused by both, at the same line.
  'listener 1883\nallow_anonymous True\n',
  'listener 1883\nallow_anonymous\n',
  '  # indented comment\n',
  '\tallow_anonymous true\n',
  'allow_anonymous\ttrue\n',
  'frobnicate 1\n',
  '\uFEFFlistener 1883\n',
  'listener 1883\nmax_keepalive 9\n',
  'listener 1883\nmax_packet_size 0\n',
  'listener 1883\nmax_inflight_messages 65536\n',
  'listener 1883\nmessage_size_limit 268435456\n',
  'listener 1883\nsys_interval -1\n',
  'listener 1883\nmax_qos 3\n',
  'listener 1883\nmax_topic_alias 70000\n',
  'listener 1883\nprotocol quic\n',
  'listener 1883\nsocket_domain ipv5\n',
  'listener 0\n',
  'listener 70000\n',
  'listener\n',
  'mount_point a/\n',
  'listener 1883\nmount_point a/#\n',
  'listener 1883\npassword_file /a\npassword_file /b\n',
  'listener 1883\ncafile /a\ncafile /b\n',
  'allow_anonymous true\nper_listener_settings true\n',
  'check_retain_source true\nper_listener_settings true\n',
  'persistent_client_expiration 14\n',
  'persistent_client_expiration 0d\n',
  'log_dest foo\n',
  'log_dest file /tmp/a.log\nlog_dest file /tmp/b.log\n',
  'log_type foo\n',
  'log_facility 8\n',
  'pid_file\n',
  'auth_opt_x y\n',
  'address 127.0.0.1\n',
  'topic # both\n',
  'include_dir /nonexistent-mqx-parity\n',
];

/** Where mqx is deliberately stricter than mosquitto's atoi()/ignored-token parsing, or refuses a feature. */
const mqxStricter: string[] = [
  'listener 1883\nmax_inflight_messages abc\n',
  'listener 1883\nallow_anonymous true false\n',
  'listener 1883\nmax_connections many\n',
  'listener 1883\ntls_version tlsv1.0\n',
  'listener 1883\nmemory_limit 100000000\n',
  'listener 1883\nconnection cloud\naddress 127.0.0.1\ntopic # both\n',
  'listener 1883\nlog_dest dlt\n',
  'listener 1883\nhttp_dir /tmp\n',
];

test('mosquitto 2.0 and mqx accept and refuse the same configurations, at the same line', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mqx-parity-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pidLine = 'pid_file /nonexistent-mqx-parity-dir/mosquitto.pid\n';
  const check = async (text: string, index: number, stricter: boolean) => {
    const path = join(dir, `case${index}.conf`);
    writeFileSync(path, text + pidLine);
    const mosquitto = await mosquittoVerdict(peerPath('mosquitto')!, path);
    const mqx = mqxVerdict(path);
    if (stricter) {
      assert.equal(mosquitto, 'accepted', `mosquitto accepts ${JSON.stringify(text)}`);
      assert.notEqual(mqx, 'accepted', `mqx refuses ${JSON.stringify(text)}`);
    } else {
      assert.equal(mqx, mosquitto, `verdict on ${JSON.stringify(text)} (a number is the first bad line)`);
    }
  };
  let index = 0;
  for (const text of agree) await check(text, index++, false);
  for (const text of mqxStricter) await check(text, index++, true);
});
