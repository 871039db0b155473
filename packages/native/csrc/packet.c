/* AF_PACKET sockets for the layer-2 announcer: Node has no API to send or receive whole Ethernet
 * frames (ARP has no IP layer at all), so this file opens packet(7) sockets bound to one interface
 * and one ethertype, and hands every received frame to a JavaScript callback from the event loop
 * (uv_poll on a non-blocking socket: no polling loop, no thread).
 *
 * It also owns an IPv6 datagram socket used only for IPV6_JOIN_GROUP: joining the solicited-node
 * group that way makes the kernel send the MLD reports that snooping switches need (RFC 4861 §7.2.1)
 * and program the NIC's multicast filter. The socket is never bound, so it receives nothing.
 *
 * JavaScript API (wrapped by src/packet.ts):
 *   packetOpen(ifindex, ethertype, filter|null, onFrame(frame, pkttype)) -> handle
 *   packetSend(handle, frame) -> bytes sent
 *   packetMembership(handle, mac, add) -> undefined       link-layer multicast (PACKET_MR_MULTICAST)
 *   packetClose(handle)
 *   groupOpen() -> handle; groupMembership(handle, ifindex, group16, add); groupClose(handle)
 *   linkWatchOpen(onChange()) -> handle, closed with packetClose(handle)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"
#include "napi_util.h"
#include "poll_callback.h"

/* Frames read per readable event before yielding back to the event loop, so a flood on one
 * interface cannot starve everything else; uv_poll calls us again while data remains. */
#define MAX_FRAMES_PER_EVENT 64
#define MAX_FRAME 9216 /* jumbo frames; anything longer is truncated and dropped below */
#define MAX_FILTER 256
#define PACKET_ERROR "ERR_PORTICO_PACKET" /* `code` of every system call error thrown here */

typedef struct {
  napi_env env;
  int fd;
  int ifindex;
  poll_callback watch;
  int closed;    /* packetClose or the finalizer started shutting down */
  int poll_done; /* libuv has finished with the poll handle */
  int finalized; /* the JavaScript handle was collected */
  unsigned char frame[MAX_FRAME];
} packet_socket;

typedef struct {
  int fd;
} group_socket;

/* The struct is shared by libuv (the poll handle) and JavaScript (the external): it is freed
 * once both are done with it. */
static void on_poll_closed(uv_handle_t *handle) {
  packet_socket *s = handle->data;
  /* Closed only now that libuv no longer watches it, so the number cannot be reused under it. */
  close(s->fd);
  s->fd = -1;
  s->poll_done = 1;
  if (s->finalized) free(s);
}

/* Stops watching and releases the callback; the descriptor is closed once libuv lets go of it.
 * Safe to call twice. */
static void packet_shutdown(packet_socket *s) {
  if (s->closed) return;
  s->closed = 1;
  poll_callback_stop(s->env, &s->watch, on_poll_closed);
}

/* Called when the JavaScript handle is garbage collected: a socket nobody can reach is closed. */
static void packet_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  packet_socket *s = data;
  s->finalized = 1;
  packet_shutdown(s);
  if (s->poll_done) free(s);
}

static void deliver(packet_socket *s, const unsigned char *frame, size_t len, int pkttype) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[2];
  void *data;
  if (napi_create_buffer_copy(env, len, frame, &data, &argv[0]) == napi_ok &&
      napi_create_int32(env, pkttype, &argv[1]) == napi_ok) {
    poll_callback_call(env, &s->watch, 2, argv);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  packet_socket *s = poll->data;
  if (status < 0 || !(events & UV_READABLE)) return;
  unsigned char *frame = s->frame;
  for (int i = 0; i < MAX_FRAMES_PER_EVENT && !s->closed; i++) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(s->fd, frame, MAX_FRAME, MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
    if (n < 0) return; /* EAGAIN: drained; other errors: nothing useful to do with this frame */
    if (n > MAX_FRAME) continue; /* truncated */
    /* Our own transmissions loop back to packet sockets as PACKET_OUTGOING: never "receive" them. */
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    deliver(s, frame, (size_t)n, from.sll_pkttype);
  }
}

/* Attaches a classic BPF program given as an array of [code, jt, jf, k] so the kernel drops the
 * frames we do not care about (e.g. all IPv6 traffic except Neighbor Solicitations/Advertisements)
 * before they are copied to user space. */
static int attach_filter(napi_env env, int fd, napi_value program) {
  uint32_t count;
  if (napi_get_array_length(env, program, &count) != napi_ok || count == 0 || count > MAX_FILTER) {
    napi_throw_type_error(env, NULL, "filter must be an array of 1..256 [code, jt, jf, k] instructions");
    return 0;
  }
  struct sock_filter code[MAX_FILTER];
  for (uint32_t i = 0; i < count; i++) {
    napi_value insn, field;
    uint32_t f[4];
    if (napi_get_element(env, program, i, &insn) != napi_ok) return 0;
    for (uint32_t j = 0; j < 4; j++) {
      if (napi_get_element(env, insn, j, &field) != napi_ok || napi_get_value_uint32(env, field, &f[j]) != napi_ok) {
        napi_throw_type_error(env, NULL, "filter instruction must be [code, jt, jf, k] numbers");
        return 0;
      }
    }
    code[i].code = (uint16_t)f[0];
    code[i].jt = (uint8_t)f[1];
    code[i].jf = (uint8_t)f[2];
    code[i].k = f[3];
  }
  struct sock_fprog prog = {.len = (unsigned short)count, .filter = code};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) {
    throw_errno(env, PACKET_ERROR, "setsockopt(SO_ATTACH_FILTER)", errno);
    return 0;
  }
  return 1;
}

