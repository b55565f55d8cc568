/* test_num.c — the number reader smm-server's settings and smm-client's
 * flags share: plain digits, binary suffixes, overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "num.h"

static void test_plain_and_suffixed(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(smm_num_parse("150", false, &v), 0);
	assert_int_equal(v, 150);
	assert_int_equal(smm_num_parse("0", true, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(smm_num_parse("64K", true, &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(smm_num_parse("3m", true, &v), 0);
	assert_int_equal(v, 3u << 20);
	assert_int_equal(smm_num_parse("5G", true, &v), 0);
	assert_true(v == 5ull << 30);
	assert_int_equal(smm_num_parse("2T", true, &v), 0);
	assert_true(v == 2ull << 40);
	assert_int_equal(smm_num_parse("16777215T", true, &v), 0);
	assert_true(v == 16777215ull << 40);
}

static void test_refused(void **state)
{
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "1.5", "0x10", "1KB",
					   "1 K", "K", "16777216T", "18446744073709551616" };
	uint64_t v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (smm_num_parse(bad[i], true, &v) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(v, 7); /* unchanged */
	}
	assert_int_equal(smm_num_parse("1K", false, &v), -1);
	assert_int_equal(smm_num_parse("18446744073709551615", false, &v), 0);
	assert_true(v == UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_suffixed),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
