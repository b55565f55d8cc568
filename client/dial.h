/* dial.h — open a TCP connection within a time limit. */
#ifndef SMM_DIAL_H
#define SMM_DIAL_H

#include <stddef.h>

/* smm_dial_tcp resolves host and connects to port, trying each address in
 * turn, and gives up once timeout_ms milliseconds have passed in all.
 * Returns a connected, non-blocking, close-on-exec socket with Nagle off,
 * which the caller owns and closes. On failure returns -1 and writes one
 * line into err ("cannot connect to HOST:PORT: Connection refused").
 * Thread-safe: no shared state. */
int smm_dial_tcp(const char *host, int port, int timeout_ms, char *err, size_t errlen);

/* smm_dial_now_ms returns CLOCK_MONOTONIC in milliseconds. */
long long smm_dial_now_ms(void);

#endif
