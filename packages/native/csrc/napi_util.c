#define _GNU_SOURCE
#include "napi_util.h"

#include <stdio.h>
#include <string.h>

const char *errno_code(int err) {
  const char *name = strerrorname_np(err);
  return name ? name : "EIO";
}

napi_value throw_errno(napi_env env, const char *code, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, code ? code : errno_code(err), message);
  return NULL;
}
