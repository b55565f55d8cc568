/* test_policy_blocks.c — the compact block table against a plain array:
 * seeded inserts and removes, every live block found with its fields,
 * removed ones gone, and the table's memory under 48 bytes per block;
 * and frees in address order among shuffled inserts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "blocks.h"

#define LIVE 50000

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void table_matches_reference(void **state)
{
	struct smm_blocks *t = smm_blocks_new();
	uint64_t *addrs = calloc(LIVE, sizeof *addrs), rng = 42;
	struct smm_block got;
	size_t live = 0;

	(void)state;
	assert_non_null(t);
	assert_non_null(addrs);
	for (int step = 0; step < 400000; step++) {
		uint64_t r = next_rand(&rng);
		if (live < LIVE && (live == 0 || r % 3 != 0)) {
			/* Strided addresses: a stride-friendly hash must cope. */
			uint64_t addr = (uint64_t)step * 4096;
			struct smm_block b = { addr, r % 1000 + 1, r, (int64_t)(r % 7) };
			assert_int_equal(smm_blocks_insert(t, &b), 0);
			addrs[live++] = addr;
		} else {
			size_t i = (size_t)(r >> 8) % live;
			smm_blocks_remove(t, addrs[i]);
			assert_int_equal(smm_blocks_find(t, addrs[i], &got), -1);
			addrs[i] = addrs[--live];
		}
		assert_int_equal(smm_blocks_count(t), live);
	}
	for (size_t i = 0; i < live; i++) {
		assert_int_equal(smm_blocks_find(t, addrs[i], &got), 0);
		assert_int_equal(got.addr, addrs[i]);
		assert_int_equal(got.key % 1000 + 1, got.size);
		assert_int_equal(got.key % 7, got.id);
	}
	assert_true(smm_blocks_bytes(t) <= live * 48);
	smm_blocks_clear(t);
	assert_int_equal(smm_blocks_count(t), 0);
	assert_int_equal(smm_blocks_find(t, addrs[0], &got), -1);
	smm_blocks_destroy(t);
	free(addrs);
}

/* count_one counts the blocks smm_blocks_range reports. */
static int count_one(void *arg, const struct smm_block *b)
{
	(void)b;
	++*(size_t *)arg;
	return 0;
}

static int refill(uint32_t i)
{
	return (i / 256) % 2 == 0 && i % 2 == 0;
}

/* A program's phase ending frees its blocks in address order, and the
 * table then finds each in the leaf of the one before: blocks placed in a
 * shuffled order (so inserts split leaves in the middle) and then freed
 * in address order from the middle, with every other freed slot taken
 * again at once, against a reference of which slots are live. A stale way
 * down (after a split or a merge) or a badly evened borrow shows as a
 * block found where none is, one lost, or (ASan) a freed leaf read. */
static void in_order_frees(void **state)
{
	enum { N = 20000 };
	struct smm_blocks *t = smm_blocks_new();
	uint32_t *order = calloc(N, sizeof *order);
	char *live = calloc(N, 1);
	uint64_t rng = 7;
	struct smm_block got;
	size_t n = 0, seen = 0;

	(void)state;
	assert_non_null(t);
	assert_non_null(order);
	assert_non_null(live);
	for (uint32_t i = 0; i < N; i++)
		order[i] = i;
	for (uint32_t i = N - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(next_rand(&rng) % (i + 1)), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (uint32_t i = 0; i < N; i++) {
		struct smm_block b = { (uint64_t)order[i] * 64, 48, order[i], 0 };
		assert_int_equal(smm_blocks_insert(t, &b), 0);
		live[order[i]] = 1;
		n++;
	}
	for (uint32_t i = N / 4; i < N; i++) {
		assert_int_equal(smm_blocks_find(t, (uint64_t)i * 64, &got), 0);
		assert_int_equal(got.key, i);
		smm_blocks_remove(t, (uint64_t)i * 64);
		assert_int_equal(smm_blocks_find(t, (uint64_t)i * 64, &got), -1);
		live[i] = 0;
		n--;
		/* In every other stretch of 256 slots, every other slot is
		 * taken again at once by three blocks, so that leaves and inner
		 * nodes split beside the one being freed; the stretches between
		 * only free, so that leaves borrow and merge. */
		for (uint64_t off = 16; refill(i) && off <= 48; off += 16) {
			struct smm_block b = { (uint64_t)i * 64 + off, 8, i, 1 };
			assert_int_equal(smm_blocks_insert(t, &b), 0);
			n++;
		}
		assert_int_equal(smm_blocks_count(t), n);
	}
	for (uint32_t i = 0; i < N; i++) {
		int want = live[i] ? 0 : -1;
		assert_int_equal(smm_blocks_find(t, (uint64_t)i * 64, &got), want);
		for (uint64_t off = 16; i >= N / 4 && off <= 48; off += 16)
			assert_int_equal(smm_blocks_find(t, (uint64_t)i * 64 + off, &got),
					 refill(i) ? 0 : -1);
	}
	assert_int_equal(smm_blocks_range(t, 0, (uint64_t)N * 64, count_one, &seen), n);
	assert_int_equal(seen, n);
	smm_blocks_destroy(t);
	free(order);
	free(live);
}

/* Records pack addr and size into 48 bits each and id into 32: the
 * largest values survive, and anything wider is refused, not truncated. */
static void packing_limits(void **state)
{
	struct smm_blocks *t = smm_blocks_new();
	uint64_t top = (1ull << 48) - 1;
	struct smm_block b = { top, top, UINT64_MAX, INT32_MIN }, got;

	(void)state;
	assert_non_null(t);
	assert_int_equal(smm_blocks_insert(t, &b), 0);
	assert_int_equal(smm_blocks_find(t, top, &got), 0);
	assert_memory_equal(&got, &b, sizeof b);
	b = (struct smm_block){ 5ull << 32, 1, 7, INT32_MAX };
	assert_int_equal(smm_blocks_insert(t, &b), 0);
	assert_int_equal(smm_blocks_find(t, 5ull << 32, &got), 0);
	assert_memory_equal(&got, &b, sizeof b);
	b = (struct smm_block){ top + 1, 1, 1, 0 };
	assert_int_equal(smm_blocks_insert(t, &b), -1);
	b = (struct smm_block){ 0, top + 1, 1, 0 };
	assert_int_equal(smm_blocks_insert(t, &b), -1);
	b = (struct smm_block){ 0, 1, 1, (int64_t)INT32_MAX + 1 };
	assert_int_equal(smm_blocks_insert(t, &b), -1);
	assert_int_equal(smm_blocks_count(t), 2);
	smm_blocks_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_matches_reference),
		cmocka_unit_test(packing_limits),
		cmocka_unit_test(in_order_frees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
