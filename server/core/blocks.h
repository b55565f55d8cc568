/* blocks.h — the block table: live blocks ordered by start address, a
 * B+tree of packed records. Lookup, insert and remove cost O(log n); the
 * blocks overlapping a window cost O(log n + k) for k of them. About 35
 * bytes per live block under churn. One owner thread; no locks. */
#ifndef SMM_BLOCKS_H
#define SMM_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

/* One live block. size is what the policy granted; key authorises it. */
struct smm_block {
	uint64_t addr;
	uint64_t size;
	uint64_t key;
	int64_t id;
};

struct smm_blocks; /* opaque */

/* smm_blocks_new returns an empty table, or NULL when memory ran out.
 * The caller owns it and releases it with smm_blocks_destroy. */
struct smm_blocks *smm_blocks_new(void);
void smm_blocks_destroy(struct smm_blocks *t);

/* smm_blocks_insert adds b (whose addr must not be in t). Returns 0, or -1
 * when memory ran out or b does not fit a record: addr and size (>= 1)
 * below 2^48, which every arena the kernel can map respects, and id an
 * int32 (t unchanged on -1). */
int smm_blocks_insert(struct smm_blocks *t, const struct smm_block *b);

/* smm_blocks_find copies the block starting at addr to *out and returns 0,
 * or returns -1 when there is none (*out unchanged). */
int smm_blocks_find(struct smm_blocks *t, uint64_t addr, struct smm_block *out);

/* smm_blocks_remove deletes the block starting at addr, if any. Right
 * after smm_blocks_find(t, addr) it needs no second search. */
void smm_blocks_remove(struct smm_blocks *t, uint64_t addr);

/* smm_blocks_clear removes every block and releases every node but one
 * empty leaf. */
void smm_blocks_clear(struct smm_blocks *t);

/* smm_blocks_count returns the number of live blocks. */
size_t smm_blocks_count(const struct smm_blocks *t);

/* smm_blocks_bytes returns the heap the table uses, for the benchmark. */
size_t smm_blocks_bytes(const struct smm_blocks *t);

/* smm_blocks_range calls fn(arg, b) for each block overlapping [lo, hi)
 * in address order, stopping early when fn returns nonzero; b points to a
 * copy valid during the call, and fn must not change t. Returns the number
 * of calls made. Costs O(log n) plus the blocks visited. */
size_t smm_blocks_range(const struct smm_blocks *t, uint64_t lo, uint64_t hi,
			int (*fn)(void *arg, const struct smm_block *b), void *arg);

#endif
