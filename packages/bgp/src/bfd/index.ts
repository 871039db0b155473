/** BFD (RFC 5880) over single-hop UDP (RFC 5881) for the BGP speaker. */
export {
  BfdSession,
  type BfdDownEvent,
  type BfdSessionEvents,
  type BfdSessionOptions,
  type BfdStopOptions,
} from './session.js';
export {
  BfdDiagnostic,
  BfdState,
  BFD_CONTROL_PORT,
  diagnosticName,
  stateName,
  type BfdStateName,
} from './constants.js';
export { decodeControlPacket, encodeControlPacket, type ControlPacket, type DecodeResult } from './packet.js';
export { UdpBfdNetwork, defaultBfdNetwork, type UdpBfdNetworkOptions } from './network.js';
export type { BfdNetwork, BfdEndpoint, BfdTransport, DropReason } from './transport.js';
export type { BfdClock, BfdTimer } from './clock.js';
