/* test_reply.c — reply lines: exact text for each op and for errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

static void expect_line(enum smm_op op, const char *tag, const struct smm_reply *rep,
			const char *want)
{
	struct smm_buf b = { 0 };

	smm_reply_format(op, tag, tag ? strlen(tag) : 0, rep, &b);
	assert_string_equal(b.data, want);
	smm_buf_free(&b);
}

static void test_ok_replies(void **state)
{
	struct smm_reply rep = { .addr = 10, .size = 5, .id = 3, .key = 0x1f };

	(void)state;
	expect_line(SMM_OP_PING, NULL, &rep, "{\"ok\":true}\n");
	expect_line(SMM_OP_MALLOC, "[1]", &rep,
		    "{\"ok\":true,\"addr\":10,\"size\":5,\"id\":3,\"key\":\"000000000000001f\",\"tag\":[1]}\n");
	expect_line(SMM_OP_FREE, NULL, &rep, "{\"ok\":true,\"addr\":10,\"size\":5}\n");
}

static void test_map_and_counts(void **state)
{
	struct smm_cell cells[3] = { { 4, 0, 3 }, { 2, 2, 12 }, { 0, 0, -1 } };
	struct smm_reply rep = { .memory_size = 150, .offset = 0, .length = 12, .cells = cells,
				 .ncells = 3, .truncated = true, .has_blocks = true };
	struct smm_buf b = { 0 };

	(void)state;
	expect_line(SMM_OP_MAP, NULL, &rep,
		    "{\"ok\":true,\"size\":150,\"offset\":0,\"length\":12,\"cells\":3,"
		    "\"used\":[4,2,0],\"unfilled\":[0,2,0],\"owner\":[3,12,-1],"
		    "\"blocks_truncated\":true,\"blocks\":[]}\n");
	rep = (struct smm_reply){ .stats.by_op[SMM_OP_MAP] = 7, .stats.by_err[SMM_ERR_BUSY] = 2 };
	smm_reply_format(SMM_OP_STATS, NULL, 0, &rep, &b);
	assert_non_null(strstr(b.data, ",\"ops\":{\"ping\":0,\"malloc\":0,\"fill\":0,\"free\":0,"
				       "\"dump\":0,\"stats\":0,\"reset\":0,\"renew\":0,\"map\":7,"
				       "\"compact\":0},"));
	assert_non_null(strstr(b.data, "\"too_large\":0,\"busy\":2,\"unavailable\":0}}\n"));
	smm_buf_free(&b);
}

static void test_errors(void **state)
{
	struct smm_reply rep = { 0 };

	(void)state;
	smm_reply_fail(&rep, SMM_ERR_NO_MEMORY, NULL);
	expect_line(SMM_OP_MALLOC, NULL, &rep,
		    "{\"ok\":false,\"addr\":-1,\"error\":\"no_memory\",\"message\":\"Not enough memory\"}\n");
	smm_reply_fail(&rep, SMM_ERR_BAD_ADDR, "say \"hi\"\n");
	expect_line(SMM_OP_FREE, "\"t\"", &rep,
		    "{\"ok\":false,\"error\":\"bad_addr\",\"message\":\"say \\\"hi\\\"\\u000a\",\"tag\":\"t\"}\n");
}

static void test_dump_escapes(void **state)
{
	struct smm_reply rep = { .memory_size = 4, .offset = 0, .length = 4, .has_blocks = true };
	struct smm_block_info b = { .addr = 1, .size = 2, .id = 7 };

	(void)state;
	rep.memory = strdup("a\"\\.");
	rep.blocks = &b;
	rep.nblocks = 1;
	expect_line(SMM_OP_DUMP, NULL, &rep,
		    "{\"ok\":true,\"size\":4,\"offset\":0,\"length\":4,\"memory\":\"a\\\"\\\\.\","
		    "\"blocks\":[{\"addr\":1,\"size\":2,\"id\":7}]}\n");
	free(rep.memory);
}

static void test_names(void **state)
{
	(void)state;
	for (int e = SMM_ERR_NONE; e < SMM_ERR_COUNT; e++)
		assert_int_equal(smm_err_from_name(smm_err_name((enum smm_err)e)), e);
	assert_int_equal(smm_err_from_name("nonsense"), SMM_ERR_COUNT);
	assert_int_equal(smm_id_char(0), '0');
	assert_int_equal(smm_id_char(10), 'A');
	assert_int_equal(smm_id_char(36), 'a');
	assert_int_equal(smm_id_char(62), '0');
	assert_int_equal(smm_id_char(2147483647), smm_id_char(2147483647 % 62));
}

static void test_fragmentation(void **state)
{
	struct smm_stats st = { .free = 0 };

	(void)state;
	assert_true(smm_stats_fragmentation(&st) == 0.0);
	st.free = 100;
	st.largest_free = 25;
	assert_true(smm_stats_fragmentation(&st) == 0.75);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_replies),
		cmocka_unit_test(test_map_and_counts),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_dump_escapes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_fragmentation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
