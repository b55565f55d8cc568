/* http.h — the read-only HTTP side port (libevent's evhttp, on the event
 * loop): /healthz, /metrics, /map.json and the live memory map page at /.
 * What only the allocator thread may read (stats, the map) is asked for
 * with internal jobs on the same request queue as every client's request.
 * Every function here runs on the event-loop thread only. */
#ifndef SMM_HTTP_H
#define SMM_HTTP_H

#include <event2/event.h>
#include <stddef.h>

#include "log.h"
#include "net.h"
#include "queue.h"

/* Seconds an HTTP connection may sit idle (or half-sent) when the server
 * has no --idle-timeout. */
#define SMM_HTTP_DEFAULT_TIMEOUT 30
/* Request headers larger than this are refused: nothing here needs more. */
#define SMM_HTTP_MAX_HEADERS 8192
/* Cells of /map.json when the query does not say. */
#define SMM_HTTP_DEFAULT_CELLS 1024

struct smm_http_config {
	const char *version;     /* static storage */
	int idle_timeout;        /* seconds; 0: SMM_HTTP_DEFAULT_TIMEOUT */
	const struct smm_log *log;
	/* The hook for health beyond draining (for instance a log that cannot
	 * be written): returns 0 when healthy, else -1 with a reason in why.
	 * NULL: only draining makes /healthz fail. */
	int (*unhealthy)(void *arg, char *why, size_t whylen);
	void *health_arg;
};

struct smm_http; /* opaque */

/* smm_http_new serves listen_fd (listening, non-blocking; http owns it
 * from now on, even on failure) on base. net answers /healthz's draining
 * question and fills the loop's part of stats; internal jobs go to
 * requests and come back through net's reply path. cfg is copied; net,
 * requests, cfg->log and cfg->health_arg must outlive http. Returns NULL
 * with a reason in err on failure. */
struct smm_http *smm_http_new(struct event_base *base, int listen_fd, struct smm_net *net,
			      struct smm_queue *requests, const struct smm_http_config *cfg,
			      char *err, size_t errlen);

/* smm_http_destroy closes every HTTP connection and frees http. Call after
 * smm_net_destroy, which hands back the internal jobs still out. */
void smm_http_destroy(struct smm_http *http);

#endif
