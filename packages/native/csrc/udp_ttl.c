/* UDP sockets that send with TTL/hop limit 255 and report the TTL of every received datagram.
 *
 * BFD single hop (RFC 5881 section 5, the GTSM of RFC 5082) must send with TTL 255 and drop anything
 * that arrives with a lower TTL. Node's dgram cannot read the TTL of a received packet, so this file
 * opens the socket itself with IP_RECVTTL / IPV6_RECVHOPLIMIT and reads with recvmsg(). The socket is
 * non-blocking and watched by uv_poll on Node's event loop: datagrams are delivered as they arrive,
 * never by polling on a timer.
 *
 * JS API (wrapped by src/udp-ttl.ts):
 *   udpTtlOpen(address, port, ifname | null, onMessage | null) -> handle
 *       onMessage(data: Buffer, ttl: number, address: string, port: number)
 *   udpTtlSend(handle, data, address, port)
 *   udpTtlLocalPort(handle) -> number
 *   udpTtlClose(handle)
 * Errors are thrown with `code` set to the errno name (EADDRINUSE, ...). */
#define _GNU_SOURCE
#include "addon.h"
#include "napi_util.h"
#include "poll_callback.h"
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_DATAGRAM 2048
/* Datagrams read per readiness event before yielding back to the event loop. */
#define MAX_READS_PER_EVENT 64

typedef struct {
  poll_callback watch; /* set up only for sockets that receive */
  napi_env env;
  int fd;
  int family;
  unsigned int ifindex; /* scope id for IPv6 link-local destinations, 0 if unbound */
  int polling;
  int closing;
  int handle_closed;
  int finalized;
} udp_ttl_socket;

static void free_if_done(udp_ttl_socket *s) {
  if (s->handle_closed && s->finalized) free(s);
}

static void on_poll_closed(uv_handle_t *handle) {
  udp_ttl_socket *s = (udp_ttl_socket *)handle->data;
  s->handle_closed = 1;
  free_if_done(s);
}

/* Stops watching, releases the JS callback and closes the fd at once, so the address and port can
 * be bound again right away (libuv allows closing an fd once its poll handle is stopped); the
 * handle memory itself is released when libuv is done with it. */
static void close_socket(napi_env env, udp_ttl_socket *s) {
  if (s->closing) return;
  s->closing = 1;
  if (s->polling) {
    poll_callback_stop(env, &s->watch, on_poll_closed);
  } else {
    s->handle_closed = 1;
  }
  close(s->fd);
}

static void finalize_socket(napi_env env, void *data, void *hint) {
  (void)hint;
  udp_ttl_socket *s = (udp_ttl_socket *)data;
  close_socket(env, s);
  s->finalized = 1;
  free_if_done(s);
}

/* Reads the TTL (IPv4) or hop limit (IPv6) from the control messages; -1 when absent. */
static int received_ttl(struct msghdr *msg) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    int value;
    if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
        (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
      memcpy(&value, CMSG_DATA(c), sizeof value);
      return value;
    }
  }
  return -1;
}

static void deliver(udp_ttl_socket *s, const char *data, size_t len, int ttl,
                    const struct sockaddr_storage *from) {
  napi_env env = s->env;
  char address[INET6_ADDRSTRLEN] = "";
  int port = sockaddr_port(from, address, sizeof address);

  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[4];
  napi_create_buffer_copy(env, len, data, NULL, &argv[0]);
  napi_create_int32(env, ttl, &argv[1]);
  napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_int32(env, port, &argv[3]);
  poll_callback_call(env, &s->watch, 4, argv);
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  udp_ttl_socket *s = (udp_ttl_socket *)handle->data;
  if (status < 0) return;
  for (int i = 0; i < MAX_READS_PER_EVENT && !s->closing; i++) {
    char data[MAX_DATAGRAM];
    char control[CMSG_SPACE(sizeof(int)) * 4];
    struct sockaddr_storage from;
    struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
    struct msghdr msg = {.msg_name = &from,
                         .msg_namelen = sizeof from,
                         .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control,
                         .msg_controllen = sizeof control};
    ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT);
    if (n < 0) return; /* EAGAIN: drained. Other errors (ICMP-induced) concern no one here. */
    if (msg.msg_flags & MSG_TRUNC) continue; /* larger than any valid BFD packet */
    deliver(s, data, (size_t)n, received_ttl(&msg), &from);
  }
}

static int set_int(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value);
}

