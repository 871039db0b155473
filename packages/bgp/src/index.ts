export { describeNotification } from './message.js';
export { type CloseReason } from './connection.js';
export { communityValue, largeCommunityValue, type Route } from './route.js';
export { type PeerOptions } from './session.js';
export { Speaker } from './speaker.js';
export { formatPrefix } from './prefix.js';
export { BfdSession, type BfdSessionOptions, type BfdDownEvent } from './bfd/index.js';
