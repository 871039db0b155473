/* A socket watched by uv_poll on Node's event loop that calls a JavaScript function when it is
 * readable: shared by the packet, link-watch and TTL-checked UDP sockets. */
#ifndef PORTICO_POLL_CALLBACK_H
#define PORTICO_POLL_CALLBACK_H
#include <node_api.h>
#include <uv.h>

typedef struct {
  uv_poll_t poll;
  napi_ref callback;
  napi_async_context async; /* the async resource the callback runs in, for async_hooks */
} poll_callback;

/* Starts watching fd for readability: libuv calls on_ready with poll.data = data, and `callback`
 * is kept alive for poll_callback_call. Returns 0, having kept nothing, when libuv refuses fd. */
int poll_callback_start(napi_env env, poll_callback *w, int fd, void *data, napi_value callback,
                        const char *resource_name, uv_poll_cb on_ready);

/* Calls the callback from a libuv callback (outside any JavaScript frame; the caller holds a handle
 * scope). An exception it throws is reported as uncaught, as Node does for its own callbacks. */
void poll_callback_call(napi_env env, poll_callback *w, size_t argc, const napi_value *argv);

/* Stops watching at once and releases the callback; libuv calls on_closed when it has let go of
 * the poll handle, which must stay allocated until then. fd itself may be closed right away. */
void poll_callback_stop(napi_env env, poll_callback *w, uv_close_cb on_closed);

#endif
