// The shared connection flags parsed through yargs as main.ts configures it, then validated:
// mosquitto's defaults, string flags kept as strings, and mosquitto's error texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import yargs from 'yargs';
import { connectionOptionsFromArgv, parseUrl, withConnectionOptions } from '../../src/cli/options.js';
import { UsageError } from '../../src/cli/errors.js';

function parse(args: string[], kind: 'pub' | 'sub' = 'pub') {
  const argv = withConnectionOptions(yargs(args))
    .parserConfiguration({ 'short-option-groups': false, 'camel-case-expansion': true, 'duplicate-arguments-array': true })
    .strict()
    .exitProcess(false)
    .fail((message, error) => { throw error ?? new UsageError(message); })
    .parseSync();
  return connectionOptionsFromArgv(argv as Record<string, unknown>, kind, 4242);
}

function rejects(args: string[], message: string, kind: 'pub' | 'sub' = 'pub') {
  assert.throws(() => parse(args, kind), (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.message, message);
    return true;
  });
}

test('defaults are mosquitto_pub\'s: localhost:1883, MQTT 3.1.1, keepalive 60, empty client id, clean', () => {
  const options = parse([]);
  assert.equal(options.host, 'localhost');
  assert.equal(options.port, 1883);
  assert.equal(options.transport, 'mqtt');
  assert.equal(options.protocolVersion, 4);
  assert.equal(options.keepalive, 60);
  assert.equal(options.clientId, '');
  assert.equal(options.cleanSession, true);
  assert.equal(options.qos, 0);
  assert.equal(options.tls, undefined);
});

test('-h is the host (never help); -i and -P stay strings; the last repeat wins', () => {
  const options = parse(['-h', 'broker', '-p', '1884', '-i', '007', '-u', '123', '-P', '0456', '-q', '1', '-q', '2']);
  assert.equal(options.host, 'broker');
  assert.equal(options.port, 1884);
  assert.equal(options.clientId, '007');
  assert.equal(options.username, '123');
  assert.equal(options.password, '0456');
  assert.equal(options.qos, 2);
});

test('-V accepts mosquitto\'s spellings; -D implies MQTT 5', () => {
  assert.equal(parse(['-V', 'mqttv31']).protocolVersion, 3);
  assert.equal(parse(['-V', '311']).protocolVersion, 4);
  assert.equal(parse(['--protocol-version', 'mqttv5']).protocolVersion, 5);
  const options = parse(['-D', 'connect', 'user-property', 'k', 'v', '--property', 'publish', 'content-type', 'text/plain']);
  assert.equal(options.protocolVersion, 5);
  assert.deepEqual(options.properties.connect, [{ name: 'user-property', key: 'k', value: 'v' }]);
  assert.deepEqual(options.properties.publish, [{ name: 'content-type', value: 'text/plain' }]);
  rejects(['-V', '6'], 'Error: Invalid protocol version argument given.');
});

test('-I prefixes the process id; -i with -I is refused', () => {
  assert.equal(parse(['-I', 'pre-']).clientId, 'pre-4242');
  rejects(['-i', 'a', '-I', 'b'], 'Error: -i and -I argument cannot be used together.');
});

test('bad numbers are refused with mosquitto\'s messages', () => {
  rejects(['-q', '3'], 'Error: Invalid QoS given: 3');
  rejects(['-k', '2'], 'Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.');
  rejects(['-p', '70000'], 'Error: Invalid port given: 70000');
  rejects(['-x', 'abc', '-V', '5'], 'Error: session-expiry-interval not a number.');
  rejects(['-x', '4294967296'], 'Error: session-expiry-interval out of range.');
  rejects(['--will-qos', '3', '--will-topic', 'w'], 'Error: Invalid will QoS 3.');
});

test('sessions: -c needs a client id; MQTT 5 -c means never expire', () => {
  rejects(['-c'], 'Error: You must provide a client id if you are using the -c option.');
  rejects(['-c', '-V', '5'], 'Error: You must provide a client id if you are using an infinite session expiry interval.');
  const v5 = parse(['-c', '-V', '5', '-i', 'me']);
  assert.equal(v5.cleanSession, false);
  assert.equal(v5.sessionExpiryInterval, 4294967295);
  assert.equal(parse(['-V', '5', '-x', '30']).sessionExpiryInterval, 30);
  assert.equal(parse(['-V', '5', '-x', '-1', '-i', 'me']).sessionExpiryInterval, 4294967295);
  assert.equal(parse(['-x', '30']).sessionExpiryInterval, undefined, 'no property in 3.1.1');
});

