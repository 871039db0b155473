/* Helpers shared by the addon's C files. */
#ifndef PORTICO_NAPI_UTIL_H
#define PORTICO_NAPI_UTIL_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* The errno name of err (ECONNREFUSED, ...), EIO if it has none: the `code` of system call errors. */
const char *errno_code(int err);

/* Throws an Error "what: strerror(err)" whose `code` is `code`, or errno_code(err) when `code` is
 * NULL. Returns NULL so callers can `return throw_errno(...)`. */
napi_value throw_errno(napi_env env, const char *code, const char *what, int err);

/* Throws a TypeError "fn: name must be <expected>, got <JS type of value>". Returns NULL. */
napi_value throw_arg_type(napi_env env, const char *fn, const char *name, const char *expected, napi_value value);

/* Reads argument `name` of `fn`, which must be an integral number within int32 range, into *out.
 * Otherwise throws, naming the argument, a TypeError (not a number) or a RangeError (fraction, NaN,
 * out of range), and returns 0: napi_get_value_int32 alone would leave *out at its default for a
 * non-number and wrap or truncate the others, silently. */
int get_int32_arg(napi_env env, napi_value value, const char *fn, const char *name, int32_t *out);

/* Reads argument `name` of `fn`, which must be a string shorter than `size` bytes (UTF-8), or null /
 * undefined when `optional` (then *present = 0 and out = ""). Throws a TypeError for another type,
 * or a RangeError for a string that does not fit, and returns 0. */
int get_string_arg(napi_env env, napi_value value, const char *fn, const char *name, int optional, char *out,
                   size_t size, int *present);

#endif
