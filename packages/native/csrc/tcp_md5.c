#include "addon.h"

napi_status register_tcp_md5(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return napi_ok;
}
