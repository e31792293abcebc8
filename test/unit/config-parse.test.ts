// mosquitto.conf syntax and structure: comments, line endings, listeners and their scope,
// per_listener_settings, include_dir order, and collecting every error with file:line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseConfig, parseConfigText, resolveConfig, formatIssue, includeOrder, type ConfigSource,
} from '../../src/config/index.js';

function load(text: string) {
  return resolveConfig(parseConfigText(text, 'test.conf'));
}

/** An in-memory filesystem: path -> text, directory -> entry names. */
function memory(files: Record<string, string>, dirs: Record<string, string[]> = {}): ConfigSource {
  return {
    readFile: (path) => (path in files ? { text: files[path]! } : { error: 'no such file or directory' }),
    listDir: (path) => (path in dirs ? { names: dirs[path]! } : { error: 'no such file or directory' }),
  };
}

test('comments in column 1, blank lines, CRLF endings and space-only lines are skipped', () => {
  const result = load('# comment\r\n\r\n\n   \nlistener 1883\r\n#allow_anonymous false\nallow_anonymous true\r\n');
  assert.deepEqual(result.errors, []);
  assert.equal(result.config.security.allow_anonymous, true);
  assert.equal(result.config.listeners.length, 1);
});

test('every error in a file is reported, in line order, not just the first', () => {
  const errors = load('listener 1883\nmax_qos 7\nfoo bar\nallow_anonymous maybe\nlistener 99999\nsys_interval x\n').errors.map(formatIssue);
  assert.deepEqual(errors.map((e) => e.split(': ')[0]), ['test.conf:2', 'test.conf:3', 'test.conf:4', 'test.conf:5', 'test.conf:6']);
});

test('listener forms: port, port + address, unix socket, trailing comment', () => {
  const result = load('listener 1883\nlistener 8883 127.0.0.1\nlistener 0 /run/mqx.sock\nlistener 9001 # websockets\nprotocol websockets\n');
  assert.deepEqual(result.errors, []);
  const summary = result.config.listeners.map((l) => [l.port, l.bind_address, l.unix_socket_path, l.protocol]);
  assert.deepEqual(summary, [
    [1883, null, null, 'mqtt'],
    [8883, '127.0.0.1', null, 'mqtt'],
    [0, null, '/run/mqx.sock', 'mqtt'],
    [9001, null, null, 'websockets'],
  ]);
  assert.deepEqual(result.config.listeners[1]!.origin, { file: 'test.conf', line: 2 });
});

test('bad listener lines say what a listener line looks like', () => {
  const errors = (text: string) => load(text).errors.map(formatIssue);
  assert.match(errors('listener\n')[0]!, /^test\.conf:1: listener needs a port: listener PORT \[BIND_ADDRESS\], or listener 0 \/path\/to\/unix\.sock$/);
  assert.match(errors('listener 0\n')[0]!, /^test\.conf:1: a listener with port 0 must give a unix socket path/);
  assert.match(errors('listener 70000\n')[0]!, /^test\.conf:1: invalid listener port value 70000: expected a port from 1 to 65535, or 0 with a unix socket path/);
  assert.match(errors('listener abc\n')[0]!, /invalid listener port value "abc"/);
  assert.match(errors('listener 1883 0.0.0.0 extra\n')[0]!, /unexpected "extra" after the listener address/);
  assert.match(errors('listener 1883\nlistener 1883\n')[0]!, /^test\.conf:2: listener 1883 is already defined at test\.conf:1$/);
});

test('listener options apply to the listener above them only', () => {
  const result = load('listener 1883\nmax_connections 5\nlistener 8883\nmount_point b/\nmax_qos 1\n');
  const [first, second] = result.config.listeners;
  assert.equal(first!.max_connections, 5);
  assert.equal(first!.mount_point, null);
  assert.equal(first!.max_qos, 2);
  assert.equal(second!.max_connections, -1);
  assert.equal(second!.mount_point, 'b/');
  assert.equal(second!.max_qos, 1);
});

test('mount_point before any listener is refused, as in Mosquitto', () => {
  assert.deepEqual(load('mount_point a/\n').errors.map(formatIssue), ['test.conf:1: mount_point needs a listener: put it after a "listener" line']);
});

test('security options are global without per_listener_settings, wherever they appear', () => {
  const result = load('listener 1883\nlistener 1884\npassword_file /p\nallow_anonymous true\n');
  for (const listener of result.config.listeners) {
    assert.equal(listener.security.password_file, '/p');
    assert.equal(listener.security.allow_anonymous, true);
  }
  assert.equal(result.config.security.password_file, '/p');
});

test('per_listener_settings true scopes security options to each listener', () => {
  const result = load([
    'per_listener_settings true',
    'listener 1883', 'allow_anonymous true',
    'listener 8883', 'password_file /p', 'acl_file /a', 'auto_id_prefix tls-', 'allow_zero_length_clientid false', '',
  ].join('\n'));
  assert.deepEqual(result.errors, []);
  const [open, secure] = result.config.listeners;
  assert.deepEqual(open!.security, { allow_anonymous: true, password_file: null, acl_file: null, allow_zero_length_clientid: true, auto_id_prefix: 'auto-' });
  assert.deepEqual(secure!.security, { allow_anonymous: false, password_file: '/p', acl_file: '/a', allow_zero_length_clientid: false, auto_id_prefix: 'tls-' });
  // The same password file on two listeners is allowed: each listener has its own.
  assert.deepEqual(load('per_listener_settings true\nlistener 1\npassword_file /p\nlistener 2\npassword_file /p\n').errors, []);
});

