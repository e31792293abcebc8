// Byte-level PUBACK/PUBREC/PUBREL/PUBCOMP writers: four or five bytes each, no encoder call.
// Must not decide anything: the handlers pick the packet id and reason code.

/** Fixed-header bytes of PUBACK, PUBREC, PUBREL (flags 0b0010 [MQTT-3.6.1-1]), PUBCOMP. */
export const PUBACK = 0x40;
export const PUBREC = 0x50;
export const PUBREL = 0x62;
export const PUBCOMP = 0x70;

/** 3.1.1 form, or 5.0 with a reason code (omitted when 0x00 and no properties [MQTT-3.4.2-1]). */
export function ackBytes(type: number, packetId: number, reasonCode: number, version: number): Buffer {
  const long = reasonCode !== 0 && version === 5;
  const bytes = Buffer.allocUnsafe(long ? 5 : 4);
  bytes[0] = type;
  bytes[1] = long ? 3 : 2;
  bytes[2] = packetId >> 8;
  bytes[3] = packetId & 0xff;
  if (long) bytes[4] = reasonCode;
  return bytes;
}
