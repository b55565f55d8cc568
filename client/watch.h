/* watch.h — smm-client watch: the scaled memory map and the counters,
 * redrawn every interval until Ctrl-C, like watch(1) or top. */
#ifndef SMM_WATCH_H
#define SMM_WATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "client.h"

/* smm_watch_run connects as cli says and, every cli->interval_ms, asks for
 * a map of cli->cells cells (SMM_CLI_WATCH_CELLS when 0) and the stats,
 * and writes them to out: when out is a terminal, over the previous round
 * (cursor home, screen cleared), else as plain lines after it. It returns
 * SMM_CLIENT_OK once stop_fd (a signalfd for SIGINT; -1: none) becomes
 * readable, or the failing status with a reason in err. Caller's thread. */
enum smm_client_status smm_watch_run(const struct smm_cli *cli, FILE *out, int stop_fd,
				     bool color, char *err, size_t errlen);

#endif
