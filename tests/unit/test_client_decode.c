/* test_client_decode.c — reply lines back to typed replies: every op the
 * server's own formatter writes reads back the same, and lines that are
 * not replies are refused with a reason, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "reply.h"

/* roundtrip formats want for op with the server's formatter and decodes it. */
static int roundtrip(enum smm_op op, const struct smm_reply *want, struct smm_reply *got,
		     char *policy)
{
	struct smm_buf b = { 0 };
	int rc;

	smm_reply_format(op, NULL, 0, want, &b);
	assert_false(b.oom);
	rc = smm_decode_reply(op, b.data, b.len - 1, got, policy);
	smm_buf_free(&b);
	return rc;
}

static void test_malloc_fill_free(void **state)
{
	struct smm_reply want = { .addr = 42, .size = 7, .id = 2147483647, .key = 0xdeadbeef01234567 };
	struct smm_reply got = { 0 };
	char policy[SMM_DECODE_POLICY_MAX];

	(void)state;
	assert_int_equal(roundtrip(SMM_OP_MALLOC, &want, &got, policy), 0);
	assert_int_equal(got.err, SMM_ERR_NONE);
	assert_int_equal(got.addr, 42);
	assert_int_equal(got.size, 7);
	assert_int_equal(got.id, 2147483647);
	assert_true(got.key == 0xdeadbeef01234567);
	assert_int_equal(roundtrip(SMM_OP_FREE, &want, &got, policy), 0);
	assert_int_equal(got.addr, 42);
	assert_int_equal(got.size, 7);
	assert_int_equal(roundtrip(SMM_OP_PING, &want, &got, policy), 0);
	assert_int_equal(got.addr, 0); /* cleared: ping carries nothing */
	smm_reply_clear(&got);
}

static void test_dump(void **state)
{
	struct smm_block_info blocks[2] = { { .addr = 0, .size = 3, .id = 1 }, { .addr = 5, .size = 2, .id = 40 } };
	struct smm_reply want = { .memory_size = 150, .offset = 0, .length = 8,
				  .memory = "111..ee.", .truncated = true, .has_blocks = true,
				  .blocks = blocks, .nblocks = 2 };
	struct smm_reply got = { 0 };
	char policy[SMM_DECODE_POLICY_MAX];

	(void)state;
	assert_int_equal(roundtrip(SMM_OP_DUMP, &want, &got, policy), 0);
	assert_int_equal(got.memory_size, 150);
	assert_int_equal(got.length, 8);
	assert_string_equal(got.memory, "111..ee.");
	assert_true(got.truncated);
	assert_true(got.has_blocks);
	assert_int_equal(got.nblocks, 2);
	assert_int_equal(got.blocks[1].addr, 5);
	assert_int_equal(got.blocks[1].size, 2);
	assert_int_equal(got.blocks[1].id, 40);
	want.has_blocks = false;
	want.truncated = false;
	assert_int_equal(roundtrip(SMM_OP_DUMP, &want, &got, policy), 0);
	assert_false(got.has_blocks);
	assert_null(got.blocks);
	assert_false(got.truncated);
	smm_reply_clear(&got);
}

static void test_stats_and_reset(void **state)
{
	struct smm_reply want = { .stats = { .memory_size = 150, .used = 20, .free = 130,
					     .largest_free = 100, .denied = 9,
					     .accept_paused = 4, .policy = "bump" },
				  .freed = 3 };
	struct smm_reply got = { 0 };
	char policy[SMM_DECODE_POLICY_MAX];

	(void)state;
	assert_int_equal(roundtrip(SMM_OP_STATS, &want, &got, policy), 0);
	assert_int_equal(got.stats.memory_size, 150);
	assert_int_equal(got.stats.used, 20);
	assert_int_equal(got.stats.largest_free, 100);
	assert_int_equal(got.stats.denied, 9);
	assert_int_equal(got.stats.accept_paused, 4);
	assert_string_equal(got.stats.policy, "bump");
	assert_ptr_equal(got.stats.policy, policy);
	assert_int_equal(roundtrip(SMM_OP_RESET, &want, &got, policy), 0);
	assert_int_equal(got.freed, 3);
}

static void test_error_replies(void **state)
{
	struct smm_reply want = { 0 }, got = { 0 };
	char policy[SMM_DECODE_POLICY_MAX];

	(void)state;
	for (int e = SMM_ERR_BAD_JSON; e < SMM_ERR_COUNT; e++) {
		smm_reply_fail(&want, (enum smm_err)e, NULL);
		assert_int_equal(roundtrip(SMM_OP_MALLOC, &want, &got, policy), 0);
		assert_int_equal(got.err, e);
		assert_string_equal(got.message, want.message);
	}
}

