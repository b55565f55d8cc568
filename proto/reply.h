/* reply.h — build reply lines from typed replies (server side) and read
 * them back (client side). */
#ifndef SMM_REPLY_H
#define SMM_REPLY_H

#include "buf.h"
#include "proto.h"

/* smm_reply_format appends the reply to a request of op op, carrying tag
 * (tag_len bytes of JSON text echoed as they are, or NULL), as one line
 * ending in "\n" to out. Error replies (rep->err != SMM_ERR_NONE) use
 * rep->message. Nothing in rep is consumed. When out cannot hold the line
 * (memory ran out, or a fixed buffer is too small) out->oom is set. */
void smm_reply_format(enum smm_op op, const char *tag, size_t tag_len,
		      const struct smm_reply *rep, struct smm_buf *out);

/* smm_reply_bound returns a number of bytes the reply line to op with
 * rep and a tag of tag_len bytes never exceeds, so a caller can reserve
 * the space first and format into it (smm_buf_init_fixed). */
size_t smm_reply_bound(enum smm_op op, size_t tag_len, const struct smm_reply *rep);

/* smm_stats_fragmentation returns 1 - largest_free/free, or 0 when free is 0. */
double smm_stats_fragmentation(const struct smm_stats *st);

#endif
