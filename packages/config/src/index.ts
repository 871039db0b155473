export * from './model.js';
export * from './ip.js';
export { parseConfig, type ParseResult } from './parse.js';
export { parseAddressEntry, lowestMask } from './addresses.js';
export { parseCommunity, communityToString } from './community.js';
export { parseGoDuration } from './duration.js';
export { nodeSelectorsMatch, nodeSelectorMatches } from './selector.js';
