/* reply.h — build reply lines from typed replies (server side) and read
 * them back (client side). */
#ifndef SMM_REPLY_H
#define SMM_REPLY_H

#include "buf.h"
#include "proto.h"

/* smm_reply_format appends the reply to a request of op op, carrying tag
 * (compact JSON text, or NULL), as one line ending in "\n" to out.
 * Error replies (rep->err != SMM_ERR_NONE) use rep->message. Nothing in
 * rep is consumed. On allocation failure out->oom is set. */
void smm_reply_format(enum smm_op op, const char *tag, const struct smm_reply *rep,
		      struct smm_buf *out);

/* smm_stats_fragmentation returns 1 - largest_free/free, or 0 when free is 0. */
double smm_stats_fragmentation(const struct smm_stats *st);

#endif