/* The open packet socket behind argument `handle` of `fn`; NULL after throwing. */
static packet_socket *unwrap_packet(napi_env env, napi_value value, const char *fn) {
  packet_socket *s = get_external_arg(env, value, fn, "handle", "a packet socket handle");
  if (s == NULL) return NULL;
  if (s->closed) {
    napi_throw_error(env, "ERR_PORTICO_PACKET_CLOSED", "packet socket is closed");
    return NULL;
  }
  return s;
}

/* Wraps a bound, non-blocking socket in a packet_socket that libuv watches for readability, calling
 * `callback` through on_ready; returns the JavaScript handle. Takes ownership of fd: on failure it
 * is closed and an error thrown. Shared by packet sockets and the rtnetlink link watcher. */
static napi_value watch_socket(napi_env env, int fd, int ifindex, napi_value callback, const char *resource_name,
                               uv_poll_cb on_ready) {
  packet_socket *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return throw_errno(env, PACKET_ERROR, "calloc", ENOMEM);
  }
  s->env = env;
  s->fd = fd;
  s->ifindex = ifindex;
  if (!poll_callback_start(env, &s->watch, fd, s, callback, resource_name, on_ready)) {
    close(fd);
    free(s);
    return throw_errno(env, PACKET_ERROR, "uv_poll_init", EINVAL);
  }
  napi_value handle;
  napi_create_external(env, s, packet_finalize, NULL, &handle);
  return handle;
}

static napi_value packet_open(napi_env env, napi_callback_info info) {
  static const char fn[] = "packetOpen";
  napi_value argv[4];
  int32_t ifindex, ethertype;
  napi_valuetype filter_type;
  if (!get_args(env, info, 4, argv, "packetOpen(ifindex, ethertype, filter|null, onFrame)") ||
      !get_int32_arg(env, argv[0], fn, "ifindex", &ifindex) ||
      !get_int32_arg(env, argv[1], fn, "ethertype", &ethertype) ||
      !check_function_arg(env, argv[3], fn, "onFrame", 0, NULL)) {
    return NULL;
  }
  if (napi_typeof(env, argv[2], &filter_type) != napi_ok) filter_type = napi_undefined;
  /* Filter first, then bind: binding starts delivery, so no unfiltered frame can slip in. The
   * socket is opened with protocol 0 (receives nothing) until bind sets the real ethertype. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, PACKET_ERROR, "socket(AF_PACKET)", errno);
  if (filter_type == napi_object && !attach_filter(env, fd, argv[2])) {
    close(fd);
    return NULL;
  }
  struct sockaddr_ll addr;
  memset(&addr, 0, sizeof addr);
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons((uint16_t)ethertype);
  addr.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, PACKET_ERROR, "bind(AF_PACKET)", err);
  }
  return watch_socket(env, fd, ifindex, argv[3], "PorticoPacketSocket", on_readable);
}

static napi_value packet_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  packet_socket *s;
  void *data;
  size_t len;
  if (!get_args(env, info, 2, argv, "packetSend(handle, frame)") ||
      (s = unwrap_packet(env, argv[0], "packetSend")) == NULL ||
      !get_buffer_arg(env, argv[1], "packetSend", "frame", 0, &data, &len)) {
    return NULL;
  }
  /* The frame carries its own Ethernet header; the bound ifindex picks the interface. */
  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_ifindex = s->ifindex;
  ssize_t n = sendto(s->fd, data, len, 0, (struct sockaddr *)&to, sizeof to);
  if (n < 0) return throw_errno(env, PACKET_ERROR, "sendto(AF_PACKET)", errno);
  napi_value result;
  napi_create_int64(env, n, &result);
  return result;
}

static napi_value packet_membership(napi_env env, napi_callback_info info) {
  static const char fn[] = "packetMembership";
  napi_value argv[3];
  packet_socket *s;
  void *mac;
  size_t len;
  bool add;
  if (!get_args(env, info, 3, argv, "packetMembership(handle, mac, add)") ||
      (s = unwrap_packet(env, argv[0], fn)) == NULL || !get_buffer_arg(env, argv[1], fn, "mac", 6, &mac, &len) ||
      !get_bool_arg(env, argv[2], fn, "add", &add)) {
    return NULL;
  }
  struct packet_mreq mreq;
  memset(&mreq, 0, sizeof mreq);
  mreq.mr_ifindex = s->ifindex;
  mreq.mr_type = PACKET_MR_MULTICAST;
  mreq.mr_alen = 6;
  memcpy(mreq.mr_address, mac, 6);
  int option = add ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP;
  if (setsockopt(s->fd, SOL_PACKET, option, &mreq, sizeof mreq) < 0) {
    return throw_errno(env, PACKET_ERROR, add ? "PACKET_ADD_MEMBERSHIP" : "PACKET_DROP_MEMBERSHIP", errno);
  }
  return NULL;
}

