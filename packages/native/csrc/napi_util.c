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

static const char *type_name(napi_env env, napi_value value) {
  napi_valuetype t;
  if (napi_typeof(env, value, &t) != napi_ok) return "unknown";
  switch (t) {
  case napi_undefined: return "undefined";
  case napi_null: return "null";
  case napi_boolean: return "boolean";
  case napi_number: return "number";
  case napi_string: return "string";
  case napi_symbol: return "symbol";
  case napi_object: return "object";
  case napi_function: return "function";
  case napi_external: return "external";
  case napi_bigint: return "bigint";
  }
  return "unknown";
}

napi_value throw_arg_type(napi_env env, const char *fn, const char *name, const char *expected, napi_value value) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s must be %s, got %s", fn, name, expected, type_name(env, value));
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

int get_int32_arg(napi_env env, napi_value value, const char *fn, const char *name, int32_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, value, &t) != napi_ok || t != napi_number) {
    throw_arg_type(env, fn, name, "a number", value);
    return 0;
  }
  napi_get_value_double(env, value, &d);
  /* NaN fails every comparison, so it lands here too. */
  if (!(d >= INT32_MIN && d <= INT32_MAX) || (double)(int32_t)d != d) {
    char message[256];
    snprintf(message, sizeof message, "%s: %s must be an integer within 32 bits, got %g", fn, name, d);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return 0;
  }
  *out = (int32_t)d;
  return 1;
}

int get_string_arg(napi_env env, napi_value value, const char *fn, const char *name, int optional, char *out,
                   size_t size, int *present) {
  napi_valuetype t;
  size_t length;
  out[0] = '\0';
  if (present) *present = 0;
  if (napi_typeof(env, value, &t) != napi_ok) t = napi_undefined;
  if (optional && (t == napi_null || t == napi_undefined)) return 1;
  if (t != napi_string) {
    throw_arg_type(env, fn, name, optional ? "a string or null" : "a string", value);
    return 0;
  }
  /* Ask for the length first: napi_get_value_string_utf8 would otherwise cut a long value short. */
  napi_get_value_string_utf8(env, value, NULL, 0, &length);
  if (length >= size) {
    char message[256];
    snprintf(message, sizeof message, "%s: %s is %zu bytes long, at most %zu fit", fn, name, length, size - 1);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return 0;
  }
  napi_get_value_string_utf8(env, value, out, size, &length);
  if (present) *present = 1;
  return 1;
}

int get_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv, const char *usage) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return 0;
  }
  return 1;
}

int get_bool_arg(napi_env env, napi_value value, const char *fn, const char *name, bool *out) {
  if (napi_get_value_bool(env, value, out) != napi_ok) {
    throw_arg_type(env, fn, name, "a boolean", value);
    return 0;
  }
  return 1;
}

int get_buffer_arg(napi_env env, napi_value value, const char *fn, const char *name, size_t want, void **data,
                   size_t *len) {
  if (napi_get_buffer_info(env, value, data, len) != napi_ok) {
    throw_arg_type(env, fn, name, "a Buffer", value);
    return 0;
  }
  if (want != 0 && *len != want) {
    char message[256];
    snprintf(message, sizeof message, "%s: %s must be %zu bytes long, got %zu", fn, name, want, *len);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", message);
    return 0;
  }
  return 1;
}

int check_function_arg(napi_env env, napi_value value, const char *fn, const char *name, int optional, int *present) {
  napi_valuetype t;
  if (present) *present = 0;
  if (napi_typeof(env, value, &t) != napi_ok) t = napi_undefined;
  if (optional && (t == napi_null || t == napi_undefined)) return 1;
  if (t != napi_function) {
    throw_arg_type(env, fn, name, optional ? "a function or null" : "a function", value);
    return 0;
  }
  if (present) *present = 1;
  return 1;
}

void *get_external_arg(napi_env env, napi_value value, const char *fn, const char *name, const char *what) {
  void *data = NULL;
  napi_valuetype t;
  if (napi_typeof(env, value, &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    throw_arg_type(env, fn, name, what, value);
    return NULL;
  }
  return data;
}