static void test_map(void **state)
{
	struct smm_cell cells[2] = { { 7, 3, 40 }, { 0, 0, -1 } };
	struct smm_block_info blocks[1] = { { .addr = 1, .size = 7, .id = 40 } };
	struct smm_reply want = { .memory_size = 150, .offset = 1, .length = 9, .cells = cells,
				  .ncells = 2, .has_blocks = true, .blocks = blocks, .nblocks = 1 };
	struct smm_reply got = { 0 };
	char policy[SMM_DECODE_POLICY_MAX];

	(void)state;
	assert_int_equal(roundtrip(SMM_OP_MAP, &want, &got, policy), 0);
	assert_int_equal(got.memory_size, 150);
	assert_int_equal(got.offset, 1);
	assert_int_equal(got.length, 9);
	assert_int_equal(got.ncells, 2);
	assert_memory_equal(got.cells, cells, sizeof cells);
	assert_int_equal(got.nblocks, 1);
	assert_int_equal(got.blocks[0].id, 40);
	assert_false(got.truncated);
	smm_reply_clear(&got);
}

static void expect_bad(enum smm_op op, const char *line, const char *why)
{
	struct smm_reply got = { 0 };
	char policy[SMM_DECODE_POLICY_MAX];

	assert_int_equal(smm_decode_reply(op, line, strlen(line), &got, policy), -1);
	assert_int_equal(got.err, SMM_ERR_NONE);
	assert_non_null(strstr(got.message, why));
	smm_reply_clear(&got);
}

static void test_unreadable(void **state)
{
	(void)state;
	expect_bad(SMM_OP_PING, "", "not a JSON object");
	expect_bad(SMM_OP_PING, "pong", "not a JSON object");
	expect_bad(SMM_OP_PING, "[true]", "not a JSON object");
	expect_bad(SMM_OP_PING, "{\"ok\":1}", "\"ok\"");
	expect_bad(SMM_OP_PING, "{\"ok\":false,\"error\":\"melted\"}", "unknown error code");
	expect_bad(SMM_OP_PING, "{\"ok\":false,\"error\":\"none\"}", "unknown error code");
	expect_bad(SMM_OP_MALLOC, "{\"ok\":true,\"addr\":-1,\"size\":1,\"id\":0,\"key\":\"0000000000000000\"}",
		   "\"addr\"");
	expect_bad(SMM_OP_MALLOC, "{\"ok\":true,\"addr\":1.5,\"size\":1,\"id\":0,\"key\":\"0000000000000000\"}",
		   "\"addr\"");
	expect_bad(SMM_OP_MALLOC, "{\"ok\":true,\"addr\":1,\"size\":1,\"id\":0,\"key\":\"00\"}", "\"key\"");
	expect_bad(SMM_OP_FREE, "{\"ok\":true,\"addr\":1}", "\"size\"");
	expect_bad(SMM_OP_MAP, "{\"ok\":true,\"size\":9,\"offset\":0,\"length\":9,\"cells\":2,"
		   "\"used\":[1],\"unfilled\":[0,0],\"owner\":[1,1]}", "\"used\"");
	expect_bad(SMM_OP_MAP, "{\"ok\":true,\"size\":9,\"offset\":0,\"length\":9,\"cells\":1,"
		   "\"used\":[1],\"unfilled\":[0],\"owner\":[-2]}", "\"owner\"");
	expect_bad(SMM_OP_MAP, "{\"ok\":true,\"size\":9,\"offset\":0,\"length\":9,\"cells\":1,"
		   "\"used\":[\"1\"],\"unfilled\":[0],\"owner\":[1]}", "\"used\"");
	expect_bad(SMM_OP_MAP, "{\"ok\":true,\"size\":9,\"offset\":0,\"length\":9,\"cells\":99999}",
		   "\"cells\"");
	expect_bad(SMM_OP_DUMP, "{\"ok\":true,\"size\":3,\"offset\":0,\"length\":3,\"memory\":\"ab\"}",
		   "length does not match");
	expect_bad(SMM_OP_DUMP,
		   "{\"ok\":true,\"size\":3,\"offset\":0,\"length\":0,\"memory\":\"\",\"blocks\":[{\"addr\":0}]}",
		   "\"size\"");
	expect_bad(SMM_OP_STATS, "{\"ok\":true}", "\"memory_size\"");
	expect_bad(SMM_OP_RESET, "{\"ok\":true,\"freed\":\"3\"}", "\"freed\"");
}

static void test_crlf_and_unknown_fields(void **state)
{
	const char *line = "{\"ok\":true,\"addr\":3,\"size\":4,\"later\":[1,2]}\r";
	struct smm_reply got = { 0 };
	char policy[SMM_DECODE_POLICY_MAX];

	(void)state;
	assert_int_equal(smm_decode_reply(SMM_OP_FILL, line, strlen(line), &got, policy), 0);
	assert_int_equal(got.addr, 3);
	assert_int_equal(got.size, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malloc_fill_free),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_stats_and_reset),
		cmocka_unit_test(test_error_replies),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_crlf_and_unknown_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