static napi_value packet_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  packet_socket *s;
  if (!get_args(env, info, 1, argv, "packetClose(handle)") ||
      (s = get_external_arg(env, argv[0], "packetClose", "handle", "a packet socket handle")) == NULL) {
    return NULL;
  }
  packet_shutdown(s);
  return NULL;
}

/* --- Interface change notifications (rtnetlink) ---
 * A NETLINK_ROUTE socket subscribed to link and address changes. The messages are not parsed:
 * any of them (or a lost one, ENOBUFS) means "rescan the interfaces", which JavaScript does from
 * /sys/class/net. One callback per readable event, however many messages arrived. */

static void on_netlink_readable(uv_poll_t *poll, int status, int events) {
  packet_socket *s = poll->data;
  if (status < 0 || !(events & UV_READABLE)) return;
  int changed = 0;
  for (int i = 0; i < 256; i++) {
    ssize_t n = recv(s->fd, s->frame, MAX_FRAME, 0);
    if (n < 0 && errno == ENOBUFS) changed = 1; /* messages were lost: a rescan covers them */
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      continue;
    }
    changed = 1;
  }
  if (!changed || s->closed) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
  poll_callback_call(s->env, &s->watch, 0, NULL);
  napi_close_handle_scope(s->env, scope);
}

static napi_value link_watch_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, "linkWatchOpen(onChange)") ||
      !check_function_arg(env, argv[0], "linkWatchOpen", "onChange", 0, NULL)) {
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return throw_errno(env, PACKET_ERROR, "socket(AF_NETLINK)", errno);
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, PACKET_ERROR, "bind(AF_NETLINK)", err);
  }
  return watch_socket(env, fd, 0, argv[0], "PorticoLinkWatch", on_netlink_readable);
}

/* --- IPv6 multicast group membership (MLD) --- */

static void group_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  group_socket *g = data;
  if (g->fd >= 0) close(g->fd);
  free(g);
}

static napi_value group_open(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, PACKET_ERROR, "socket(AF_INET6)", errno);
  group_socket *g = malloc(sizeof *g);
  if (g == NULL) {
    close(fd);
    return throw_errno(env, PACKET_ERROR, "malloc", ENOMEM);
  }
  g->fd = fd;
  napi_value handle;
  napi_create_external(env, g, group_finalize, NULL, &handle);
  return handle;
}

static napi_value group_membership(napi_env env, napi_callback_info info) {
  static const char fn[] = "groupMembership";
  napi_value argv[4];
  group_socket *g;
  int32_t ifindex;
  void *group;
  size_t len;
  bool add;
  if (!get_args(env, info, 4, argv, "groupMembership(handle, ifindex, group: 16-byte Buffer, add)") ||
      (g = get_external_arg(env, argv[0], fn, "handle", "a group socket handle")) == NULL ||
      !get_int32_arg(env, argv[1], fn, "ifindex", &ifindex) ||
      !get_buffer_arg(env, argv[2], fn, "group", 16, &group, &len) || !get_bool_arg(env, argv[3], fn, "add", &add)) {
    return NULL;
  }
  if (g->fd < 0) {
    napi_throw_error(env, "ERR_PORTICO_PACKET_CLOSED", "group socket is closed");
    return NULL;
  }
  struct ipv6_mreq mreq;
  memcpy(&mreq.ipv6mr_multiaddr, group, 16);
  mreq.ipv6mr_interface = (unsigned)ifindex;
  int option = add ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP;
  if (setsockopt(g->fd, IPPROTO_IPV6, option, &mreq, sizeof mreq) < 0) {
    return throw_errno(env, PACKET_ERROR, add ? "IPV6_JOIN_GROUP" : "IPV6_LEAVE_GROUP", errno);
  }
  return NULL;
}

static napi_value group_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  group_socket *g;
  if (!get_args(env, info, 1, argv, "groupClose(handle)") ||
      (g = get_external_arg(env, argv[0], "groupClose", "handle", "a group socket handle")) == NULL) {
    return NULL;
  }
  /* Closing the socket leaves every group it joined (the kernel sends MLD Done as needed). */
  if (g->fd >= 0) close(g->fd);
  g->fd = -1;
  return NULL;
}

napi_status register_packet(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"packetOpen", NULL, packet_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"packetSend", NULL, packet_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"packetMembership", NULL, packet_membership, NULL, NULL, NULL, napi_enumerable, NULL},
      {"packetClose", NULL, packet_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"linkWatchOpen", NULL, link_watch_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"groupOpen", NULL, group_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"groupMembership", NULL, group_membership, NULL, NULL, NULL, napi_enumerable, NULL},
      {"groupClose", NULL, group_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
