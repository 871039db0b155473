/* Helpers shared by the addon's C files. */
#ifndef PORTICO_NAPI_UTIL_H
#define PORTICO_NAPI_UTIL_H
#include <node_api.h>

/* The errno name of err (ECONNREFUSED, ...), EIO if it has none: the `code` of system call errors. */
const char *errno_code(int err);

/* Throws an Error "what: strerror(err)" whose `code` is `code`, or errno_code(err) when `code` is
 * NULL. Returns NULL so callers can `return throw_errno(...)`. */
napi_value throw_errno(napi_env env, const char *code, const char *what, int err);

#endif
