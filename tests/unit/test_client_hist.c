/* test_client_hist.c — the latency histogram: exact below 64, within
 * 1/32 above, quantiles by rank, merging, and the extremes of uint64_t. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "hist.h"

static struct smm_hist h, other;

static void test_empty(void **state)
{
	(void)state;
	smm_hist_init(&h);
	assert_int_equal(smm_hist_quantile(&h, 0.5), 0);
	assert_int_equal(h.max, 0);
}

static void test_small_values_exact(void **state)
{
	(void)state;
	smm_hist_init(&h);
	for (uint64_t v = 1; v <= 63; v++)
		smm_hist_record(&h, v);
	assert_int_equal(smm_hist_quantile(&h, 0), 1);
	assert_int_equal(smm_hist_quantile(&h, 0.5), 32);
	assert_int_equal(smm_hist_quantile(&h, 1), 63);
	assert_int_equal(h.total, 63);
}

static void test_relative_error(void **state)
{
	uint64_t v = 64;

	(void)state;
	/* Every value, alone, comes back within 1/32 above itself and never below. */
	for (int i = 0; i < 20000; i++) {
		uint64_t got;
		smm_hist_init(&h);
		smm_hist_record(&h, v);
		smm_hist_record(&h, UINT64_MAX); /* keeps max from capping the answer */
		got = smm_hist_quantile(&h, 0.5);
		assert_true(got >= v);
		assert_true(got - v <= v / 32);
		v += v / 97 + 1;
		if (v > UINT64_MAX / 2)
			break;
	}
}

static void test_quantiles_by_rank(void **state)
{
	(void)state;
	smm_hist_init(&h);
	for (int i = 0; i < 990; i++)
		smm_hist_record(&h, 10);
	for (int i = 0; i < 10; i++)
		smm_hist_record(&h, 5000);
	assert_int_equal(smm_hist_quantile(&h, 0.5), 10);
	assert_int_equal(smm_hist_quantile(&h, 0.99), 10);
	assert_true(smm_hist_quantile(&h, 0.999) >= 5000);
	assert_int_equal(smm_hist_quantile(&h, 0.999), 5000); /* capped at the max */
	assert_int_equal(h.max, 5000);
}

static void test_merge_and_extremes(void **state)
{
	(void)state;
	smm_hist_init(&h);
	smm_hist_init(&other);
	smm_hist_record(&h, 0);
	smm_hist_record(&other, UINT64_MAX);
	smm_hist_merge(&h, &other);
	assert_int_equal(h.total, 2);
	assert_true(h.max == UINT64_MAX);
	assert_int_equal(smm_hist_quantile(&h, 0.5), 0);
	assert_true(smm_hist_quantile(&h, 1) == UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_relative_error),
		cmocka_unit_test(test_quantiles_by_rank),
		cmocka_unit_test(test_merge_and_extremes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
