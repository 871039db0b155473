export { type IPFamily, familyBits, maxAddress } from './family.js';
export {
  type Address,
  parseAddress,
  parseIP,
  unmapIPv4,
  formatAddress,
  canonicalIP,
  compareAddresses,
  addressesEqual,
  addressToBytes,
  addressFromBytes,
  formatAddressBytes,
} from './address.js';
export {
  type Cidr,
  type ParseCidrOptions,
  parseCidr,
  makeCidr,
  hostCidr,
  cidrSize,
  cidrLast,
  cidrNetwork,
  cidrBroadcast,
  cidrContains,
  cidrsOverlap,
} from './cidr.js';
export {
  type AddressRange,
  makeRange,
  cidrRange,
  rangeSize,
  rangeContains,
  rangesOverlap,
  iterateRange,
  summarizeRange,
} from './range.js';
export {
  type LargeCommunity,
  WELL_KNOWN_COMMUNITIES,
  parseCommunity,
  formatCommunity,
  parseLargeCommunity,
  formatLargeCommunity,
} from './community.js';
