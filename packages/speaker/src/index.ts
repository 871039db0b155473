export { BgpTable } from './bgp-table.js';
export { decide } from './decide.js';
export { peersForNode, samePeer } from './peers.js';
export { type BgpBackend, type Layer2Backend } from './backends.js';
export { Speaker } from './speaker.js';
export { StatusWriter } from './status-writer.js';
export { SPEAKER_ADDRESS_ANNOTATION } from './membership/members.js';
export { openUdpTransport } from './membership/udp-transport.js';
export { LazyLayer2 } from './lazy-layer2.js';
