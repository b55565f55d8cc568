/* test_arena.c — the allocator core under the seed's bump policy:
 * placement, exact fit, top-block reuse, keys, scrubbing and accounting;
 * and the key generator's cipher against a known answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "exec.h"
#include "keys.h"

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
	smm_exec_run(a, &req, 0, &rep);
	assert_int_equal(rep.err, SMM_ERR_NONE);
	assert_int_equal(rep.length, 4);
	assert_int_equal(rep.memory_size, 16);
	assert_int_equal(rep.nblocks, 2); /* [0,3) and [3,6) overlap [2,6) */
	assert_int_equal(rep.blocks[0].addr, 0);
	assert_int_equal(rep.blocks[1].addr, 3);
	smm_reply_clear(&rep);
	req.offset = 17;
	smm_exec_run(a, &req, 0, &rep);
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

/* The key generator's cipher against RFC 8439's section 2.3.2 input
 * (the first block is the RFC's; all eight are OpenSSL's chacha20). */
static void test_chacha20_known_answer(void **state)
{
	const uint32_t key[8] = { 0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c,
				  0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c };
	const uint32_t nonce[3] = { 0x09000000, 0x4a000000, 0 };
	static const char want[] =
		"\x10\xf1\xe7\xe4\xd1\x3b\x59\x15\x50\x0f\xdd\x1f\xa3\x20\x71\xc4\xc7\xd1\xf4\xc7\x33\xc0\x68\x03\x04\x22\xaa\x9a\xc3\xd4\x6c\x4e"
		"\xd2\x82\x64\x46\x07\x9f\xaa\x09\x14\xc2\xd7\x05\xd9\x8b\x02\xa2\xb5\x12\x9c\xd1\xde\x16\x4e\xb9\xcb\xd0\x83\xe8\xa2\x50\x3c\x4e"
		"\x0a\x88\x83\x77\x39\xd7\xbf\x4e\xf8\xcc\xac\xb0\xea\x2b\xb9\xd6\x9d\x56\xc3\x94\xaa\x35\x1d\xfd\xa5\xbf\x45\x9f\x0a\x2e\x9f\xe8"
		"\xe7\x21\xf8\x92\x55\xf9\xc4\x86\xbf\x21\x67\x9c\x68\x3d\x4f\x9c\x5c\xf2\xfa\x27\x86\x55\x26\x00\x5b\x06\xca\x37\x4c\x86\xaf\x3b"
		"\xdc\xbf\xbd\xcb\x83\xbe\x65\x86\x2e\xd5\xc2\x0e\xae\x5a\x43\x24\x1d\x6a\x92\xda\x6d\xca\x9a\x15\x6b\xe2\x52\x97\xf5\x1c\x27\x18"
		"\x8a\x86\x1e\x93\xcc\x3a\xeb\x12\x9a\x76\x59\x8b\xac\xcd\x27\x45\x3a\xc6\x94\x1b\x4b\x4e\x1e\x51\x53\xa9\xfe\xe9\x5d\x1b\xa0\x0e"
		"\x69\xd0\x9f\x0d\x33\x64\x78\xca\x90\x68\x33\x5a\xe2\xb3\x09\x09\x05\xfb\x0f\xe5\xd4\x51\x15\x37\x1d\x12\x6e\x5b\xa8\x5e\x99\x24"
		"\x32\x72\x9a\xa7\xd7\x7d\xdc\x5e\x3c\xc6\x89\xd8\x44\x5c\x1a\xb7\x54\xa7\x40\x9e\xe8\xbe\xfc\x2b\xdd\x38\x68\xd2\x7f\x6e\x1a\xd8"
		"\xa9\x19\xbf\xe7\xa3\x9d\xef\x0c\x7c\x74\x98\x19\x52\xcd\x16\xb7\x79\x89\x59\x7e\x08\x67\x9e\x57\x61\x5f\x79\x69\x19\x46\xa5\x8f"
		"\xf9\xcd\xab\x03\x77\x0d\xd6\x0b\xf5\x23\xf9\xfb\xa6\xbd\xa6\x0c\x26\x7c\xd9\xfc\x2e\x9a\x85\xf1\xc4\x13\x34\xbe\xe3\x0d\x57\x8f"
		"\x18\x2b\x35\x8e\x09\x6f\x14\xb1\xa4\xbb\xdc\x69\x35\x7a\x4c\x4c\x5f\x3a\x6d\x4e\x7e\xa8\x57\x7c\xa7\xd1\x9e\x05\xc0\x55\x07\xc2"
		"\x40\xe8\xc2\x0d\x0d\x45\x9c\x67\xdf\x97\xc8\xd3\x5a\x51\x43\x3d\x92\x02\xe3\x13\x78\xdf\x5f\xad\x8f\x0c\x81\x5c\xba\x5b\x21\x76"
		"\xca\xdf\xa2\x16\x57\x89\x8a\xac\x16\x03\x88\x85\xf6\x02\xa5\xeb\xbd\x7d\xb4\x8a\xfc\x0f\x12\x0c\x1c\x4a\xdd\x4d\xa1\x0f\xca\xd8"
		"\xe4\xa3\x02\x86\x8b\x78\x81\xdc\x3e\xd0\x60\x93\xba\x95\x41\xd6\x52\xb7\x61\x6b\x7b\x2e\xea\x6c\x3f\x4b\xdf\x97\x59\x50\x19\xc5"
		"\x43\x04\xf7\x84\x88\xf1\x16\x00\x08\xe9\x18\x5d\xf3\xa6\x22\x3d\x70\xc0\xdb\xaf\x47\x22\x76\x42\xd3\x31\x4e\x70\x0f\x00\x67\x1a"
		"\x88\xa5\xb4\x9d\xd0\x7e\xe9\x42\xe2\xfd\x83\xde\xf9\x8a\xdf\xdb\xee\x47\x4e\x11\xf0\x19\x15\xca\xc6\x6e\x0f\x9a\xe9\x24\xad\x94";
	uint8_t out[SMM_KEYS_BLOCKS * 64];

	(void)state;
	assert_int_equal(sizeof want - 1, sizeof out);
	smm_keys_chacha20(key, 1, nonce, out);
	assert_memory_equal(out, want, sizeof out);
}

/* Keys run across batches and reseeds without repeating. */
static void test_keys_distinct(void **state)
{
	struct smm_keys k = { 0 };
	enum { N = SMM_KEYS_BATCH * 3 + 5 };
	uint64_t seen[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		assert_int_equal(smm_keys_next(&k, &seen[i]), 0);
		for (int j = 0; j < i; j++)
			assert_true(seen[j] != seen[i]);
	}
	k.batches = 1; /* the next batch reseeds */
	for (int i = 0; i < SMM_KEYS_BATCH * 2; i++)
		assert_int_equal(smm_keys_next(&k, &seen[0]), 0);
	assert_int_equal(k.batches, SMM_KEYS_RESEED - 1);
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
		cmocka_unit_test(test_chacha20_known_answer),
		cmocka_unit_test(test_keys_distinct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
