/* IPv4 / IPv6 socket addresses to and from text, shared by the TCP and UDP files of the addon. */
#ifndef PORTICO_SOCKADDR_H
#define PORTICO_SOCKADDR_H
#include <stddef.h>
#include <sys/socket.h>

/* Fills *ss and *len from a numeric address and a port. `family` is AF_INET or AF_INET6 to accept
 * only that family (a socket's own), or AF_UNSPEC for either. An IPv6 link-local address gets
 * `scope` (the interface index it is reached through, 0 for none) as its scope id. Returns 0, or
 * -1 for text that is not such an address. */
int sockaddr_parse(const char *text, int family, int port, unsigned int scope, struct sockaddr_storage *ss,
                   socklen_t *len);

/* The port of an AF_INET / AF_INET6 address; also writes the address as text to `text` (`size`
 * bytes, INET6_ADDRSTRLEN fit any) unless `text` is NULL. */
int sockaddr_port(const struct sockaddr_storage *ss, char *text, size_t size);

#endif
