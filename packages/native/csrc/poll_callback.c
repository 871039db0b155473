#include "poll_callback.h"

int poll_callback_start(napi_env env, poll_callback *w, int fd, void *data, napi_value callback,
                        const char *resource_name, uv_poll_cb on_ready) {
  uv_loop_t *loop;
  napi_value resource, name;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &w->poll, fd) != 0) return 0;
  w->poll.data = data;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, resource_name, NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &w->async);
  napi_create_reference(env, callback, 1, &w->callback);
  uv_poll_start(&w->poll, UV_READABLE, on_ready);
  return 1;
}

void poll_callback_call(napi_env env, poll_callback *w, size_t argc, const napi_value *argv) {
  napi_value callback, recv, result;
  /* napi_make_callback wants an object as `this` (undefined would throw a TypeError); it runs the
   * microtask queue afterwards, as for any libuv-driven callback. */
  if (w->callback && napi_get_reference_value(env, w->callback, &callback) == napi_ok && callback != NULL &&
      napi_get_global(env, &recv) == napi_ok) {
    napi_make_callback(env, w->async, recv, callback, argc, argv, &result);
  }
  bool pending = false;
  napi_value error;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &error) == napi_ok) {
    napi_fatal_exception(env, error);
  }
}

void poll_callback_stop(napi_env env, poll_callback *w, uv_close_cb on_closed) {
  uv_poll_stop(&w->poll);
  if (w->callback) napi_delete_reference(env, w->callback);
  w->callback = NULL;
  if (w->async) napi_async_destroy(env, w->async);
  w->async = NULL;
  uv_close((uv_handle_t *)&w->poll, on_closed);
}
