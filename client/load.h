/* load.h — load runs: many connections spread over a few threads, each
 * thread running its own poll(2) loop with requests pipelined on every
 * connection; latency goes into per-thread histograms merged at the end. */
#ifndef SMM_LOAD_H
#define SMM_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "client.h"
#include "hist.h"

/* Why a load run ended early. */
enum smm_load_interrupt {
	SMM_LOAD_COMPLETE,    /* it ran its duration or its requests */
	SMM_LOAD_SIGINT,      /* stop_fd became readable (Ctrl-C) */
	SMM_LOAD_LOST_SERVER, /* a connection failed after replies had come */
};

/* What a load run measured. */
struct smm_load_result {
	enum smm_load_interrupt interrupted;
	uint64_t requests;                /* replies received */
	uint64_t errors;                  /* error replies among them */
	uint64_t by_code[SMM_ERR_COUNT];  /* error replies by code */
	double elapsed_s;
	struct smm_hist latency_us;       /* request written to reply read */
};

/* smm_load_run runs the load cli describes (connections, threads,
 * pipeline, duration or requests, op, size range) and fills *res. A unit
 * of work is malloc then free of the same block (so the arena never fills
 * up however long the run), or one ping. Once the duration is over or the
 * requests are spent no new unit starts, and the run ends when every unit
 * in flight has finished, so every block it allocated is freed again.
 * With progress non-NULL, a heading and under it one line a second go
 * there (elapsed, requests/s, errors), overwritten in place and erased at
 * the end: pass a terminal. When stop_fd (-1: none; it is polled, never
 * read) becomes readable, no new unit starts, the units in flight finish
 * and res->interrupted is SMM_LOAD_SIGINT.
 * Returns SMM_CLIENT_OK when every reply arrived (error replies are
 * counted, not failures; check res->interrupted); SMM_CLIENT_EREPLY with
 * "busy: message" in err when the server turned a connection away;
 * SMM_CLIENT_ENET with one line in err when a connection failed or the
 * server made no progress for cli's timeout. *res then holds what was
 * measured before, and res->interrupted is SMM_LOAD_LOST_SERVER when that
 * is anything. Main thread only; it starts and joins its own threads. */
enum smm_client_status smm_load_run(const struct smm_cli *cli, FILE *progress, int stop_fd,
				    struct smm_load_result *res, char *err, size_t errlen);

/* smm_load_print writes res as text for people, or as one JSON object
 * when json; an interrupted run says so ("interrupted" line, or the JSON
 * key "interrupted": "sigint" or "server_lost"). */
void smm_load_print(FILE *out, const struct smm_cli *cli, const struct smm_load_result *res,
		    bool json);

#endif
