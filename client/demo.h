/* demo.h — the seed's program over TCP: request threads that each ask the
 * server for a block at once, then the memory and every thread_message. */
#ifndef SMM_DEMO_H
#define SMM_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "client.h"

/* The demo prints every byte of an arena up to what one dump reply
 * carries; a larger one is shown as a scaled map of SMM_DEMO_MAP_CELLS
 * cells (20 rows of 50), so a 1 GiB arena takes a screen, not 21,000
 * lines of its first MiB. */
#define SMM_DEMO_PRINT_LIMIT SMM_PROTO_MAX_DUMP
#define SMM_DEMO_MAP_CELLS 1000

/* smm_demo_size returns worker id's request size for seed: 1..max(1,
 * memory/6), the seed's rand() % (MEMORY_SIZE/6) + 1, but drawn from a
 * hash of (seed, id) so that a seed fixes every size whatever order the
 * threads run in. Pure. */
uint64_t smm_demo_size(uint64_t seed, int id, uint64_t memory);

/* smm_demo_run resets the arena first when cli->reset (reading the admin
 * token), reads its size with stats, and runs cli->threads workers (ids
 * 0..threads-1), each on its own connection: my_malloc (the seed's name
 * for malloc) of a random size,
 * then fill with its id character when granted, or the line
 * "Thread <id>: Not enough memory" on out when denied. Then it writes the
 * memory (coloured by owner when color; a scaled map past
 * SMM_DEMO_PRINT_LIMIT bytes) and each thread's thread_message.
 * Returns SMM_CLIENT_OK when the run completed, however many were denied;
 * SMM_CLIENT_EREPLY ("CODE: message" in err) when the server refused
 * something else; SMM_CLIENT_ENET (one line in err) when it could not be
 * reached, or the admin token not read. Main thread only; it starts and
 * joins its own threads, which write only to out and trace (stdio locks
 * each line). With trace non-NULL every request and reply line goes there
 * as it happens, "[thread 3] > LINE" / "[thread 3] < LINE" ("[main]" for
 * the demo's own connection). */
enum smm_client_status smm_demo_run(const struct smm_cli *cli, FILE *out, FILE *trace,
				    bool color, char *err, size_t errlen);

#endif
