/* test_arena.c — the allocator core under the seed's bump policy:
 * placement, exact fit, top-block reuse, keys, scrubbing and accounting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "exec.h"

static struct smm_arena *new_arena(uint64_t size, uint64_t align)
{
	struct smm_arena_config cfg = { size, align, '.', smm_policy_find("bump") };
	char err[128];
	struct smm_arena *a = smm_arena_new(&cfg, err, sizeof err);

	assert_non_null(a);
	return a;
}

static uint64_t grant(struct smm_arena *a, int64_t id, uint64_t size, uint64_t *key)
{
	struct smm_block_info b;
	uint64_t k;

	assert_int_equal(smm_arena_alloc(a, id, size, &b, key ? key : &k), SMM_ERR_NONE);
	assert_int_equal(b.size, size);
	return b.addr;
}

static void expect_bytes(struct smm_arena *a, const char *want)
{
	char got[256];
	size_t n = strlen(want);

	smm_arena_read(a, 0, n, got);
	got[n] = '\0';
	assert_string_equal(got, want);
}

static void test_bump_placement(void **state)
{
	struct smm_arena *a = new_arena(10, 1);
	struct smm_block_info b;
	uint64_t k1, k2, k;

	(void)state;
	assert_int_equal(grant(a, 1, 3, &k1), 0);
	assert_int_equal(grant(a, 2, 4, &k2), 3);
	assert_int_equal(smm_arena_alloc(a, 3, 4, &b, &k), SMM_ERR_NO_MEMORY);
	assert_int_equal(grant(a, 3, 3, NULL), 7); /* exact fit */
	assert_int_equal(smm_arena_alloc(a, 4, 1, &b, &k), SMM_ERR_NO_MEMORY);
	assert_int_not_equal(k1, k2);
	smm_arena_destroy(a);
}

static void test_too_big(void **state)
{
	struct smm_arena *a = new_arena(150, 1);
	struct smm_block_info b;
	struct smm_stats st = { 0 };
	uint64_t k;

	(void)state;
	assert_int_equal(smm_arena_alloc(a, 0, 151, &b, &k), SMM_ERR_NO_MEMORY);
	assert_int_equal(grant(a, 0, 150, NULL), 0);
	smm_arena_stats(a, &st);
	assert_int_equal(st.used, 150);
	assert_int_equal(st.free, 0);
	assert_int_equal(st.granted, 1);
	assert_int_equal(st.denied, 1);
	smm_arena_destroy(a);
}

static void test_top_reuse(void **state)
{
	struct smm_arena *a = new_arena(10, 1);
	struct smm_block_info b;
	struct smm_stats st = { 0 };
	uint64_t ka, kb, kc;

	(void)state;
	grant(a, 1, 3, &ka);
	grant(a, 2, 3, &kb);
	grant(a, 3, 3, &kc);
	/* A hole in the middle is not reused by bump. */
	assert_int_equal(smm_arena_release(a, 3, kb, &b), SMM_ERR_NONE);
	smm_arena_stats(a, &st);
	assert_int_equal(st.largest_free, 1);
	assert_int_equal(st.free, 4);
	assert_int_equal(st.free_extents, 2);
	/* Freeing the top block lowers the top past the dead hole too. */
	assert_int_equal(smm_arena_release(a, 6, kc, &b), SMM_ERR_NONE);
	smm_arena_stats(a, &st);
	assert_int_equal(st.largest_free, 7);
	assert_int_equal(st.free_extents, 1);
	assert_int_equal(grant(a, 4, 2, NULL), 3);
	assert_int_equal(smm_arena_release(a, 0, ka, &b), SMM_ERR_NONE);
	smm_arena_destroy(a);
}

static void test_all_freed_restarts_at_zero(void **state)
{
	struct smm_arena *a = new_arena(20, 1);
	struct smm_block_info b;
	uint64_t k1, k2;

	(void)state;
	grant(a, 1, 5, &k1);
	grant(a, 2, 5, &k2);
	assert_int_equal(smm_arena_release(a, 0, k1, &b), SMM_ERR_NONE);
	assert_int_equal(smm_arena_release(a, 5, k2, &b), SMM_ERR_NONE);
	assert_int_equal(grant(a, 3, 20, NULL), 0);
	smm_arena_destroy(a);
}

