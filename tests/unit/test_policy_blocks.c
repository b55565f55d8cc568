/* test_policy_blocks.c — the compact block table against a plain array:
 * seeded inserts and removes, every live block found with its fields,
 * removed ones gone, and the table's memory under 48 bytes per block. */
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
