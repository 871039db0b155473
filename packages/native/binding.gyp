{
  "targets": [
    {
      "target_name": "portico_native",
      "sources": ["csrc/addon.c", "csrc/napi_util.c", "csrc/packet.c", "csrc/poll_callback.c", "csrc/sockaddr.c", "csrc/tcp_md5.c", "csrc/udp_ttl.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
