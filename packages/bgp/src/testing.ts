/**
 * What tests need to forge BFD traffic, exported as @portico/bgp/testing (not from the index):
 * the Control packet codec and a fully spelled-out packet. Used by this package's BFD tests and
 * by the end-to-end test that speaks to FRR's bfdd.
 */
import { BfdDiagnostic, BfdState, type ControlPacket } from './bfd/index.js';

export { decodeControlPacket, encodeControlPacket, type ControlPacket } from './bfd/index.js';

/**
 * A BFD Control packet (RFC 5880 section 4.1) with every field spelled out: Down, no diagnostic,
 * no flags, multiplier 3, zero discriminators, 1 s intervals, no echo. Tests override what they exercise.
 */
export function controlPacket(overrides: Partial<ControlPacket> = {}): ControlPacket {
  return {
    diagnostic: BfdDiagnostic.None,
    state: BfdState.Down,
    poll: false,
    final: false,
    controlPlaneIndependent: false,
    demand: false,
    multipoint: false,
    detectMultiplier: 3,
    myDiscriminator: 0,
    yourDiscriminator: 0,
    desiredMinTxInterval: 1_000_000,
    requiredMinRxInterval: 1_000_000,
    requiredMinEchoRxInterval: 0,
    ...overrides,
  };
}
