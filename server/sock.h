/* sock.h — listening-socket setup, apart from the event loop (as Redis
 * keeps anet.c apart from ae.c). */
#ifndef SMM_SOCK_H
#define SMM_SOCK_H

#include <stddef.h>

/* smm_sock_listen resolves host (IPv4 or IPv6 literal or name), binds the
 * first address that works on port (0: any free port) with SO_REUSEADDR,
 * listens, and returns the non-blocking, close-on-exec descriptor, which
 * the caller owns. Returns -1 with a reason in err on failure. */
int smm_sock_listen(const char *host, int port, char *err, size_t errlen);

/* smm_sock_name writes the bound address of fd as "HOST:PORT" ("[HOST]:PORT"
 * for IPv6) into out. Returns 0, or -1 with out empty. */
int smm_sock_name(int fd, char *out, size_t outlen);

#endif
