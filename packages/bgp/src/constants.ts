/** Wire constants of BGP-4 and its extensions, named after the RFC that defines them. */

/** RFC 4271 §4.1: the header is a 16-octet marker of all ones, a 2-octet length and a 1-octet type. */
export const HEADER_LENGTH = 19;
/** RFC 4271 §4.1: maximum message size without extended messages. */
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654 §3: maximum message size once both sides advertised the extended message capability. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;
export const BGP_PORT = 179;
export const BGP_VERSION = 4;
/** RFC 6793 §9: the 2-octet placeholder for a 4-octet AS number. */
export const AS_TRANS = 23456;

/** RFC 4271 §4.1 message types, plus RFC 2918 ROUTE-REFRESH. */
export const MessageType = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;

/** RFC 4760 address family and subsequent address family identifiers we speak. */
export const Afi = { IPV4: 1, IPV6: 2 } as const;
export const Safi = { UNICAST: 1 } as const;
export type AfiNumber = (typeof Afi)[keyof typeof Afi];

/** Capability codes (IANA registry; RFC 5492 §4). */
export const CapabilityCode = {
  MULTIPROTOCOL: 1, // RFC 4760 §8
  ROUTE_REFRESH: 2, // RFC 2918 §2
  EXTENDED_NEXT_HOP: 5, // RFC 8950 §3
  EXTENDED_MESSAGE: 6, // RFC 8654 §3
  GRACEFUL_RESTART: 64, // RFC 4724 §3
  FOUR_OCTET_AS: 65, // RFC 6793 §3
} as const;

/** Path attribute type codes (RFC 4271 §5.1 and the RFCs named). */
export const AttrType = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8, // RFC 1997
  MP_REACH_NLRI: 14, // RFC 4760
  MP_UNREACH_NLRI: 15, // RFC 4760
  EXTENDED_COMMUNITIES: 16, // RFC 4360
  AS4_PATH: 17, // RFC 6793
  AS4_AGGREGATOR: 18, // RFC 6793
  LARGE_COMMUNITY: 32, // RFC 8092
} as const;

/** RFC 4271 §4.3 attribute flag bits. */
export const AttrFlag = {
  OPTIONAL: 0x80,
  TRANSITIVE: 0x40,
  PARTIAL: 0x20,
  EXTENDED_LENGTH: 0x10,
} as const;

/** RFC 4271 §4.3 ORIGIN values. */
export const Origin = { IGP: 0, EGP: 1, INCOMPLETE: 2 } as const;
export type OriginValue = (typeof Origin)[keyof typeof Origin];

/** RFC 4271 §4.3 AS_PATH segment types. */
export const AsPathSegmentType = { AS_SET: 1, AS_SEQUENCE: 2 } as const;

/** RFC 4271 §4.5 error codes. */
export const ErrorCode = {
  MESSAGE_HEADER: 1,
  OPEN_MESSAGE: 2,
  UPDATE_MESSAGE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
  ROUTE_REFRESH: 7, // RFC 7313 §5
} as const;

/** RFC 4271 §6.1. */
export const HeaderSubcode = {
  CONNECTION_NOT_SYNCHRONIZED: 1,
  BAD_MESSAGE_LENGTH: 2,
  BAD_MESSAGE_TYPE: 3,
} as const;

/** RFC 4271 §6.2, RFC 5492 §5 (7). */
export const OpenSubcode = {
  UNSUPPORTED_VERSION: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
} as const;

/** RFC 4271 §6.3. */
export const UpdateSubcode = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: 2,
  MISSING_WELL_KNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN: 6,
  INVALID_NEXT_HOP: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** RFC 6608 §4: errors in the finite state machine, by the state that received the unexpected message. */
export const FsmSubcode = {
  UNSPECIFIED: 0,
  UNEXPECTED_IN_OPEN_SENT: 1,
  UNEXPECTED_IN_OPEN_CONFIRM: 2,
  UNEXPECTED_IN_ESTABLISHED: 3,
} as const;

/** RFC 4486 §4 Cease subcodes, plus RFC 9384 BFD Down. */
export const CeaseSubcode = {
  MAX_PREFIXES: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9,
  BFD_DOWN: 10,
} as const;
