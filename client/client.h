/* client.h — libsmmclient: talk to an smm-server over TCP.
 *
 * One struct smm_client is one connection. Calls on one connection must
 * come from one thread at a time; different connections share nothing,
 * so any number of threads may each use their own. Nothing here prints,
 * exits or raises signals (writes use MSG_NOSIGNAL).
 *
 * Two ways to use a connection:
 *  - blocking calls (smm_client_ping ... smm_client_pipeline) that return
 *    when the reply is in, or when the server made no progress for the
 *    connection's timeout;
 *  - the non-blocking pieces they are built from (smm_client_send,
 *    smm_client_events, smm_client_io, smm_client_next) for callers that
 *    run their own poll(2) loop over many connections.
 *
 * Replies arrive in request order (the server guarantees it), so any
 * number of requests may be in flight on one connection. */
#ifndef SMM_CLIENT_H
#define SMM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* Default wait for the server before a call gives up. */
#define SMM_CLIENT_DEFAULT_TIMEOUT_MS 5000
/* Longest reply line we buffer: a full 1 MiB dump with its blocks fits. */
#define SMM_CLIENT_MAX_LINE (16u * 1024u * 1024u)
/* smm_client_dump's length for "up to the end of the arena". */
#define SMM_CLIENT_TO_END UINT64_MAX

/* What became of a call. */
enum smm_client_status {
	SMM_CLIENT_OK,     /* the server answered with success */
	SMM_CLIENT_EREPLY, /* the server answered with an error: rep->err, rep->message */
	SMM_CLIENT_ENET,   /* no usable answer: connection lost, timed out, or the reply
			    * was unreadable; rep->message says which. The connection is
			    * then broken: every later call fails the same way. */
};

struct smm_client;

/* smm_client_connect connects to host:port, waiting at most timeout_ms
 * (> 0) for the connection and, later, for each reply. Returns 0 and sets
 * *out to a connection the caller owns (release with smm_client_close),
 * or -1 with one line in err and *out NULL. Any thread. */
int smm_client_connect(const char *host, int port, int timeout_ms, struct smm_client **out,
		       char *err, size_t errlen);

/* A trace callback sees every line on the connection, without its
 * newline: dir is '>' for a request (when it is queued; a reset's admin
 * token shows as "(hidden)"), '<' for a reply (when it is read). It runs
 * on the thread using the connection. */
typedef void (*smm_client_trace_cb)(void *arg, char dir, const char *line, size_t len);

/* smm_client_trace makes cb(arg, ...) see c's lines from now on (cb NULL:
 * none). arg is the caller's and must outlive the tracing. */
void smm_client_trace(struct smm_client *c, smm_client_trace_cb cb, void *arg);

/* smm_client_close closes the socket and frees c. NULL is allowed.
 * Replies still owed are dropped. */
void smm_client_close(struct smm_client *c);

/* Blocking calls. Each sends one request and waits for its reply; rep is
 * cleared first (it must be zeroed or hold an earlier reply) and then
 * owned by the caller, who releases it with smm_reply_clear. */

/* smm_client_call sends req as it is. The others build the request. */
enum smm_client_status smm_client_call(struct smm_client *c, const struct smm_request *req,
				       struct smm_reply *rep);
enum smm_client_status smm_client_ping(struct smm_client *c, struct smm_reply *rep);

/* smm_client_malloc is the seed's my_malloc(id, size): on SMM_CLIENT_OK
 * the block starts at rep->addr and rep->key is what fill and free need.
 * A denied request (the seed's -1) is SMM_CLIENT_EREPLY with rep->err
 * SMM_ERR_NO_MEMORY. */
enum smm_client_status smm_client_malloc(struct smm_client *c, int64_t id, uint64_t size,
					 struct smm_reply *rep);

/* smm_client_renew moves the lease of the block at addr to end ttl_ms
 * from now (0: no lease); malloc with a lease is smm_client_call with
 * req.has_ttl and req.ttl_ms set. */
