// -D property parsing: mosquitto's grouping, names, allowed packets and error texts (checked
// against mosquitto_pub 2.0.11), and the MQTT.js shapes the properties become.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PropertyError, hasProperties, parsePropertyTokens, toMqttProperties } from '../../src/client/properties.js';

const fails = (tokens: string[], message: string) => assert.throws(() => parsePropertyTokens(tokens), (error: unknown) => {
  assert.ok(error instanceof PropertyError);
  assert.equal(error.message, message);
  return true;
});

test('groups of 3 and 4 values are split by the property name, command names case-insensitive', () => {
  const set = parsePropertyTokens(['CONNECT', 'user-property', 'k', 'v', 'publish', 'content-type', 'text/plain', 'Will', 'will-delay-interval', '5']);
  assert.deepEqual(set.connect, [{ name: 'user-property', key: 'k', value: 'v' }]);
  assert.deepEqual(set.publish, [{ name: 'content-type', value: 'text/plain' }]);
  assert.deepEqual(set.will, [{ name: 'will-delay-interval', value: 5 }]);
  assert.ok(hasProperties(set));
});

test('too few values is mosquitto\'s "not enough arguments"', () => {
  const message = 'Error: --property argument given but not enough arguments specified.';
  fails(['connect'], message);
  fails(['connect', 'receive-maximum'], message);
  fails(['connect', 'user-property', 'key'], message);
});

test('unknown command or property name', () => {
  fails(['invalid', 'receive-maximum', '1'], 'Error: Invalid command given in --property argument.');
  fails(['connect', 'invalid', '1'], 'Error: Invalid property name given in --property argument.');
});

test('a property in a packet the spec does not allow it in', () => {
  fails(['connect', 'will-delay-interval', '1'], 'Error: will-delay-interval property not allowed for connect in --property argument.');
  fails(['connect', 'content-type', 'x'], 'Error: content-type property not allowed for connect in --property argument.');
  fails(['connect', 'assigned-client-identifier', 'x'], 'Error: assigned-client-identifier property not allowed for connect in --property argument.');
});

test('packets a client cannot set properties on', () => {
  fails(['publish', 'subscription-identifier', '1'], 'Error: subscription-identifier property not supported for publish in --property argument.');
  fails(['pubrel', 'user-property', 'a', 'b'], 'Error: user-property property not supported for pubrel in --property argument.');
  fails(['auth', 'authentication-method', 'x'], 'Error: authentication-method property not supported for auth in --property argument.');
});

test('numbers are read like atoi and range-checked by type', () => {
  fails(['publish', 'message-expiry-interval', '-5'], 'Error: Property value (-5) out of range for property message-expiry-interval.');
  fails(['connect', 'receive-maximum', '70000'], 'Error: Property value (70000) out of range for property receive-maximum.');
  fails(['publish', 'payload-format-indicator', '300'], 'Error: Property value (300) out of range for property payload-format-indicator.');
  assert.deepEqual(parsePropertyTokens(['publish', 'message-expiry-interval', '12abc']).publish, [{ name: 'message-expiry-interval', value: 12 }]);
  assert.deepEqual(parsePropertyTokens(['connect', 'session-expiry-interval', 'abc']).connect, [{ name: 'session-expiry-interval', value: 0 }]);
});

test('values the spec forbids and duplicates fail the packet check', () => {
  const protocol = 'A network protocol error occurred when communicating with the broker.';
  fails(['connect', 'receive-maximum', '0'], `Error in CONNECT properties: ${protocol}`);
  fails(['publish', 'topic-alias', '0'], `Error in PUBLISH properties: ${protocol}`);
  fails(['connect', 'request-problem-information', '2'], `Error in CONNECT properties: ${protocol}`);
  fails(['publish', 'content-type', 'a', 'publish', 'content-type', 'b'], 'Error in PUBLISH properties: Duplicate property in property list');
  fails(['will', 'content-type', 'a', 'will', 'content-type', 'b'], 'Error in Will properties: Duplicate property in property list');
  // user-property may repeat, also with the same key
  const set = parsePropertyTokens(['connect', 'user-property', 'a', 'b', 'connect', 'user-property', 'a', 'c']);
  assert.equal(set.connect.length, 2);
});

test('toMqttProperties builds mqtt-packet shapes', () => {
  const set = parsePropertyTokens([
    'publish', 'user-property', 'a', '1', 'publish', 'user-property', 'a', '2', 'publish', 'user-property', 'b', '3',
    'publish', 'correlation-data', 'xyz', 'publish', 'payload-format-indicator', '1', 'publish', 'message-expiry-interval', '60',
  ]);
  assert.deepEqual(toMqttProperties(set.publish), {
    userProperties: { a: ['1', '2'], b: '3' },
    correlationData: Buffer.from('xyz'),
    payloadFormatIndicator: true,
    messageExpiryInterval: 60,
  });
  assert.equal(toMqttProperties([]), undefined);
});
