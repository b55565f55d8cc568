/* blocks.h — the block table: live blocks by start address, O(1) expected
 * lookup, insert and remove (dense records plus an open-addressing index,
 * 43 to 54 bytes per live block). */
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
 * when memory ran out (t unchanged). */
int smm_blocks_insert(struct smm_blocks *t, const struct smm_block *b);

/* smm_blocks_find returns the block starting at addr, or NULL. The pointer
 * is valid until the next insert, remove or clear. */
struct smm_block *smm_blocks_find(struct smm_blocks *t, uint64_t addr);

/* smm_blocks_remove deletes the block starting at addr, if any. Right
 * after smm_blocks_find(t, addr) it needs no second search. */
void smm_blocks_remove(struct smm_blocks *t, uint64_t addr);

/* smm_blocks_clear removes every block, keeping the table's storage. */
void smm_blocks_clear(struct smm_blocks *t);

/* smm_blocks_count returns the number of live blocks. */
size_t smm_blocks_count(const struct smm_blocks *t);

/* smm_blocks_bytes returns the heap the table uses, for the benchmark. */
size_t smm_blocks_bytes(const struct smm_blocks *t);

/* smm_blocks_each calls fn(arg, b) for every block, in no order. */
void smm_blocks_each(const struct smm_blocks *t,
		     void (*fn)(void *arg, const struct smm_block *b), void *arg);

#endif
