import { createRequire } from 'node:module';

/** The compiled addon, built by node-gyp at `npm install` (see binding.gyp). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = Record<string, any>;

let cached: NativeAddon | undefined;
export function loadNative(): NativeAddon {
  if (!cached) {
    const require = createRequire(import.meta.url);
    cached = require('../build/Release/portico_native.node') as NativeAddon;
  }
  return cached;
}
export { UdpTtlSocket, type UdpTtlMessage, type UdpTtlOptions } from './udp-ttl.js';
export {
  LinkWatcher,
  MulticastGroups,
  PacketSocket,
  PacketType,
  type BpfInstruction,
  type PacketSocketOptions,
} from './packet.js';
export {
  tcpConnect,
  tcpListen,
  tcpSetMd5,
  tcpSetTtl,
  tcpCloseFd,
  type TcpConnectOptions,
} from './tcp-md5.js';
