/* net.h — the event-loop side of the server: accepts connections, cuts
 * input into lines, parses them, hands jobs to the allocator thread once
 * per loop round and writes replies back in request order. With several
 * event loops (--io-threads) the first is the caller's (the main loop) and
 * the others run on threads of their own; every function here is called
 * on the main loop's thread only. */
#ifndef SMM_NET_H
#define SMM_NET_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "port.h"
#include "proto.h"
#include "queue.h"

struct smm_metrics;

struct smm_net_config {
	size_t max_line;     /* bytes a line may hold before its "\n" */
	size_t max_conns;    /* live connections; 0: no limit */
	size_t queue_depth;  /* jobs in flight to the allocator before reading stops;
			      * each loop gets an equal share (at least 1) */
	size_t max_output;   /* unread reply bytes on one connection before reading stops */
	uint64_t memory_size; /* arena size, to estimate how large a dump reply will be */
	int idle_timeout;    /* seconds without input before closing; 0: never */
	int drain_timeout;   /* seconds shutdown waits for owed replies */
	uint64_t default_ttl; /* ms of lease a malloc without ttl_ms gets; 0: none */
	uint64_t max_ttl;     /* longest lease a request may ask for, ms; 0: no cap */
	const char *admin_token; /* NULL: reset and the operator's free are forbidden */
	size_t admin_token_len;
	const struct smm_log *log;
};

struct smm_net; /* opaque */

/* smm_net_new serves listen_fd (listening, non-blocking; net owns it from
 * now on, even on failure) with loops event loops (1 .. SMM_PORTS_MAX):
 * the main loop on base, the others each on a thread started here. Jobs go
 * to requests; the main loop's answered jobs come back through home (the
 * allocator's port for jobs without one), the other loops' through ports
 * of their own. cfg is copied; home, cfg->admin_token and cfg->log must
 * outlive net. Returns NULL with a reason in err on failure. */
struct smm_net *smm_net_new(struct event_base *base, int listen_fd,
			    const struct smm_net_config *cfg, size_t loops,
			    struct smm_queue *requests, struct smm_port *home,
			    char *err, size_t errlen);

/* smm_net_run runs the main loop on base (in place of
 * event_base_dispatch: each round ends with the hand-over to the allocator
 * and the replies' writes) until shutdown has drained or
 * event_base_loopexit is called. Returns 0, or -1 when libevent failed. */
int smm_net_run(struct smm_net *net);

/* smm_net_shutdown stops accepting and reading, and ends each event loop
 * once every reply it owes is written (or drain_timeout passes). */
void smm_net_shutdown(struct smm_net *net);

/* smm_net_join asks the other loops to drain (as smm_net_shutdown) and
 * waits for their threads to end. Call once the main loop has ended and
 * before the allocator thread is stopped: their owed replies come from it. */
void smm_net_join(struct smm_net *net);

/* smm_net_destroy closes every connection and frees net and every job it
 * still holds, including those left on the reply queues. Call after
 * smm_net_join and after the allocator thread has ended. */
void smm_net_destroy(struct smm_net *net);

/* smm_net_stats fills the event loops' part of a stats reply in *st
 * (connections, queue, limits, requests per op and errors per code),
 * summed over every loop. */
void smm_net_stats(const struct smm_net *net, struct smm_stats *st);

/* smm_net_draining returns 1 once shutdown has begun, else 0. */
int smm_net_draining(const struct smm_net *net);

/* smm_net_metrics fills *m with the request metrics summed over every
 * loop. */
void smm_net_metrics(const struct smm_net *net, struct smm_metrics *m);

#endif
