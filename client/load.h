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

/* What a load run measured. */
struct smm_load_result {
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
 * With progress non-NULL, one line a second goes there (elapsed,
 * requests/s, errors), overwritten in place: pass a terminal.
 * Returns SMM_CLIENT_OK when every reply arrived (error replies are
 * counted, not failures), or SMM_CLIENT_ENET with one line in err when a
 * connection failed or the server made no progress for cli's timeout;
 * then *res holds what was measured before. Main thread only; it starts
 * and joins its own threads. */
enum smm_client_status smm_load_run(const struct smm_cli *cli, FILE *progress,
				    struct smm_load_result *res, char *err, size_t errlen);

/* smm_load_print writes res as text for people, or as one JSON object
 * when json. */
void smm_load_print(FILE *out, const struct smm_cli *cli, const struct smm_load_result *res,
		    bool json);

#endif
