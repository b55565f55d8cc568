/* exec.h — carry out one parsed request on an arena: the seed's server
 * function for a single request. Pure: no threads, no I/O. */
#ifndef SMM_EXEC_H
#define SMM_EXEC_H

#include "arena.h"
#include "proto.h"

/* smm_exec_run performs req (malloc, fill, free, renew, dump, map, stats, reset,
 * or release: a closed connection's blocks) on a at time now (monotonic
 * milliseconds: leases end at now + ttl_ms) and writes the answer into
 * *rep, which it zeroes first. Admin tokens are not checked here: the
 * caller has already authorised a reset or an operator's free. Ops that
 * need no arena (ping, stop) succeed with an empty reply. On error rep->err
 * says why and a is unchanged. rep owns what it points to afterwards
 * (release with smm_reply_clear). Caller: the thread that owns a. */
void smm_exec_run(struct smm_arena *a, const struct smm_request *req, uint64_t now,
		  struct smm_reply *rep);

#endif
