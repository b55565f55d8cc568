/* test_aofrec.c — log records alone: CRC32C's known answer, every type
 * encoded and decoded back, every cut of a record read as torn, every
 * flipped bit caught, replay giving the same block and key, and a
 * rewrite's BLOCK records rebuilding the same arena under every policy. */
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
	{ .type = SMM_AOFREC_BLOCK, .id = 9, .size = 16, .conn = 4, .addr = 32, .key = 5,
	  .deadline = 1700000005000ULL, .ch = 'q' },
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
	/* A malloc on a live block, or past the arena's end, is refused. */
	r = (struct smm_aofrec){ .type = SMM_AOFREC_MALLOC, .id = 1, .size = 1, .addr = 0 };
	assert_int_equal(smm_aofrec_apply(again, &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "does not replay"));
	r.addr = 995, r.size = 10;
	assert_int_equal(smm_aofrec_apply(again, &r, err, sizeof err), -1);
	smm_arena_destroy(live);
	smm_arena_destroy(again);
}

/* rewrite_of copies a's blocks as a rewrite does and replays the records,
 * each through its encoding, on a fresh arena of the same policy. */
static struct smm_arena *rewrite_of(const struct smm_arena *a, const char *policy)
{
	struct smm_arena *b = new_arena(policy);
	struct smm_arena_entry e[200];
	size_t n = smm_arena_snapshot(a, 200, e);
	uint8_t buf[SMM_AOFREC_MAX];
	struct smm_aofrec r, d;
	char err[128];

	assert_true(n < 200);
	/* A rewrite writes them in address order, which bump needs; the
	 * others take any order: here the reverse. */
	for (size_t k = 0; k < n; k++) {
		size_t i = strcmp(policy, "bump") == 0 ? k : n - 1 - k;
		smm_aofrec_of_entry(&e[i], &r);
		assert_int_equal(smm_aofrec_decode(buf, smm_aofrec_encode(&r, buf), &d, err,
						   sizeof err), (long)smm_aofrec_encode(&r, buf));
		assert_int_equal(smm_aofrec_apply(b, &d, err, sizeof err), 0);
	}
	return b;
}

static void assert_same_arena(const struct smm_arena *x, const struct smm_arena *y)
{
	struct smm_stats s = { 0 }, t = { 0 };
	char m1[1000], m2[1000];

	smm_arena_read(x, 0, 1000, m1);
	smm_arena_read(y, 0, 1000, m2);
	assert_memory_equal(m1, m2, 1000);
	smm_arena_stats(x, &s);
	smm_arena_stats(y, &t);
	assert_int_equal(s.used, t.used);
	assert_int_equal(s.blocks, t.blocks);
	assert_int_equal(s.free_extents, t.free_extents);
	assert_int_equal(s.largest_free, t.largest_free);
	assert_int_equal(s.leases, t.leases);
	assert_int_equal(smm_arena_next_deadline(x), smm_arena_next_deadline(y));
}

/* Under every policy, a seeded churn of mallocs (some leased, some owned
 * by a connection), fills and frees, copied as a rewrite copies it and
 * replayed by claim, gives the same bytes, counts, keys and terms; and the
 * copy of that copy is the same again. */
static void test_rewrite_replays_to_the_same_arena(void **state)
{
	(void)state;
	for (size_t p = 0; p < smm_policy_count(); p++) {
		const char *name = smm_policy_at(p)->name;
		struct smm_arena *a = new_arena(name), *b, *c;
		uint64_t addr[150], key[150], rng = 88172645463325252ULL;
		size_t live = 0;
		struct smm_reply rep;

		for (int step = 0; step < 600; step++) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			struct smm_request q = { .op = SMM_OP_MALLOC, .id = (int64_t)(rng % 50),
						 .size = 1 + (rng >> 8) % 40,
						 .has_ttl = rng % 5 == 0, .ttl_ms = 1000 + rng % 99,
						 .conn_scope = rng % 7 == 0, .conn = 1 + rng % 3 };
			if (live == 150 || (live > 0 && rng % 3 == 0)) {
				size_t i = (rng >> 16) % live;
				q = (struct smm_request){ .op = rng % 2 ? SMM_OP_FILL : SMM_OP_FREE,
							  .addr = addr[i], .key = key[i],
							  .fill_char = rng % 4 ? 'z' : 0 };
				if (q.op == SMM_OP_FREE)
					addr[i] = addr[--live], key[i] = key[live];
			}
			smm_exec_run(a, &q, 100, &rep);
			if (q.op == SMM_OP_MALLOC && rep.err == SMM_ERR_NONE)
				addr[live] = rep.addr, key[live++] = rep.key;
			smm_reply_clear(&rep);
		}
		b = rewrite_of(a, name);
		assert_same_arena(a, b);
		for (size_t i = 0; i < live; i++) {
			smm_exec_run(b, &(struct smm_request){ .op = SMM_OP_FILL, .addr = addr[i],
							       .key = key[i], .fill_char = 'k' },
				     0, &rep);
			assert_int_equal(rep.err, SMM_ERR_NONE);
		}
		assert_int_equal(smm_arena_release_conn(b, 2), smm_arena_release_conn(a, 2));
		c = rewrite_of(b, name);
		assert_same_arena(b, c);
		smm_arena_destroy(a);
		smm_arena_destroy(b);
		smm_arena_destroy(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_answer),
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_every_cut_is_torn_every_flip_caught),
		cmocka_unit_test(test_impossible_fields_refused),
		cmocka_unit_test(test_replay_matches_the_live_run),
		cmocka_unit_test(test_rewrite_replays_to_the_same_arena),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
