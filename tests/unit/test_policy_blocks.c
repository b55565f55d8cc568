/* test_policy_blocks.c — the compact block table against a plain array:
 * seeded inserts and removes, every live block found with its fields,
 * removed ones gone, and the table's memory near 50 bytes per block. */
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
			assert_null(smm_blocks_find(t, addrs[i]));
			addrs[i] = addrs[--live];
		}
		assert_int_equal(smm_blocks_count(t), live);
	}
	for (size_t i = 0; i < live; i++) {
		struct smm_block *b = smm_blocks_find(t, addrs[i]);
		assert_non_null(b);
		assert_int_equal(b->addr, addrs[i]);
		assert_int_equal(b->key % 1000 + 1, b->size);
	}
	assert_true(smm_blocks_bytes(t) <= live * 56);
	smm_blocks_clear(t);
	assert_int_equal(smm_blocks_count(t), 0);
	assert_null(smm_blocks_find(t, addrs[0]));
	smm_blocks_destroy(t);
	free(addrs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_matches_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
