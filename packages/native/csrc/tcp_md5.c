/* TCP sockets with the options Node cannot set before connect(): the TCP MD5 signature option
 * (RFC 2385, Linux TCP_MD5SIG), the IP TTL / IPv6 hop limit (eBGP multihop, GTSM) and a source
 * address. Node offers no hook between socket() and connect(), so the connect runs here, on the
 * libuv threadpool (it may wait for the SYN-ACK), and the connected fd is handed to
 * `new net.Socket({ fd })`. For passive sessions the listening socket is made here too and given to
 * `server.listen({ fd })`; MD5 keys are then added per peer with tcpSetMd5 on the listening fd.
 *
 * JS API (wrapped by src/tcp-md5.ts):
 *   tcpConnect(peer, port, local | null, localPort, key | null, ttl, timeoutMs) -> Promise<fd>
 *   tcpListen(address, port, backlog) -> fd
 *   tcpSetMd5(fd, peer, key)        key "" removes the key for that peer
 *   tcpSetTtl(fd, ttl)
 *   tcpCloseFd(fd)
 * Errors carry `code` = the errno name (ECONNREFUSED, ETIMEDOUT, ...). Arguments of the wrong type
 * throw a TypeError naming the argument; ranges (port, TTL, timeout) are checked by the TS wrapper. */
#define _GNU_SOURCE
#include "addon.h"
#include "napi_util.h"
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* RFC 2385 via Linux: one key per peer address on the socket; keylen 0 deletes it. */
static int set_md5(int fd, const struct sockaddr_storage *peer, const char *key) {
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  memcpy(&sig.tcpm_addr, peer, sizeof sig.tcpm_addr);
  size_t keylen = strlen(key);
  if (keylen > TCP_MD5SIG_MAXKEYLEN) {
    errno = EINVAL;
    return -1;
  }
  sig.tcpm_keylen = (unsigned short)keylen;
  memcpy(sig.tcpm_key, key, keylen);
  return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig);
}

/* IP TTL or IPv6 hop limit of the packets sent, whichever the socket's family uses. */
static int set_family_ttl(int fd, int family, int ttl) {
  if (family == AF_INET6) return setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
  return setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
}

static int set_ttl(int fd, int ttl) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  return set_family_ttl(fd, ss.ss_family, ttl);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char peer[64];
  char local[64];
  int has_local;
  int port;
  int local_port;
  char key[TCP_MD5SIG_MAXKEYLEN + 1];
  int has_key;
  int ttl;
  int timeout_ms;
  int fd;
  int err;
  const char *step;
} connect_job;

static void connect_execute(napi_env env, void *data) {
  (void)env;
  connect_job *job = data;
  struct sockaddr_storage peer, local;
  socklen_t peer_len, local_len;
  job->fd = -1;
  if (sockaddr_parse(job->peer, AF_UNSPEC, job->port, 0, &peer, &peer_len) != 0) {
    job->err = EINVAL;
    job->step = "peer address";
    return;
  }
  int fd = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    job->err = errno;
    job->step = "socket";
    return;
  }
  job->step = NULL;
  if (job->has_key && set_md5(fd, &peer, job->key) != 0) job->step = "setsockopt(TCP_MD5SIG)";
  if (!job->step && job->has_local) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sockaddr_parse(job->local, AF_UNSPEC, job->local_port, 0, &local, &local_len) != 0) {
      errno = EINVAL;
      job->step = "local address";
    } else if (bind(fd, (struct sockaddr *)&local, local_len) != 0) {
      job->step = "bind";
    }
  }
  if (!job->step && job->ttl > 0 && set_family_ttl(fd, peer.ss_family, job->ttl) != 0) job->step = "setsockopt(TTL)";
  if (!job->step && connect(fd, (struct sockaddr *)&peer, peer_len) != 0 && errno != EINPROGRESS) {
    job->step = "connect";
  }
  if (!job->step) {
    /* Wait for the handshake with a deadline: a peer whose kernel drops our SYNs (wrong MD5 key)
     * would otherwise hold this thread for the kernel's whole SYN retry schedule. */
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int rc = poll(&p, 1, job->timeout_ms);
    if (rc == 0) {
      errno = ETIMEDOUT;
      job->step = "connect";
    } else if (rc < 0) {
      job->step = "poll";
    } else {
      int soerr = 0;
      socklen_t l = sizeof soerr;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
      if (soerr != 0) {
        errno = soerr;
        job->step = "connect";
      }
    }
  }
  if (job->step) {
    job->err = errno;
    close(fd);
    return;
  }
  job->fd = fd;
}