enum smm_client_status smm_client_renew(struct smm_client *c, uint64_t addr, uint64_t key,
					uint64_t ttl_ms, struct smm_reply *rep);

/* smm_client_fill writes ch into every byte of the block at addr (ch 0:
 * the owner's id character, as the seed's threads do). */
enum smm_client_status smm_client_fill(struct smm_client *c, uint64_t addr, uint64_t key,
				       char ch, struct smm_reply *rep);
enum smm_client_status smm_client_free(struct smm_client *c, uint64_t addr, uint64_t key,
				       struct smm_reply *rep);

/* smm_client_dump reads length bytes of memory from offset
 * (SMM_CLIENT_TO_END: to the end) into rep->memory, and with blocks the
 * live blocks into rep->blocks. */
enum smm_client_status smm_client_dump(struct smm_client *c, uint64_t offset, uint64_t length,
				       bool blocks, struct smm_reply *rep);

/* smm_client_stats reads the server's counters into rep->stats; its
 * policy name points into c, valid until the next call on c. */
enum smm_client_status smm_client_stats(struct smm_client *c, struct smm_reply *rep);

/* smm_client_reset frees every block; token is the server's admin token. */
enum smm_client_status smm_client_reset(struct smm_client *c, const char *token,
					struct smm_reply *rep);

/* smm_client_pipeline sends reqs[0..n) at once and reads their n replies
 * into reps[0..n) (each zeroed or holding an earlier reply; the caller
 * owns and clears them all afterwards). Returns SMM_CLIENT_OK when every
 * reply is a success, SMM_CLIENT_EREPLY when at least one is an error
 * (see each reps[i].err), SMM_CLIENT_ENET when the connection failed; then
 * every reply is cleared and reps[0].message says why. */
enum smm_client_status smm_client_pipeline(struct smm_client *c,
					   const struct smm_request *reqs, size_t n,
					   struct smm_reply *reps);

/* smm_client_describe writes one line about a call that did not succeed
 * into buf: "CODE: message" for SMM_CLIENT_EREPLY (the way the server
 * put it), "HOST:PORT: reason" for SMM_CLIENT_ENET. */
void smm_client_describe(enum smm_client_status st, const struct smm_reply *rep, char *buf,
			 size_t len);

/* smm_client_last_line returns the last reply line read, without its
 * newline ("" before any). Valid until the next call on c. */
const char *smm_client_last_line(const struct smm_client *c);

/* Non-blocking pieces. */

/* smm_client_send queues req to be written (nothing is written yet) and
 * remembers cookie, which smm_client_next hands back with its reply.
 * Returns 0, or -1 when memory ran out or c is broken (nothing queued). */
int smm_client_send(struct smm_client *c, const struct smm_request *req, uint64_t cookie);

/* smm_client_fd returns the socket, for poll(2). Owned by c. */
int smm_client_fd(const struct smm_client *c);

/* smm_client_events returns the poll(2) events c waits for: POLLIN while
 * replies are owed, POLLOUT while request bytes are unwritten. */
short smm_client_events(const struct smm_client *c);

/* smm_client_io writes and reads what it can without blocking, given the
 * revents poll(2) reported for smm_client_fd. Returns 0, or -1 when the
 * connection failed (c is then broken; smm_client_error says why). */
int smm_client_io(struct smm_client *c, short revents);

/* smm_client_next decodes the next complete reply, if any, into rep
 * (cleared first) and sets *cookie to its request's cookie. Returns 1
 * when it did (rep->err tells success from error), 0 when no complete
 * reply is buffered, -1 when c is broken (an unreadable reply breaks it)
 * and no complete reply is left: replies that arrived before a failure
 * are still handed out first. */
int smm_client_next(struct smm_client *c, struct smm_reply *rep, uint64_t *cookie);

/* smm_client_pending returns how many replies are still owed. */
size_t smm_client_pending(const struct smm_client *c);

/* smm_client_error returns why c broke, or "" while it is healthy. */
const char *smm_client_error(const struct smm_client *c);

#endif