test('will flags need --will-topic, which may not hold wildcards', () => {
  rejects(['--will-payload', 'x'], 'Error: Will payload given, but no will topic given.');
  rejects(['--will-retain'], 'Error: Will retain given, but no will topic given.');
  rejects(['--will-topic', 'a/#'], "Error: Invalid will topic 'a/#', does it contain '+' or '#'?");
  const options = parse(['--will-topic', 'w', '--will-payload', 'bye', '--will-qos', '1', '--will-retain']);
  assert.deepEqual(options.will, { topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: true });
});

test('-L gives host, port, credentials, transport and topic', () => {
  const options = parse(['-L', 'mqtt://user:secret@example.org:1999/a/b']);
  assert.equal(options.host, 'example.org');
  assert.equal(options.port, 1999);
  assert.equal(options.username, 'user');
  assert.equal(options.password, 'secret');
  assert.equal(options.urlTopic, 'a/b');
  const secure = parse(['-L', 'mqtts://h/t']);
  assert.equal(secure.transport, 'mqtts');
  assert.equal(secure.port, 8883);
  assert.equal(secure.tls?.useOsCerts, true);
  assert.equal(parse(['-L', 'ws://h:9001/t']).transport, 'ws');
  assert.deepEqual(parseUrl('MQTT://h/t').host, 'h');
  rejects(['-L', 'http://x/y'], 'Error: unsupported URL scheme.');
  rejects(['-L', 'mqtt://localhost'], 'Error: Invalid URL for -L argument specified - topic missing.');
  rejects(['-L', 'mqtt://h/a/+'], "Error: Invalid publish topic 'a/+', does it contain '+' or '#'?");
  assert.equal(parse(['-L', 'mqtt://h/a/+'], 'sub').urlTopic, 'a/+');
  rejects(['-L', 'mqtt://h/a#'], "Error: Invalid subscription topic 'a#', are all '+' and '#' wildcards correct?", 'sub');
});

test('TLS turns on with a CA file and moves the default port to 8883', () => {
  const options = parse(['--cafile', 'ca.crt', '--insecure', '--tls-version', 'tlsv1.3']);
  assert.equal(options.transport, 'mqtts');
  assert.equal(options.port, 8883);
  assert.deepEqual({ caFile: options.tls?.caFile, insecure: options.tls?.insecure, version: options.tls?.version }, { caFile: 'ca.crt', insecure: true, version: 'tlsv1.3' });
  assert.equal(parse(['-p', '8883']).transport, 'mqtts', 'mosquitto uses the OS CAs on port 8883');
  rejects(['--cert', 'c.pem'], 'Error: Both certfile and keyfile must be provided if one of them is set.');
  rejects(['--cafile', 'ca', '--tls-version', 'tlsv9'], 'Error: Problem setting TLS options, check the options are valid.');
});

test('unsupported mosquitto flags are named; unknown flags fail in strict mode', () => {
  rejects(['--psk', 'aa'], 'Error: --psk is not supported by mqx.');
  rejects(['--proxy', 'socks5h://x'], 'Error: --proxy is not supported by mqx.');
  rejects(['-S'], 'Error: -S is not supported by mqx.');
  assert.throws(() => parse(['--frobnicate']), /frobnicate/);
});

test('a password without a user name is refused in MQTT 3.1.1 only', () => {
  rejects(['-P', 'p'], 'Error: Problem setting username and/or password.');
  assert.equal(parse(['-P', 'p', '-V', '5']).password, 'p');
});

test('--unix uses a socket path', () => {
  const options = parse(['--unix', '/run/mosquitto.sock']);
  assert.equal(options.transport, 'unix');
  assert.equal(options.unixPath, '/run/mosquitto.sock');
});

test('MQTT 3.1 without -i sends a generated mosq- id, as libmosquitto', () => {
  assert.match(parse(['-V', '31']).clientId, /^mosq-[A-Za-z0-9]{18}$/);
  assert.equal(parse(['-V', '31', '-i', 'me']).clientId, 'me');
});

test('default-options file: mosquitto\'s line format and location under mqx\'s name', async () => {
  const { defaultOptionsPath, defaultOptionsTokens } = await import('../../src/cli/options.js');
  assert.deepEqual(defaultOptionsTokens('# comment\n-h broker.local\r\n\n-q 1\n--retain\n-m hello world\n'),
    ['-h', 'broker.local', '-q', '1', '--retain', '-m', 'hello world']);
  assert.equal(defaultOptionsPath('mqx_pub', { XDG_CONFIG_HOME: '/x', HOME: '/home/u' }), '/x/mqx_pub');
  assert.equal(defaultOptionsPath('mqx_sub', { HOME: '/home/u' }), '/home/u/.config/mqx_sub');
});