static napi_value udp_ttl_open(napi_env env, napi_callback_info info) {
  static const char fn[] = "udpTtlOpen";
  napi_value argv[4];
  char address[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];
  int32_t port;
  int receives;
  if (!get_args(env, info, 4, argv, "udpTtlOpen(address, port, ifname, onMessage)") ||
      !get_string_arg(env, argv[0], fn, "address", 0, address, sizeof address, NULL) ||
      !get_int32_arg(env, argv[1], fn, "port", &port) ||
      !get_string_arg(env, argv[2], fn, "ifname", 1, ifname, sizeof ifname, NULL) ||
      !check_function_arg(env, argv[3], fn, "onMessage", 1, &receives)) {
    return NULL;
  }
  if (port < 0 || port > 65535) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udpTtlOpen: port must be 0..65535");
    return NULL;
  }

  unsigned int ifindex = 0;
  if (ifname[0] && (ifindex = if_nametoindex(ifname)) == 0)
    return throw_errno(env, NULL, "if_nametoindex", errno);

  /* The local address chooses the socket's family. */
  struct sockaddr_storage local;
  socklen_t local_len;
  if (sockaddr_parse(address, AF_UNSPEC, port, ifindex, &local, &local_len) != 0) {
    napi_throw_type_error(env, NULL, "udpTtlOpen: invalid IP address");
    return NULL;
  }
  int family = local.ss_family;

  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, NULL, "socket", errno);
  int ok;
  if (family == AF_INET6) {
    ok = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) == 0 &&
         set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255) == 0 &&
         set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) == 0 &&
         /* Network control traffic class (CS6), as routers expect for BFD. */
         set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, 0xc0) == 0;
  } else {
    ok = set_int(fd, IPPROTO_IP, IP_TTL, 255) == 0 && set_int(fd, IPPROTO_IP, IP_RECVTTL, 1) == 0 &&
         set_int(fd, IPPROTO_IP, IP_TOS, 0xc0) == 0;
  }
  if (ok && ifname[0])
    ok = setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) == 0;
  if (!ok || bind(fd, (struct sockaddr *)&local, local_len) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, NULL, ok ? "bind" : "setsockopt", err);
  }

  udp_ttl_socket *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return throw_errno(env, NULL, "udpTtlOpen", ENOMEM);
  }
  s->env = env;
  s->fd = fd;
  s->family = family;
  s->ifindex = ifindex;

  if (receives) {
    if (!poll_callback_start(env, &s->watch, fd, s, argv[3], "portico:udpTtl", on_readable)) {
      close(fd);
      free(s);
      return throw_errno(env, NULL, "uv_poll_init", EIO);
    }
    s->polling = 1;
  }

  napi_value handle;
  napi_create_external(env, s, finalize_socket, NULL, &handle);
  return handle;
}

/* The open socket behind argument `handle` of `fn`; NULL after throwing. */
static udp_ttl_socket *get_socket(napi_env env, napi_value value, const char *fn) {
  udp_ttl_socket *s = get_external_arg(env, value, fn, "handle", "a udpTtl handle");
  if (!s) return NULL;
  if (s->closing) {
    napi_throw_error(env, "EBADF", "udpTtl socket is closed");
    return NULL;
  }
  return s;
}

static napi_value udp_ttl_send(napi_env env, napi_callback_info info) {
  static const char fn[] = "udpTtlSend";
  napi_value argv[4];
  udp_ttl_socket *s;
  void *data;
  size_t len;
  char address[INET6_ADDRSTRLEN];
  int32_t port;
  struct sockaddr_storage to;
  socklen_t to_len;
  if (!get_args(env, info, 4, argv, "udpTtlSend(handle, data, address, port)") ||
      (s = get_socket(env, argv[0], fn)) == NULL || !get_buffer_arg(env, argv[1], fn, "data", 0, &data, &len) ||
      !get_string_arg(env, argv[2], fn, "address", 0, address, sizeof address, NULL) ||
      !get_int32_arg(env, argv[3], fn, "port", &port)) {
    return NULL;
  }
  if (port <= 0 || port > 65535 || sockaddr_parse(address, s->family, port, s->ifindex, &to, &to_len) != 0) {
    napi_throw_type_error(env, NULL, "udpTtlSend: bad address or port");
    return NULL;
  }
  /* A full send buffer drops the datagram, as the network could: BFD tolerates loss by design. */
  if (sendto(s->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&to, to_len) < 0 &&
      errno != EAGAIN && errno != EWOULDBLOCK)
    return throw_errno(env, NULL, "sendto", errno);
  return NULL;
}

static napi_value udp_ttl_local_port(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  udp_ttl_socket *s;
  if (!get_args(env, info, 1, argv, "udpTtlLocalPort(handle)") ||
      (s = get_socket(env, argv[0], "udpTtlLocalPort")) == NULL)
    return NULL;
  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  if (getsockname(s->fd, (struct sockaddr *)&local, &len) != 0)
    return throw_errno(env, NULL, "getsockname", errno);
  napi_create_int32(env, sockaddr_port(&local, NULL, 0), &result);
  return result;
}

static napi_value udp_ttl_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  udp_ttl_socket *s;
  if (!get_args(env, info, 1, argv, "udpTtlClose(handle)") ||
      (s = get_external_arg(env, argv[0], "udpTtlClose", "handle", "a udpTtl handle")) == NULL)
    return NULL;
  close_socket(env, s); /* idempotent */
  return NULL;
}

napi_status register_udp_ttl(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"udpTtlOpen", NULL, udp_ttl_open, NULL, NULL, NULL, napi_default, NULL},
      {"udpTtlSend", NULL, udp_ttl_send, NULL, NULL, NULL, napi_default, NULL},
      {"udpTtlLocalPort", NULL, udp_ttl_local_port, NULL, NULL, NULL, napi_default, NULL},
      {"udpTtlClose", NULL, udp_ttl_close, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