test('per_listener_settings after a security option is an error naming that option\'s line', () => {
  for (const first of ['allow_anonymous true', 'password_file /p', 'acl_file /a', 'auto_id_prefix x', 'check_retain_source true']) {
    assert.deepEqual(load(`${first}\nper_listener_settings true\n`).errors.map(formatIssue), [
      'test.conf:2: per_listener_settings must be set before any other security setting (one is set at test.conf:1)',
    ], first);
  }
  // Once true it stays true: a later "false" is ignored, as conf.c does.
  assert.equal(load('per_listener_settings true\nper_listener_settings false\nlistener 1\n').config.per_listener_settings, true);
});

test('per_listener_settings: a security option before any listener applies to no listener, with a warning', () => {
  const result = load('per_listener_settings true\nallow_anonymous true\nlistener 1883\n');
  assert.deepEqual(result.errors, []);
  assert.equal(result.config.listeners.length, 1);
  assert.equal(result.config.listeners[0]!.security.allow_anonymous, false);
  assert.match(formatIssue(result.warnings[0]!), /^test\.conf:2: allow_anonymous comes before any "listener" line .* no effect/);
});

test('include_dir loads *.conf files in Mosquitto order, at the include_dir line', () => {
  const source = memory({
    'main.conf': 'listener 1883\ninclude_dir conf.d\nmax_qos 1\n',
    'conf.d/b.conf': 'sys_interval 2\n',
    'conf.d/A.conf': 'sys_interval 1\n',
    'conf.d/a.conf': 'listener 1884\n',
    'conf.d/00.conf': 'pid_file /run/x.pid\n',
  }, { 'conf.d': ['b.conf', 'README', 'A.conf', 'x.conf.bak', '.conf', 'a.conf', '00.conf'] });
  const result = resolveConfig(parseConfig('main.conf', source));
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.config.files, ['main.conf', 'conf.d/00.conf', 'conf.d/A.conf', 'conf.d/a.conf', 'conf.d/b.conf']);
  assert.equal(result.config.sys_interval, 2);
  // Back in the main file, options go to the main file's current listener again.
  assert.equal(result.config.listeners[0]!.max_qos, 1);
  assert.equal(result.config.listeners[1]!.max_qos, 2);
});

test('include order matches the mosquitto.conf(5) example exactly', () => {
  assert.deepEqual(includeOrder(['b.conf', 'A.conf', '01.conf', 'a.conf', 'B.conf', '00.conf']),
    ['00.conf', '01.conf', 'A.conf', 'a.conf', 'B.conf', 'b.conf']);
  assert.deepEqual(includeOrder(['ab.conf', 'a_b.conf', 'aB.conf']), ['aB.conf', 'ab.conf', 'a_b.conf']);
});

test('errors inside included files carry the included file name and line', () => {
  const source = memory({ 'main.conf': 'include_dir d\nlistener 1\n', 'd/x.conf': '\nmax_qos 9\n' }, { d: ['x.conf'] });
  assert.deepEqual(parseConfig('main.conf', source).errors.map(formatIssue), [
    'd/x.conf:2: invalid max_qos value 9: expected an integer from 0 to 2',
  ]);
});

test('include_dir is ignored, with a warning, inside an included file', () => {
  const source = memory({ 'main.conf': 'include_dir d\n', 'd/x.conf': 'include_dir e\n' }, { d: ['x.conf'], e: [] });
  const result = parseConfig('main.conf', source);
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.warnings.map(formatIssue), ['d/x.conf:1: include_dir is only read from the main configuration file (as in Mosquitto); ignored here']);
});

test('unreadable files and directories are named', () => {
  assert.deepEqual(parseConfig('missing.conf', memory({})).errors.map(formatIssue), [
    'missing.conf: cannot read configuration file: no such file or directory',
  ]);
  assert.deepEqual(parseConfig('m.conf', memory({ 'm.conf': 'include_dir /nope\n' })).errors.map(formatIssue), [
    'm.conf:1: cannot open include_dir "/nope": no such file or directory',
  ]);
  const broken = memory({ 'm.conf': 'include_dir d\n' }, { d: ['x.conf'] });
  assert.deepEqual(parseConfig('m.conf', broken).errors.map(formatIssue), ['d/x.conf: cannot read configuration file: no such file or directory']);
});

test('a listener-scoped option in an included file without its own listener goes to the default listener, as in conf.c', () => {
  const source = memory({ 'main.conf': 'listener 1883\ninclude_dir d\n', 'd/x.conf': 'max_connections 10\n' }, { d: ['x.conf'] });
  const result = resolveConfig(parseConfig('main.conf', source));
  // Mosquitto would open a second listener on 1883 and fail to bind: mqx says why up front.
  assert.deepEqual(result.errors.map(formatIssue), [
    'd/x.conf:1: this creates Mosquitto\'s default listener on port 1883, which clashes with the listener at main.conf:1; move the option after a "listener" line',
  ]);
});

test('malformed UTF-8 in a string value is refused', () => {
  assert.match(load('listener 1\npassword_file /etc/\uFFFD\n').errors.map(formatIssue)[0]!, /^test\.conf:2: password_file value is not valid UTF-8/);
});

test('a byte order mark is reported rather than read as part of the first option name', () => {
  assert.deepEqual(load('\uFEFFlistener 1883\n').errors.map(formatIssue), [
    'test.conf:1: the file starts with a UTF-8 byte order mark, which Mosquitto reads as part of the option name; save it without one',
  ]);
});
