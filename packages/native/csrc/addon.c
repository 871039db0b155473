/* Entry point of the N-API addon: Node has no API for AF_PACKET sockets, TCP-MD5 or reading the
 * TTL of received UDP datagrams, so those few system calls live here. N-API keeps the binary
 * usable across Node versions. */
#include "addon.h"

static napi_value init(napi_env env, napi_value exports) {
  if (register_packet(env, exports) != napi_ok) return NULL;
  if (register_tcp_md5(env, exports) != napi_ok) return NULL;
  if (register_udp_ttl(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
