/* window.h — the cost of a small dump window as the arena fills: what the
 * allocator thread spends answering dump {"blocks":true} for 64 bytes on
 * an empty arena and on one holding many live blocks. */
#ifndef SMM_WINDOW_H
#define SMM_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#define SMM_WINDOW_BYTES 64 /* the window the target names */

struct smm_window_time {
	double empty_ns, full_ns; /* median ns per dump, same windows */
	size_t blocks_seen;       /* blocks listed over the full arena's dumps */
};

/* smm_window_time fills an arena (tlsf, sizes 1..1024 seeded by seed)
 * with live blocks, then times queries dumps of random 64-byte windows
 * inside the filled part through smm_exec_run, and the same windows on an
 * empty arena of the same size. Returns 0, or -1 when memory ran out. */
int smm_window_time(size_t live, size_t queries, uint64_t seed, struct smm_window_time *out);

#endif
