// The -d packet trace in libmosquitto's exact words ("Client <id> sending PUBLISH (d0, q1, ...)"),
// one line per packet sent or received, written to stdout as mosquitto_pub/sub do. Formatting only.

import type { Writable } from 'node:stream';
import type { SequentialMessageIds } from './message-ids.js';

/** The fields of an mqtt-packet packet the trace reads. */
export interface TracedPacket {
  cmd: string;
  messageId?: number;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  topic?: string;
  payload?: Buffer | string;
  returnCode?: number;
  reasonCode?: number;
  subscriptions?: { topic: string; qos: number; nl?: boolean; rap?: boolean; rh?: number }[];
  unsubscriptions?: string[];
  properties?: { assignedClientIdentifier?: string };
}

function payloadLength(payload: Buffer | string | undefined): number {
  if (payload === undefined) return 0;
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}

function publishFields(packet: TracedPacket, mid: number): string {
  const flag = (value: boolean | undefined) => (value ? 1 : 0);
  return `(d${flag(packet.dup)}, q${packet.qos ?? 0}, r${flag(packet.retain)}, m${mid}, '${packet.topic ?? ''}', ... (${payloadLength(packet.payload)} bytes))`;
}

/** The lines libmosquitto logs when this client sends a packet. */
export function sentLines(packet: TracedPacket, id: string, mid: () => number): string[] {
  const who = `Client ${id}`;
  switch (packet.cmd) {
    case 'connect': return [`${who} sending CONNECT`];
    case 'publish': return [`${who} sending PUBLISH ${publishFields(packet, packet.qos ? packet.messageId ?? 0 : mid())}`];
    case 'puback': return [`${who} sending PUBACK (m${packet.messageId}, rc${packet.reasonCode ?? 0})`];
    case 'pubrec': return [`${who} sending PUBREC (m${packet.messageId}, rc${packet.reasonCode ?? 0})`];
    case 'pubrel': return [`${who} sending PUBREL (m${packet.messageId})`];
    case 'pubcomp': return [`${who} sending PUBCOMP (m${packet.messageId})`];
    case 'subscribe': return (packet.subscriptions ?? []).map((sub) => {
      const options = (sub.nl ? 0x04 : 0) | (sub.rap ? 0x08 : 0) | ((sub.rh ?? 0) << 4);
      return `${who} sending SUBSCRIBE (Mid: ${packet.messageId}, Topic: ${sub.topic}, QoS: ${sub.qos}, Options: 0x${options.toString(16).padStart(2, '0')})`;
    });
    case 'unsubscribe': return (packet.unsubscriptions ?? []).map((topic) => `${who} sending UNSUBSCRIBE (Mid: ${packet.messageId}, Topic: ${topic})`);
    case 'pingreq': return [`${who} sending PINGREQ`];
    case 'disconnect': return [`${who} sending DISCONNECT`];
    case 'auth': return [`${who} sending AUTH`];
    default: return [];
  }
}

/** The lines libmosquitto logs when this client receives a packet. */
export function receivedLines(packet: TracedPacket, id: string): string[] {
  const who = `Client ${id}`;
  switch (packet.cmd) {
    case 'connack': return [`${who} received CONNACK (${packet.reasonCode ?? packet.returnCode ?? 0})`];
    case 'publish': return [`${who} received PUBLISH ${publishFields(packet, packet.messageId ?? 0)}`];
    case 'puback': return [`${who} received PUBACK (Mid: ${packet.messageId}, RC:${packet.reasonCode ?? 0})`];
    case 'pubrec': return [`${who} received PUBREC (Mid: ${packet.messageId})`];
    case 'pubrel': return [`${who} received PUBREL (Mid: ${packet.messageId})`];
    case 'pubcomp': return [`${who} received PUBCOMP (Mid: ${packet.messageId}, RC:${packet.reasonCode ?? 0})`];
    case 'suback': return [`${who} received SUBACK`];
    case 'unsuback': return [`${who} received UNSUBACK`];
    case 'pingresp': return [`${who} received PINGRESP`];
    case 'pingreq': return [`${who} received PINGREQ`];
    case 'disconnect': return [`Received DISCONNECT (${packet.reasonCode ?? 0})`];
    case 'auth': return [`${who} received AUTH`];
    default: return [];
  }
}

/** Writes the trace of one connection; the client id changes when a v5 broker assigns one. */
export class DebugLog {
  private id: string;
  private closed = false;

  constructor(private readonly stdout: Writable, clientId: string, private readonly ids: SequentialMessageIds) {
    // libmosquitto prints a NULL id as "(null)"; mosquitto 2.0 clients send no id by default.
    this.id = clientId === '' ? '(null)' : clientId;
    // A reader that went away (`mqx pub -d | head -1`, EPIPE) ends the trace, not the publish.
    stdout.on('error', () => { this.closed = true; });
  }

  sent(packet: TracedPacket): void {
    this.write(sentLines(packet, this.id, () => this.ids.skip()));
  }

  received(packet: TracedPacket): void {
    const assigned = packet.cmd === 'connack' ? packet.properties?.assignedClientIdentifier : undefined;
    if (assigned) this.id = assigned;
    this.write(receivedLines(packet, this.id));
  }

  private write(lines: string[]): void {
    if (lines.length > 0 && !this.closed) this.stdout.write(lines.join('\n') + '\n');
  }
}
