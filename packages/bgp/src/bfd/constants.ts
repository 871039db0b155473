/** Protocol numbers of BFD (RFC 5880) over single-hop UDP (RFC 5881). */

/** RFC 5880 section 4.1: the version this implementation speaks. */
export const BFD_VERSION = 1;

/** RFC 5880 section 4.1: mandatory section; section 4.2: auth section header (type + length). */
export const CONTROL_PACKET_LENGTH = 24;
export const AUTH_HEADER_LENGTH = 2;

/** RFC 5881 section 4: control packets go to 3784; the source port is chosen in 49152-65535. */
export const BFD_CONTROL_PORT = 3784;
export const SOURCE_PORT_MIN = 49152;
export const SOURCE_PORT_MAX = 65535;

/** RFC 5881 section 5: single-hop packets are sent, and must arrive, with TTL / hop limit 255. */
export const BFD_TTL = 255;

/** RFC 5880 section 6.8.3: while not Up, DesiredMinTxInterval is at least one second. */
export const SLOW_TX_INTERVAL_US = 1_000_000;

/** RFC 5880 section 4.1, State (Sta) field. */
export const BfdState = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type BfdState = (typeof BfdState)[keyof typeof BfdState];

/** RFC 5880 section 4.1, Diagnostic (Diag) field; 9-31 are reserved (kept as plain numbers). */
export const BfdDiagnostic = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;
export type BfdDiagnostic = (typeof BfdDiagnostic)[keyof typeof BfdDiagnostic];

const stateNames = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type BfdStateName = (typeof stateNames)[number];

export function stateName(state: BfdState): BfdStateName {
  return stateNames[state];
}

export function diagnosticName(diagnostic: number): string {
  const entry = Object.entries(BfdDiagnostic).find(([, value]) => value === diagnostic);
  return entry ? entry[0] : `Reserved(${diagnostic})`;
}
