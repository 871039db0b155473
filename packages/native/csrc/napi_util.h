/* Helpers shared by the addon's C files. */
#ifndef PORTICO_NAPI_UTIL_H
#define PORTICO_NAPI_UTIL_H
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The errno name of err (ECONNREFUSED, ...), EIO if it has none: the `code` of system call errors. */
const char *errno_code(int err);

/* Throws an Error "what: strerror(err)" whose `code` is `code`, or errno_code(err) when `code` is
 * NULL. Returns NULL so callers can `return throw_errno(...)`. */
napi_value throw_errno(napi_env env, const char *code, const char *what, int err);

/* Throws a TypeError "fn: name must be <expected>, got <JS type of value>". Returns NULL. */
napi_value throw_arg_type(napi_env env, const char *fn, const char *name, const char *expected, napi_value value);

/* Fills argv with the call's first `count` arguments. Throws a TypeError whose message is `usage`
 * and returns 0 when fewer were passed: N-API would otherwise pad argv with undefined. */
int get_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv, const char *usage);

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

/* Reads argument `name` of `fn`, which must be a boolean, into *out; otherwise throws a TypeError
 * naming it and returns 0. */
int get_bool_arg(napi_env env, napi_value value, const char *fn, const char *name, bool *out);

/* Reads argument `name` of `fn`, which must be a Buffer (or another typed array view), of exactly
 * `want` bytes unless `want` is 0. Otherwise throws a TypeError naming it and returns 0. */
int get_buffer_arg(napi_env env, napi_value value, const char *fn, const char *name, size_t want, void **data,
                   size_t *len);

/* Checks that argument `name` of `fn` is a function, or null / undefined when `optional` (then
 * *present = 0). Otherwise throws a TypeError naming it and returns 0. */
int check_function_arg(napi_env env, napi_value value, const char *fn, const char *name, int optional, int *present);

/* Reads argument `name` of `fn`, a handle made by napi_create_external described as `what` ("a packet
 * socket handle"). Throws a TypeError naming it and returns NULL for anything else. */
void *get_external_arg(napi_env env, napi_value value, const char *fn, const char *name, const char *what);

#endif
