/* commands.h — the one-shot commands: ping, malloc, fill, free, dump,
 * stats and reset, each one request on one connection. */
#ifndef SMM_COMMANDS_H
#define SMM_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "client.h"

/* smm_commands_run sends the request cli->cmd names (one of ping..compact)
 * and writes the answer to out: text for people, or with cli->json the
 * server's reply line as it came (error replies too). color asks for one
 * colour per owner in dumps. With trace non-NULL, the request and reply
 * lines go there too, as "[main] > LINE" and "[main] < LINE". Returns SMM_CLIENT_OK; SMM_CLIENT_EREPLY with
 * "CODE: message" in err; or SMM_CLIENT_ENET with one line in err when
 * the server could not be reached or the admin token could not be read.
 * Main thread only (it may read the token file). */
enum smm_client_status smm_commands_run(const struct smm_cli *cli, FILE *out, FILE *trace,
					bool color, char *err, size_t errlen);

#endif
