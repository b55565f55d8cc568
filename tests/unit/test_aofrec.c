/* test_aofrec.c — log records alone: CRC32C's known answer, every type
 * encoded and decoded back, every cut of a record read as torn, every
 * flipped bit caught, and replay giving the same block and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "aofrec.h"
#include "exec.h"

static const struct smm_aofrec samples[] = {
	{ .type = SMM_AOFREC_CONFIG, .size = 4096, .count = 8, .ch = '.', .policy = "tlsf" },
	{ .type = SMM_AOFREC_MALLOC, .now = 1700000000000ULL, .id = 42, .size = 10,
	  .ttl_ms = 5000, .conn = 3, .addr = 64, .key = 0x0123456789abcdefULL },
	{ .type = SMM_AOFREC_FILL, .addr = 64, .key = 7, .ch = '#' },
	{ .type = SMM_AOFREC_FREE, .addr = 64 },
	{ .type = SMM_AOFREC_RENEW, .now = 5, .addr = 64, .key = 7, .ttl_ms = 0 },
	{ .type = SMM_AOFREC_RESET },
	{ .type = SMM_AOFREC_RELEASE, .conn = 3, .count = 2 },
	{ .type = SMM_AOFREC_EXPIRE, .now = 99, .count = 1024 },
};

#define NSAMPLES (sizeof samples / sizeof samples[0])

static void test_crc32c_known_answer(void **state)
{
	(void)state;
	assert_int_equal(smm_aofrec_crc32c(0, "123456789", 9), 0xe3069283u);
}

static void test_round_trip_every_type(void **state)
{
	uint8_t buf[SMM_AOFREC_MAX];
	struct smm_aofrec r;
	char err[128];

	(void)state;
	for (size_t i = 0; i < NSAMPLES; i++) {
		size_t n = smm_aofrec_encode(&samples[i], buf);
		assert_int_equal(smm_aofrec_decode(buf, n, &r, err, sizeof err), (long)n);
		assert_memory_equal(&r, &samples[i], sizeof r);
	}
}

static void test_every_cut_is_torn_every_flip_caught(void **state)
{
	uint8_t buf[SMM_AOFREC_MAX];
	struct smm_aofrec r;
	char err[128];

	(void)state;
	for (size_t i = 0; i < NSAMPLES; i++) {
		size_t n = smm_aofrec_encode(&samples[i], buf);
		for (size_t cut = 0; cut < n; cut++)
			assert_int_equal(smm_aofrec_decode(buf, cut, &r, err, sizeof err), 0);
		/* Flips in the payload and the checksum are caught by the CRC; a
		 * flip in the length either makes it impossible or asks for bytes
		 * past the end of this one record (torn). */
		for (size_t bit = 32; bit < n * 8; bit++) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(smm_aofrec_decode(buf, n, &r, err, sizeof err), -1);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
}

static void test_impossible_fields_refused(void **state)
{
	struct smm_aofrec bad = samples[1];
	uint8_t buf[SMM_AOFREC_MAX];
	struct smm_aofrec r;
	char err[128];

	(void)state;
	bad.size = 0;
	assert_int_equal(smm_aofrec_decode(buf, smm_aofrec_encode(&bad, buf), &r, err,
					   sizeof err), -1);
	assert_non_null(strstr(err, "impossible"));
}

static struct smm_arena *new_arena(const char *policy)
{
	struct smm_arena_config cfg = { 1000, 1, '.', smm_policy_find(policy) };
	char err[128];
	struct smm_arena *a = smm_arena_new(&cfg, err, sizeof err);

	assert_non_null(a);
	return a;
}

/* A malloc, a fill and a free, run live, logged and replayed on a second
 * arena, leave the same bytes, block and key. */
static void test_replay_matches_the_live_run(void **state)
{
	struct smm_arena *live = new_arena("best-fit"), *again = new_arena("best-fit");
	struct smm_request reqs[] = {
		{ .op = SMM_OP_MALLOC, .id = 1, .size = 10 },
		{ .op = SMM_OP_MALLOC, .id = 2, .size = 20, .has_ttl = true, .ttl_ms = 50 },
		{ .op = SMM_OP_FREE },
		{ .op = SMM_OP_MALLOC, .id = 3, .size = 5 },
	};
	struct smm_reply rep;
	struct smm_aofrec r;
	char err[128], m1[40], m2[40];
	uint64_t key1 = 0;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		if (reqs[i].op == SMM_OP_FREE)
			reqs[i].addr = 0, reqs[i].has_token = true;
		smm_exec_run(live, &reqs[i], 100, &rep);
		assert_int_equal(rep.err, SMM_ERR_NONE);
		key1 = i == 3 ? rep.key : key1;
		assert_int_equal(smm_aofrec_of_request(&reqs[i], &rep, 100, &r), 1);
		assert_int_equal(smm_aofrec_apply(again, &r, err, sizeof err), 0);
	}
	smm_arena_read(live, 0, 40, m1);
	smm_arena_read(again, 0, 40, m2);
	assert_memory_equal(m1, m2, 40);
	smm_exec_run(again, &(struct smm_request){ .op = SMM_OP_FILL, .addr = 0, .key = key1 },
		     0, &rep);
	assert_int_equal(rep.err, SMM_ERR_NONE);
	/* The lease ends at the logged time plus ttl_ms on both. */
	assert_int_equal(smm_arena_next_deadline(again), 150);
	/* A malloc that lands elsewhere than logged is refused. */
	r = (struct smm_aofrec){ .type = SMM_AOFREC_MALLOC, .id = 1, .size = 1, .addr = 999 };
	assert_int_equal(smm_aofrec_apply(again, &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "does not replay"));
	smm_arena_destroy(live);
	smm_arena_destroy(again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_answer),
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_every_cut_is_torn_every_flip_caught),
		cmocka_unit_test(test_impossible_fields_refused),
		cmocka_unit_test(test_replay_matches_the_live_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
