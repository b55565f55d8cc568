/* job.h — one request travelling from the event loop to the allocator
 * thread and back: the seed's {id, size} queue item together with its
 * thread_message slot (the reply). Jobs are recycled through a free list
 * on the event loop, so a request in steady state allocates nothing. */
#ifndef SMM_JOB_H
#define SMM_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "port.h"
#include "proto.h"
#include "queue.h"

/* At most this many event loops (--io-threads), so this many places a
 * job can be handed back to. */
#define SMM_PORTS_MAX 64

struct smm_job {
	struct smm_qnode node;      /* link in a queue or the free list; first, so casts are plain */
	struct smm_request req;     /* read by the allocator thread */
	struct smm_reply rep;       /* written by the allocator thread */
	/* Set before the job is queued, read by the allocator thread: where
	 * it goes back to. NULL: the allocator's home port, the main loop's. */
	struct smm_port *port;
	/* Event-loop thread only: */
	void *conn;                 /* the connection waiting for the reply */
	STAILQ_ENTRY(smm_job) owed; /* next reply owed on that connection */
	int done;                   /* rep is final and may be written out */
	size_t reply_estimate;      /* bytes its reply line is expected to take */
	uint64_t read_ns;           /* when its line was read (smm_metrics_now_ns) */
	int mop;                    /* its op for the metrics; SMM_METRICS_INVALID: none */
	/* An internal job (conn NULL): called with it when it comes back,
	 * instead of writing a reply; it then owns the job. */
	void (*back)(struct smm_job *j);
	/* req.tag points here once the line it came in is gone: allocated at
	 * the first tagged request this job carries, kept while it is recycled. */
	char *tag_copy;
};

/* smm_job_of returns the job that embeds node. */
static inline struct smm_job *smm_job_of(struct smm_qnode *node)
{
	return (struct smm_job *)((char *)node - offsetof(struct smm_job, node));
}

#endif