static void test_fill_and_scrub(void **state)
{
	struct smm_arena *a = new_arena(8, 1);
	struct smm_block_info b;
	uint64_t k1, k2;

	(void)state;
	grant(a, 11, 3, &k1);
	grant(a, 2, 2, &k2);
	assert_int_equal(smm_arena_fill(a, 0, k1, 0, &b), SMM_ERR_NONE);
	assert_int_equal(smm_arena_fill(a, 3, k2, '#', &b), SMM_ERR_NONE);
	expect_bytes(a, "BBB##...");
	assert_int_equal(smm_arena_release(a, 3, k2, &b), SMM_ERR_NONE);
	expect_bytes(a, "BBB.....");
	assert_int_equal(smm_arena_reset(a), 1);
	expect_bytes(a, "........");
	smm_arena_destroy(a);
}

static void test_keys_and_addrs(void **state)
{
	struct smm_arena *a = new_arena(8, 1);
	struct smm_block_info b;
	uint64_t k;

	(void)state;
	grant(a, 1, 4, &k);
	assert_int_equal(smm_arena_fill(a, 0, k ^ 1, 0, &b), SMM_ERR_FORBIDDEN);
	assert_int_equal(smm_arena_release(a, 0, k ^ 1, &b), SMM_ERR_FORBIDDEN);
	assert_int_equal(smm_arena_fill(a, 1, k, 0, &b), SMM_ERR_BAD_ADDR);
	assert_int_equal(smm_arena_release(a, 100, k, &b), SMM_ERR_BAD_ADDR);
	expect_bytes(a, "........");
	assert_int_equal(smm_arena_release(a, 0, k, &b), SMM_ERR_NONE);
	assert_int_equal(smm_arena_release(a, 0, k, &b), SMM_ERR_BAD_ADDR);
	smm_arena_destroy(a);
}

static void test_align(void **state)
{
	struct smm_arena *a = new_arena(32, 8);

	(void)state;
	assert_int_equal(grant(a, 1, 3, NULL), 0);
	assert_int_equal(grant(a, 2, 3, NULL), 8);
	assert_int_equal(grant(a, 3, 16, NULL), 16);
	smm_arena_destroy(a);
}

static void test_exec_dump_window(void **state)
{
	struct smm_arena *a = new_arena(16, 1);
	struct smm_request req = { .op = SMM_OP_DUMP, .offset = 2, .length = 4, .has_length = true,
				   .blocks = true };
	struct smm_reply rep;

	(void)state;
	grant(a, 1, 3, NULL);
	grant(a, 2, 3, NULL);
	grant(a, 3, 3, NULL);
	smm_exec_run(a, &req, &rep);
	assert_int_equal(rep.err, SMM_ERR_NONE);
	assert_int_equal(rep.length, 4);
	assert_int_equal(rep.memory_size, 16);
	assert_int_equal(rep.nblocks, 2); /* [0,3) and [3,6) overlap [2,6) */
	assert_int_equal(rep.blocks[0].addr, 0);
	assert_int_equal(rep.blocks[1].addr, 3);
	smm_reply_clear(&rep);
	req.offset = 17;
	smm_exec_run(a, &req, &rep);
	assert_int_equal(rep.err, SMM_ERR_BAD_REQUEST);
	smm_reply_clear(&rep);
	smm_arena_destroy(a);
}

static void test_bad_config(void **state)
{
	struct smm_arena_config cfg = { 0, 1, '.', smm_policy_find("bump") };
	char err[128];

	(void)state;
	assert_null(smm_arena_new(&cfg, err, sizeof err));
	cfg.size = 10;
	cfg.align = 3;
	assert_null(smm_arena_new(&cfg, err, sizeof err));
	cfg.align = 1;
	cfg.filler = ' ';
	assert_null(smm_arena_new(&cfg, err, sizeof err));
	assert_null(smm_policy_find("no-such-policy"));
}

static void test_large_sparse_arena(void **state)
{
	/* 5 GiB is only reserved, not touched: the test runs in little RAM. */
	struct smm_arena *a = new_arena(5ULL << 30, 1);
	struct smm_block_info b;
	uint64_t k;

	(void)state;
	assert_int_equal(grant(a, 1, (4ULL << 30) + 1, &k), 0);
	assert_int_equal(grant(a, 2, 10, NULL), (4ULL << 30) + 1);
	assert_int_equal(smm_arena_release(a, 0, k, &b), SMM_ERR_NONE);
	smm_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bump_placement),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_top_reuse),
		cmocka_unit_test(test_all_freed_restarts_at_zero),
		cmocka_unit_test(test_fill_and_scrub),
		cmocka_unit_test(test_keys_and_addrs),
		cmocka_unit_test(test_align),
		cmocka_unit_test(test_exec_dump_window),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_large_sparse_arena),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