static void connect_complete(napi_env env, napi_status status, void *data) {
  connect_job *job = data;
  if (status == napi_ok && job->fd >= 0) {
    napi_value fd;
    napi_create_int32(env, job->fd, &fd);
    napi_resolve_deferred(env, job->deferred, fd);
  } else {
    char message[256];
    snprintf(message, sizeof message, "%s %s port %d: %s", job->step ? job->step : "connect", job->peer, job->port,
             strerror(job->err));
    napi_value msg, code, error;
    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, errno_code(job->err), NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

/* Every argument is checked here, not only in the TS wrapper: a wrong type must throw, naming the
 * argument, instead of leaving a default (port 0, the system TTL, an immediate timeout) in place. */
static napi_value tcp_connect(napi_env env, napi_callback_info info) {
  static const char fn[] = "tcpConnect";
  napi_value argv[7];
  if (!get_args(env, info, 7, argv, "tcpConnect(peer, port, local, localPort, key, ttl, timeoutMs)")) return NULL;
  connect_job *job = calloc(1, sizeof *job);
  if (!job) return throw_errno(env, NULL, fn, ENOMEM);
  int32_t port, local_port, ttl, timeout_ms;
  if (!get_string_arg(env, argv[0], fn, "peer", 0, job->peer, sizeof job->peer, NULL) ||
      !get_int32_arg(env, argv[1], fn, "port", &port) ||
      !get_string_arg(env, argv[2], fn, "local", 1, job->local, sizeof job->local, &job->has_local) ||
      !get_int32_arg(env, argv[3], fn, "localPort", &local_port) ||
      !get_string_arg(env, argv[4], fn, "key", 1, job->key, sizeof job->key, &job->has_key) ||
      !get_int32_arg(env, argv[5], fn, "ttl", &ttl) || !get_int32_arg(env, argv[6], fn, "timeoutMs", &timeout_ms)) {
    free(job);
    return NULL;
  }
  job->port = port;
  job->local_port = local_port;
  job->ttl = ttl;
  job->timeout_ms = timeout_ms;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "portico:tcpConnect", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, connect_execute, connect_complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static napi_value tcp_listen(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char address[64];
  int32_t port, backlog;
  if (!get_args(env, info, 3, argv, "tcpListen(address, port, backlog)") ||
      !get_string_arg(env, argv[0], "tcpListen", "address", 0, address, sizeof address, NULL) ||
      !get_int32_arg(env, argv[1], "tcpListen", "port", &port) ||
      !get_int32_arg(env, argv[2], "tcpListen", "backlog", &backlog)) {
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len;
  if (sockaddr_parse(address, AF_UNSPEC, port, 0, &ss, &len) != 0) return throw_errno(env, NULL, "listen address", EINVAL);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return throw_errno(env, NULL, "socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6) {
    /* "::" accepts IPv4 peers too (as v4-mapped), like Node's default listen. */
    int zero = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, NULL, "bind/listen", err);
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value tcp_set_md5(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  char peer[64], key[TCP_MD5SIG_MAXKEYLEN + 1];
  if (!get_args(env, info, 3, argv, "tcpSetMd5(fd, peer, key)") ||
      !get_int32_arg(env, argv[0], "tcpSetMd5", "fd", &fd) ||
      !get_string_arg(env, argv[1], "tcpSetMd5", "peer", 0, peer, sizeof peer, NULL) ||
      !get_string_arg(env, argv[2], "tcpSetMd5", "key", 0, key, sizeof key, NULL)) {
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len;
  if (sockaddr_parse(peer, AF_UNSPEC, 0, 0, &ss, &len) != 0) return throw_errno(env, NULL, "peer address", EINVAL);
  /* A listening socket bound to "::" sees IPv4 peers as v4-mapped IPv6 addresses. */
  struct sockaddr_storage own;
  socklen_t own_len = sizeof own;
  if (ss.ss_family == AF_INET && getsockname(fd, (struct sockaddr *)&own, &own_len) == 0 && own.ss_family == AF_INET6) {
    struct sockaddr_in v4 = *(struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    memset(&ss, 0, sizeof ss);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr.s6_addr[10] = 0xff;
    v6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&v6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
  }
  if (set_md5(fd, &ss, key) != 0) return throw_errno(env, NULL, "setsockopt(TCP_MD5SIG)", errno);
  return NULL;
}

static napi_value tcp_set_ttl(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, ttl;
  if (!get_args(env, info, 2, argv, "tcpSetTtl(fd, ttl)") || !get_int32_arg(env, argv[0], "tcpSetTtl", "fd", &fd) ||
      !get_int32_arg(env, argv[1], "tcpSetTtl", "ttl", &ttl)) {
    return NULL;
  }
  if (set_ttl(fd, ttl) != 0) return throw_errno(env, NULL, "setsockopt(TTL)", errno);
  return NULL;
}

static napi_value tcp_close_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv, "tcpCloseFd(fd)") || !get_int32_arg(env, argv[0], "tcpCloseFd", "fd", &fd)) {
    return NULL;
  }
  close(fd);
  return NULL;
}

napi_status register_tcp_md5(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"tcpConnect", NULL, tcp_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpListen", NULL, tcp_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpSetMd5", NULL, tcp_set_md5, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpSetTtl", NULL, tcp_set_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpCloseFd", NULL, tcp_close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
