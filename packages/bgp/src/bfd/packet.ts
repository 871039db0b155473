/**
 * BFD Control packet codec (RFC 5880 section 4.1) with the packet-level checks of section 6.8.6.
 * The decoder never throws: any input, however malformed, gives either a packet or a reason to
 * discard it.
 */
import {
  AUTH_HEADER_LENGTH,
  BFD_VERSION,
  BfdState,
  CONTROL_PACKET_LENGTH,
  type BfdDiagnostic,
} from './constants.js';

/** RFC 5880 section 4.2: the authentication section, kept opaque (this speaker uses none). */
export interface BfdAuthentication {
  type: number;
  /** The bytes after Auth Type and Auth Len. */
  data: Uint8Array;
}

/** A Control packet; intervals are in microseconds, as on the wire. */
export interface ControlPacket {
  diagnostic: BfdDiagnostic | number;
  state: BfdState;
  poll: boolean;
  final: boolean;
  controlPlaneIndependent: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMultiplier: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  desiredMinTxInterval: number;
  requiredMinRxInterval: number;
  requiredMinEchoRxInterval: number;
  /** Present exactly when the A bit is set. */
  authentication?: BfdAuthentication | undefined;
}

export type DecodeResult = { ok: true; packet: ControlPacket } | { ok: false; reason: string };

const FLAG_POLL = 0x20;
const FLAG_FINAL = 0x10;
const FLAG_CPI = 0x08;
const FLAG_AUTH = 0x04;
const FLAG_DEMAND = 0x02;
const FLAG_MULTIPOINT = 0x01;

export function encodeControlPacket(packet: ControlPacket): Buffer {
  const auth = packet.authentication;
  const authLength = auth ? AUTH_HEADER_LENGTH + auth.data.length : 0;
  const length = CONTROL_PACKET_LENGTH + authLength;
  if (authLength > 255) throw new RangeError('BFD authentication section longer than 255 bytes');
  const out = Buffer.alloc(length);
  out[0] = (BFD_VERSION << 5) | (packet.diagnostic & 0x1f);
  out[1] =
    (packet.state << 6) |
    (packet.poll ? FLAG_POLL : 0) |
    (packet.final ? FLAG_FINAL : 0) |
    (packet.controlPlaneIndependent ? FLAG_CPI : 0) |
    (auth ? FLAG_AUTH : 0) |
    (packet.demand ? FLAG_DEMAND : 0) |
    (packet.multipoint ? FLAG_MULTIPOINT : 0);
  out[2] = packet.detectMultiplier;
  out[3] = length;
  out.writeUInt32BE(packet.myDiscriminator, 4);
  out.writeUInt32BE(packet.yourDiscriminator, 8);
  out.writeUInt32BE(packet.desiredMinTxInterval, 12);
  out.writeUInt32BE(packet.requiredMinRxInterval, 16);
  out.writeUInt32BE(packet.requiredMinEchoRxInterval, 20);
  if (auth) {
    out[24] = auth.type;
    out[25] = authLength;
    out.set(auth.data, 26);
  }
  return out;
}

/**
 * Decodes one datagram and applies the checks of RFC 5880 section 6.8.6 that need no session
 * state. Session lookup by Your Discriminator and the A-bit-versus-AuthType check belong to the
 * receiver (receiver.ts), which knows the sessions.
 */
export function decodeControlPacket(data: Uint8Array): DecodeResult {
  if (data.length < CONTROL_PACKET_LENGTH) return discard('shorter than 24 bytes');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const byte0 = data[0]!;
  const flags = data[1]!;
  const length = data[3]!;
  const hasAuth = (flags & FLAG_AUTH) !== 0;

  if (byte0 >> 5 !== BFD_VERSION) return discard(`version ${byte0 >> 5}`);
  // "less than the minimum correct value (24 if the A bit is clear, or 26 if the A bit is set)"
  if (length < (hasAuth ? CONTROL_PACKET_LENGTH + AUTH_HEADER_LENGTH : CONTROL_PACKET_LENGTH)) {
    return discard(`length field ${length} too small`);
  }
  if (length > data.length) return discard(`length field ${length} exceeds the datagram`);
  const detectMultiplier = data[2]!;
  if (detectMultiplier === 0) return discard('detect multiplier is zero');
  if ((flags & FLAG_MULTIPOINT) !== 0) return discard('multipoint bit set');
  const myDiscriminator = view.getUint32(4);
  if (myDiscriminator === 0) return discard('my discriminator is zero');
  const yourDiscriminator = view.getUint32(8);
  const state = (flags >> 6) as BfdState;
  if (yourDiscriminator === 0 && state !== BfdState.Down && state !== BfdState.AdminDown) {
    return discard('your discriminator is zero outside Down/AdminDown');
  }

  let authentication: BfdAuthentication | undefined;
  if (hasAuth) {
    // Section 4.2: Auth Len counts the whole authentication section, type and length included.
    const authLength = data[25]!;
    if (authLength < AUTH_HEADER_LENGTH || CONTROL_PACKET_LENGTH + authLength > length) {
      return discard(`auth length ${authLength} inconsistent with packet length ${length}`);
    }
    authentication = {
      type: data[24]!,
      // A copy, as a plain Uint8Array, so the packet does not pin the receive buffer.
      data: new Uint8Array(
        data.subarray(CONTROL_PACKET_LENGTH + AUTH_HEADER_LENGTH, CONTROL_PACKET_LENGTH + authLength),
      ),
    };
  }

  return {
    ok: true,
    packet: {
      diagnostic: byte0 & 0x1f,
      state,
      poll: (flags & FLAG_POLL) !== 0,
      final: (flags & FLAG_FINAL) !== 0,
      controlPlaneIndependent: (flags & FLAG_CPI) !== 0,
      demand: (flags & FLAG_DEMAND) !== 0,
      multipoint: false,
      detectMultiplier,
      myDiscriminator,
      yourDiscriminator,
      desiredMinTxInterval: view.getUint32(12),
      requiredMinRxInterval: view.getUint32(16),
      requiredMinEchoRxInterval: view.getUint32(20),
      authentication,
    },
  };
}

function discard(reason: string): DecodeResult {
  return { ok: false, reason };
}
