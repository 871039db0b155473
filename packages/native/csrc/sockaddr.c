#include "sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

int sockaddr_parse(const char *text, int family, int port, unsigned int scope, struct sockaddr_storage *ss,
                   socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  if (family != AF_INET6 && inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    *len = sizeof *in4;
    return 0;
  }
  if (family != AF_INET && inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) in6->sin6_scope_id = scope;
    *len = sizeof *in6;
    return 0;
  }
  return -1;
}

int sockaddr_port(const struct sockaddr_storage *ss, char *text, size_t size) {
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    if (text) inet_ntop(AF_INET6, &in6->sin6_addr, text, size);
    return ntohs(in6->sin6_port);
  }
  const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
  if (text) inet_ntop(AF_INET, &in4->sin_addr, text, size);
  return ntohs(in4->sin_port);
}
