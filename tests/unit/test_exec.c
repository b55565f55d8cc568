/* test_exec.c — requests run against an arena: dump windows, the block
 * budget of a dump, and the empty window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "exec.h"

static struct smm_arena *new_arena(uint64_t size, const char *policy)
{
	struct smm_arena_config cfg = { size, 1, '.', smm_policy_find(policy) };
	char err[128];
	struct smm_arena *a = smm_arena_new(&cfg, err, sizeof err);

	assert_non_null(a);
	return a;
}

static void run(struct smm_arena *a, struct smm_request req, struct smm_reply *rep)
{
	smm_exec_run(a, &req, 0, rep);
}

static void test_zero_length_window_lists_no_block(void **state)
{
	struct smm_arena *a = new_arena(20, "bump");
	struct smm_reply rep;

	(void)state;
	run(a, (struct smm_request){ .op = SMM_OP_MALLOC, .size = 10 }, &rep);
	assert_int_equal(rep.err, SMM_ERR_NONE);
	run(a, (struct smm_request){ .op = SMM_OP_DUMP, .offset = 5, .length = 0,
				     .has_length = true, .blocks = true }, &rep);
	assert_int_equal(rep.err, SMM_ERR_NONE);
	assert_true(rep.has_blocks);
	assert_int_equal(rep.nblocks, 0);
	assert_int_equal(rep.length, 0);
	smm_reply_clear(&rep);
	smm_arena_destroy(a);
}

static void test_block_budget_cuts_the_window(void **state)
{
	uint64_t n = SMM_PROTO_MAX_DUMP_BLOCKS + 100;
	struct smm_arena *a = new_arena(n + 50, "first-fit");
	struct smm_reply rep;

	(void)state;
	for (uint64_t i = 0; i < n; i++) {
		run(a, (struct smm_request){ .op = SMM_OP_MALLOC, .id = 1, .size = 1 }, &rep);
		assert_int_equal(rep.err, SMM_ERR_NONE);
	}
	run(a, (struct smm_request){ .op = SMM_OP_DUMP, .offset = 3, .blocks = true }, &rep);
	assert_int_equal(rep.err, SMM_ERR_NONE);
	assert_int_equal(rep.nblocks, SMM_PROTO_MAX_DUMP_BLOCKS);
	assert_true(rep.truncated);
	/* The window ends right before the first block not listed. */
	assert_int_equal(rep.offset, 3);
	assert_int_equal(rep.length, SMM_PROTO_MAX_DUMP_BLOCKS);
	assert_int_equal(rep.blocks[0].addr, 3);
	assert_int_equal(rep.blocks[rep.nblocks - 1].addr, 3 + SMM_PROTO_MAX_DUMP_BLOCKS - 1);
	smm_reply_clear(&rep);
	/* Under the budget nothing is cut. */
	run(a, (struct smm_request){ .op = SMM_OP_DUMP, .offset = 0, .length = 100,
				     .has_length = true, .blocks = true }, &rep);
	assert_false(rep.truncated);
	assert_int_equal(rep.nblocks, 100);
	assert_int_equal(rep.length, 100);
	smm_reply_clear(&rep);
	smm_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_length_window_lists_no_block),
		cmocka_unit_test(test_block_budget_cuts_the_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
