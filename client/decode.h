/* decode.h — one reply line from the server to a typed struct smm_reply,
 * the inverse of proto's smm_reply_format. Pure: no I/O, no threads. */
#ifndef SMM_DECODE_H
#define SMM_DECODE_H

#include <stddef.h>

#include "proto.h"

/* Longest policy name a stats reply may carry. */
#define SMM_DECODE_POLICY_MAX 32

/* smm_decode_reply reads line[0..len) (without its "\n"), the server's
 * answer to a request of op op, into *rep, which it clears first with
 * smm_reply_clear (so rep must be zeroed or hold an earlier reply).
 * A success reply fills the fields op uses; an error reply sets rep->err
 * and rep->message. For stats, rep->stats.policy points into policy,
 * which must outlive the reply.
 * Returns 0 when the line is a well-formed reply (success or error),
 * or -1 when it is not (not JSON, a field missing or of the wrong type, an
 * unknown error code); then rep->err is SMM_ERR_NONE and rep->message says
 * what was wrong. Either way the caller owns what rep holds and releases
 * it with smm_reply_clear. Thread-safe: no shared state. */
int smm_decode_reply(enum smm_op op, const char *line, size_t len, struct smm_reply *rep,
		     char policy[SMM_DECODE_POLICY_MAX]);

#endif
