/* test_secret.c — the two comparisons that guard the server: smm_keys_equal
 * (a block's key) and smm_secret_equal (the admin token). Mutation testing
 * found that a secret_equal accepting an empty guess passed every test; each
 * case here is a guess that must be refused, beside the one that must pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keys.h"

static const char TOKEN[] = "s3cret-token";

/* guess compares s with TOKEN as the server does: the guess first, the
 * configured token second. */
static int guess(const char *s, size_t len)
{
	return smm_secret_equal(s, len, TOKEN, strlen(TOKEN));
}

static void test_keys_equal(void **state)
{
	(void)state;
	assert_int_equal(smm_keys_equal(0, 0), 1);
	assert_int_equal(smm_keys_equal(0x0123456789abcdefULL, 0x0123456789abcdefULL), 1);
	assert_int_equal(smm_keys_equal(0x0123456789abcdefULL, 0x0123456789abcdeeULL), 0);
	assert_int_equal(smm_keys_equal(0x0123456789abcdefULL, 0x8123456789abcdefULL), 0);
	assert_int_equal(smm_keys_equal(0, UINT64_MAX), 0);
	assert_int_equal(smm_keys_equal(UINT64_MAX, 0), 0);
}

static void test_secret_equal_accepts_the_token(void **state)
{
	char copy[sizeof TOKEN];

	(void)state;
	memcpy(copy, TOKEN, sizeof TOKEN); /* equal bytes, not the same pointer */
	assert_int_equal(guess(copy, strlen(copy)), 1);
}

static void test_secret_equal_refuses_empty_and_prefixes(void **state)
{
	(void)state;
	assert_int_equal(guess("", 0), 0);
	assert_int_equal(guess(TOKEN, 0), 0);
	assert_int_equal(guess(TOKEN, 1), 0);
	assert_int_equal(guess(TOKEN, strlen(TOKEN) - 1), 0);
}

static void test_secret_equal_refuses_longer(void **state)
{
	static const char nul_after[] = "s3cret-token\0";

	(void)state;
	assert_int_equal(guess("s3cret-token!", 13), 0);
	assert_int_equal(guess("s3cret-tokens3cret-token", 24), 0);
	/* A NUL after the token is a byte too, not an end. */
	assert_int_equal(guess(nul_after, sizeof nul_after - 1), 0);
}

static void test_secret_equal_refuses_one_byte_changed(void **state)
{
	char g[sizeof TOKEN];
	size_t n = strlen(TOKEN);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		memcpy(g, TOKEN, sizeof TOKEN);
		g[i] ^= 1;
		assert_int_equal(guess(g, n), 0);
	}
	memcpy(g, TOKEN, sizeof TOKEN);
	g[0] = 'S';
	assert_int_equal(guess(g, n), 0);
	memcpy(g, TOKEN, sizeof TOKEN);
	g[n - 1] = 'N';
	assert_int_equal(guess(g, n), 0);
}

static void test_secret_equal_empty_configured_token(void **state)
{
	(void)state;
	/* An empty configured token is never loaded (smm_token_load refuses
	 * it), but the comparison must not call a guess equal to it unless
	 * the guess is empty too. */
	assert_int_equal(smm_secret_equal("", 0, "", 0), 1);
	assert_int_equal(smm_secret_equal("x", 1, "", 0), 0);
	assert_int_equal(smm_secret_equal("", 0, "x", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_equal),
		cmocka_unit_test(test_secret_equal_accepts_the_token),
		cmocka_unit_test(test_secret_equal_refuses_empty_and_prefixes),
		cmocka_unit_test(test_secret_equal_refuses_longer),
		cmocka_unit_test(test_secret_equal_refuses_one_byte_changed),
		cmocka_unit_test(test_secret_equal_empty_configured_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
