/* Each C file of the addon owns one concept and registers its functions on the exports object. */
#ifndef PORTICO_ADDON_H
#define PORTICO_ADDON_H
#include <node_api.h>

napi_status register_packet(napi_env env, napi_value exports);
napi_status register_tcp_md5(napi_env env, napi_value exports);
napi_status register_udp_ttl(napi_env env, napi_value exports);

#endif
