// disconnect-log.ts: the lines for each way a client is closed or goes away, as Mosquitto 2.0.11
// words and types them (checked against the real binary by e2e/broker-disconnect-log-differential).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MqttError, ReasonCode } from '../../src/codec/index.js';
import { disconnectLines, streamEndLine, streamErrorLine } from '../../src/broker/disconnect-log.js';

const before = { name: '<unknown>', address: '127.0.0.1:5000', connected: false };
const after = { name: 'c1', address: '127.0.0.1:5000', connected: true };

const CASES: Array<[string, typeof before, number, string, Array<[string, string]>]> = [
  ['bad password', before, ReasonCode.NotAuthorized, 'not authorised', [['notice', 'Client <unknown> disconnected, not authorised.']]],
  ['banned 5.0 client', before, ReasonCode.ConnectionRateExceeded, 'banned', [['notice', 'Client <unknown> disconnected, not authorised.']]],
  ['empty client id', before, ReasonCode.ClientIdentifierNotValid, 'empty client identifier refused', [['notice', 'Client <unknown> disconnected due to protocol error.']]],
  ['protocol level', before, ReasonCode.UnsupportedProtocolVersion, 'Invalid protocol version 6',
    [['information', 'Invalid protocol version 6 in CONNECT from 127.0.0.1.'], ['notice', 'Client <unknown> disconnected due to protocol error.']]],
  ['protocol name', before, ReasonCode.ProtocolError, 'Invalid protocol "MQTX"',
    [['information', 'Invalid protocol "MQTX" in CONNECT from 127.0.0.1.'], ['notice', 'Client <unknown> disconnected due to protocol error.']]],
  ['will QoS 3', before, ReasonCode.QoSNotSupported, 'will QoS 3 not supported',
    [['information', 'Invalid Will QoS in CONNECT from 127.0.0.1.'], ['notice', 'Client <unknown> disconnected due to protocol error.']]],
  ['will QoS over max_qos', before, ReasonCode.QoSNotSupported, 'will QoS 2 not supported', [['notice', 'Client <unknown> disconnected due to QoS too high or retain not supported.']]],
  ['password without user name', before, ReasonCode.ProtocolError, "password without user name (client id 'pn')",
    [['error', 'Protocol error from pn: password without username, closing connection.'], ['notice', 'Client <unknown> disconnected due to protocol error.']]],
  ['will topic wildcard', before, ReasonCode.TopicNameInvalid, "invalid will topic 'a/#'", [['notice', 'Bad socket read/write on client <unknown>: Invalid function arguments provided.']]],
  ['will topic empty', before, ReasonCode.TopicNameInvalid, "invalid will topic ''", [['notice', 'Client <unknown> disconnected due to protocol error.']]],
  ['will topic bad UTF-8', before, ReasonCode.MalformedPacket, 'invalid UTF-8 in will topic', [['notice', 'Bad socket read/write on client <unknown>: Malformed UTF-8']]],
  ['malformed CONNECT', before, ReasonCode.MalformedPacket, 'Packet too short', [['notice', 'Client <unknown> disconnected due to protocol error.']]],
  ['malformed packet', after, ReasonCode.MalformedPacket, 'Packet too short', [['notice', 'Client c1 disconnected due to malformed packet.']]],
  ['bad remaining length', after, ReasonCode.MalformedPacket, 'bad remaining length', [['notice', 'Client c1 disconnected due to protocol error.']]],
  ['SUBSCRIBE without filters', after, ReasonCode.ProtocolError, 'SUBSCRIBE without topic filters', [['notice', 'Client c1 disconnected due to malformed packet.']]],
  ['second CONNECT', after, ReasonCode.ProtocolError, 'second CONNECT',
    [['notice', 'Bad client c1 sending multiple CONNECT messages.'], ['notice', 'Client c1 disconnected due to protocol error.']]],
  ['PUBLISH QoS 3', after, ReasonCode.MalformedPacket, 'Packet must not have both QoS bits set to 1',
    [['information', 'Invalid QoS in PUBLISH from c1, disconnecting.'], ['notice', 'Client c1 disconnected due to malformed packet.']]],
  ['SUBSCRIBE QoS 3', after, ReasonCode.MalformedPacket, 'Invalid subscribe QoS, must be <= 2',
    [['information', 'Invalid QoS in subscription command from 127.0.0.1, disconnecting.'], ['notice', 'Client c1 disconnected due to malformed packet.']]],
  ['PUBLISH topic with U+0000', after, ReasonCode.TopicNameInvalid, "invalid topic name 'a\u0000'", [['notice', 'Client c1 disconnected due to malformed packet.']]],
  ['keep alive', after, ReasonCode.KeepAliveTimeout, 'keep alive timeout', [['notice', 'Client c1 has exceeded timeout, disconnecting.']]],
  ['takeover', after, ReasonCode.SessionTakenOver, 'session taken over', [['error', 'Client c1 already connected, closing old connection.']]],
  ['oversize', after, ReasonCode.PacketTooLarge, 'packet over the maximum packet size', [['notice', 'Client c1 disconnected due to oversize packet.']]],
];

for (const [name, subject, reason, message, expected] of CASES) {
  test(`disconnectLines: ${name}`, () => {
    assert.deepEqual(disconnectLines(subject, new MqttError(reason, message)), expected);
  });
}

test('streamErrorLine: a reset is a closed connection, other errors their strerror text', () => {
  const error = (code: string, message: string) => Object.assign(new Error(message), { code });
  assert.deepEqual(streamErrorLine('c1', error('ECONNRESET', 'read ECONNRESET')), ['notice', 'Client c1 closed its connection.']);
  assert.deepEqual(streamErrorLine('c1', error('EPIPE', 'write EPIPE')), ['notice', 'Client c1 disconnected: Broken pipe.']);
  assert.deepEqual(streamErrorLine('c1', error('ETIMEDOUT', 'read ETIMEDOUT')), ['notice', 'Client c1 disconnected: Connection timed out.']);
});

test('streamEndLine: an end inside a packet body is "disconnected: Success." as in Mosquitto', () => {
  assert.deepEqual(streamEndLine('c1', false), ['notice', 'Client c1 closed its connection.']);
  assert.deepEqual(streamEndLine('<unknown>', true), ['notice', 'Client <unknown> disconnected: Success.']);
});
