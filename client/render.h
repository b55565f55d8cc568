/* render.h — replies as text for people: the memory in rows, the block
 * list, the counters. Writes to the FILE it is given; no sockets, no
 * threads of its own (stdio locks each call). */
#ifndef SMM_RENDER_H
#define SMM_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "proto.h"

/* Bytes per row of a dump: three rows for the seed's 150-byte arena. */
#define SMM_RENDER_ROW 50

/* Shown for a byte of a live block that still holds the filler (allocated,
 * never filled), so it does not look free; the other one when the server's
 * filler is this character. */
#define SMM_RENDER_UNFILLED ':'
#define SMM_RENDER_UNFILLED_ALT '_'

/* smm_render_memory writes rep's memory window (a dump reply) as rows of
 * SMM_RENDER_ROW bytes, each led by the decimal address of its first byte.
 * When rep carries blocks, a block's bytes that still hold the filler (the
 * character of the window's free bytes, '.' when it has none) are shown as
 * SMM_RENDER_UNFILLED, explained by a one-line legend under the map; with
 * color, each owner's bytes are drawn in one ANSI colour chosen by its id,
 * its unfilled bytes in reverse video. A truncated window ends with a note. */
void smm_render_memory(FILE *out, const struct smm_reply *rep, bool color);

/* smm_render_map writes rep's scaled map (a map reply) as rows of
 * SMM_RENDER_ROW cells, each row led by the address of its first byte:
 * a cell is its owner's id character where any byte is used,
 * SMM_RENDER_UNFILLED where most used bytes were never filled, the
 * filler '.' where it is free; with color each owner in the same colour
 * as smm_render_memory's. A heading says what a cell covers and a legend
 * follows. */
void smm_render_map(FILE *out, const struct smm_reply *rep, bool color);

/* smm_render_blocks writes rep's blocks as a table: addr, size, id and the
 * id's character. */
void smm_render_blocks(FILE *out, const struct smm_reply *rep);

/* Where smm_render_trace_cb writes, and the thread it names. */
struct smm_render_trace {
	FILE *out;
	char who[32]; /* "main", "thread 3" */
};

/* smm_render_trace_cb is a libsmmclient trace callback (arg: a struct
 * smm_render_trace): it writes "[WHO] > LINE" for a request and
 * "[WHO] < LINE" for a reply, one whole line per call. */
void smm_render_trace_cb(void *arg, char dir, const char *line, size_t len);

/* smm_render_stats writes a stats reply as "name: value" lines. */
void smm_render_stats(FILE *out, const struct smm_stats *st);

#endif
