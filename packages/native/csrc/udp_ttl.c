#include "addon.h"

napi_status register_udp_ttl(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return napi_ok;
}
