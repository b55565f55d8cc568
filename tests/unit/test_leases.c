/* test_leases.c — the lease table against a brute-force model (heap order,
 * renew, drop, connection rings), and the core's lease logic on a fake
 * clock: expiry, renew, the operator's free, a connection's release, dump's
 * time left, and the longest expiry slice with a million leases ending at
 * once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "exec.h"
#include "leases.h"

/* The model: for address i, its deadline and connection (both absent:
 * no record). */
#define ADDRS 512
struct model {
	uint64_t deadline[ADDRS], conn[ADDRS];
	int live[ADDRS];
};

static uint64_t rng_next(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

static uint64_t model_next(const struct model *m)
{
	uint64_t best = SMM_LEASES_NEVER;

	for (int i = 0; i < ADDRS; i++)
		if (m->live[i] && m->deadline[i] < best)
			best = m->deadline[i];
	return best;
}

static size_t model_count(const struct model *m)
{
	size_t n = 0;

	for (int i = 0; i < ADDRS; i++)
		n += m->live[i] && m->deadline[i] != SMM_LEASES_NEVER;
	return n;
}

static void check_model(const struct smm_leases *l, const struct model *m)
{
	for (int i = 0; i < ADDRS; i++) {
		uint64_t d, c;
		int has = smm_leases_get(l, (uint64_t)i, &d, &c) == 0;
		assert_int_equal(has, m->live[i]);
		if (has) {
			assert_int_equal(d, m->deadline[i]);
			assert_int_equal(c, m->conn[i]);
		}
	}
	assert_int_equal(smm_leases_next(l), model_next(m));
	assert_int_equal(smm_leases_count(l), model_count(m));
}

static void model_forget(struct model *m, uint64_t addr)
{
	m->live[addr] = 0;
}

/* step applies one random operation to both. */
static void step(struct smm_leases *l, struct model *m, uint64_t *rng, uint64_t *now)
{
	uint64_t addr = rng_next(rng) % ADDRS, d = *now + rng_next(rng) % 1000, got;
	uint64_t conn = rng_next(rng) % 4; /* 0: server-scoped */

	if (rng_next(rng) % 4 == 0)
		d = SMM_LEASES_NEVER;
	switch (rng_next(rng) % 6) {
	case 0:
	case 1: /* a new block */
		if (m->live[addr])
			break;
		assert_int_equal(smm_leases_add(l, addr, d, conn), 0);
		m->live[addr] = d != SMM_LEASES_NEVER || conn != 0;
		m->deadline[addr] = d;
		m->conn[addr] = conn;
		break;
	case 2: /* renew a live block, or give a block without terms a lease */
		assert_int_equal(smm_leases_renew(l, addr, d), 0);
		if (!m->live[addr])
			m->conn[addr] = 0;
		m->deadline[addr] = d;
		m->live[addr] = d != SMM_LEASES_NEVER || m->conn[addr] != 0;
		break;
	case 3: /* free */
		smm_leases_drop(l, addr);
		model_forget(m, addr);
		break;
	case 4: /* time passes; every lease due is taken, earliest first */
		*now += rng_next(rng) % 300;
		while (model_next(m) <= *now) {
			uint64_t want = model_next(m);
			assert_int_equal(smm_leases_pop_due(l, *now, &got), 1);
			assert_true(m->live[got]);
			assert_int_equal(m->deadline[got], want);
			model_forget(m, got);
		}
		assert_int_equal(smm_leases_pop_due(l, *now, &got), 0);
		break;
	default: /* connection conn closes */
		if (conn == 0)
			break;
		while (smm_leases_pop_conn(l, conn, &got)) {
			assert_true(m->live[got]);
			assert_int_equal(m->conn[got], conn);
			model_forget(m, got);
		}
		for (int i = 0; i < ADDRS; i++)
			assert_false(m->live[i] && m->conn[i] == conn);
		break;
	}
}

static void test_table_matches_model(void **state)
{
	struct smm_leases *l = smm_leases_new();
	struct model m = { 0 };
	uint64_t rng = 42, now = 0;

	(void)state;
	assert_non_null(l);
	for (int i = 0; i < 200000; i++) {
		step(l, &m, &rng, &now);
		if (i % 97 == 0)
			check_model(l, &m);
	}
	check_model(l, &m);
	smm_leases_clear(l);
	memset(&m, 0, sizeof m);
	check_model(l, &m);
	smm_leases_destroy(l);
}

static void test_renew_to_never_keeps_a_scoped_record(void **state)
{
	struct smm_leases *l = smm_leases_new();
	uint64_t d, c, addr;

	(void)state;
	assert_int_equal(smm_leases_add(l, 10, 500, 7), 0);
	assert_int_equal(smm_leases_add(l, 20, 400, 0), 0);
	assert_int_equal(smm_leases_add(l, 30, SMM_LEASES_NEVER, 0), 0); /* no terms */
	assert_int_equal(smm_leases_get(l, 30, &d, &c), -1);
	assert_int_equal(smm_leases_next(l), 400);
	assert_int_equal(smm_leases_renew(l, 20, SMM_LEASES_NEVER), 0);
	assert_int_equal(smm_leases_get(l, 20, &d, &c), -1); /* nothing left to keep */
	assert_int_equal(smm_leases_renew(l, 10, SMM_LEASES_NEVER), 0);
	assert_int_equal(smm_leases_get(l, 10, &d, &c), 0);
	assert_int_equal(d, SMM_LEASES_NEVER);
	assert_int_equal(c, 7);
	assert_int_equal(smm_leases_count(l), 0);
	assert_int_equal(smm_leases_pop_due(l, UINT64_MAX - 1, &addr), 0);
	assert_int_equal(smm_leases_pop_conn(l, 8, &addr), 0);
	assert_int_equal(smm_leases_pop_conn(l, 7, &addr), 1);
	assert_int_equal(addr, 10);
	assert_int_equal(smm_leases_pop_conn(l, 7, &addr), 0);
	smm_leases_destroy(l);
}

/* The core, driven through exec with a fake clock. */

static struct smm_arena *new_arena(uint64_t size)
{
	struct smm_arena_config cfg = { size, 1, '.', smm_policy_find("first-fit") };
	char err[128];
	struct smm_arena *a = smm_arena_new(&cfg, err, sizeof err);

	assert_non_null(a);
	return a;
}

static struct smm_reply run(struct smm_arena *a, uint64_t now, struct smm_request req)
{
	struct smm_reply rep;

	smm_exec_run(a, &req, now, &rep);
	return rep;
}

static struct smm_stats stats(struct smm_arena *a)
{
	struct smm_stats st = { 0 };

	smm_arena_stats(a, &st);
	return st;
}

static void expect_arena_bytes(struct smm_arena *a, const char *want)
{
	char got[64];
	size_t n = strlen(want);

	smm_arena_read(a, 0, n, got);
	got[n] = '\0';
	assert_string_equal(got, want);
}

static void test_lease_expires_on_the_fake_clock(void **state)
{
	struct smm_arena *a = new_arena(20);
	struct smm_reply r, x;

	(void)state;
	r = run(a, 1000, (struct smm_request){ .op = SMM_OP_MALLOC, .id = 1, .size = 4,
					       .has_ttl = true, .ttl_ms = 50 });
	assert_int_equal(r.err, SMM_ERR_NONE);
	assert_true(r.has_ttl);
	assert_int_equal(r.ttl_ms, 50);
	x = run(a, 1000, (struct smm_request){ .op = SMM_OP_MALLOC, .id = 2, .size = 4 });
	assert_false(x.has_ttl);
	run(a, 1000, (struct smm_request){ .op = SMM_OP_FILL, .addr = r.addr, .key = r.key });
	run(a, 1000, (struct smm_request){ .op = SMM_OP_FILL, .addr = x.addr, .key = x.key });
	assert_int_equal(smm_arena_next_deadline(a), 1050);
	assert_int_equal(smm_arena_expire(a, 1049, 10), 0);
	expect_arena_bytes(a, "11112222");
	assert_int_equal(smm_arena_expire(a, 1050, 10), 1);
	expect_arena_bytes(a, "....2222");
	assert_int_equal(smm_arena_next_deadline(a), SMM_LEASES_NEVER);
	assert_int_equal(stats(a).expired, 1);
	assert_int_equal(stats(a).leases, 0);
	assert_int_equal(stats(a).used, 4);
	r = run(a, 1051, (struct smm_request){ .op = SMM_OP_FREE, .addr = r.addr, .key = r.key });
	assert_int_equal(r.err, SMM_ERR_BAD_ADDR);
	smm_arena_destroy(a);
}

static void test_renew_through_exec(void **state)
{
	struct smm_arena *a = new_arena(20);
	struct smm_reply r, e;

	(void)state;
	r = run(a, 0, (struct smm_request){ .op = SMM_OP_MALLOC, .size = 4, .has_ttl = true,
					    .ttl_ms = 10 });
	e = run(a, 5, (struct smm_request){ .op = SMM_OP_RENEW, .addr = r.addr, .key = r.key,
					    .has_ttl = true, .ttl_ms = 100 });
	assert_int_equal(e.err, SMM_ERR_NONE);
	assert_int_equal(e.size, 4);
	assert_int_equal(e.ttl_ms, 100);
	assert_int_equal(smm_arena_next_deadline(a), 105);
	e = run(a, 5, (struct smm_request){ .op = SMM_OP_RENEW, .addr = r.addr, .key = ~r.key,
					    .has_ttl = true, .ttl_ms = 1 });
	assert_int_equal(e.err, SMM_ERR_FORBIDDEN);
	assert_false(e.has_ttl);
	e = run(a, 5, (struct smm_request){ .op = SMM_OP_RENEW, .addr = 3, .key = r.key,
					    .has_ttl = true, .ttl_ms = 1 });
	assert_int_equal(e.err, SMM_ERR_BAD_ADDR);
	assert_int_equal(smm_arena_next_deadline(a), 105);
	e = run(a, 6, (struct smm_request){ .op = SMM_OP_RENEW, .addr = r.addr, .key = r.key,
					    .has_ttl = true, .ttl_ms = 0 });
	assert_int_equal(e.err, SMM_ERR_NONE);
	assert_true(e.has_ttl);
	assert_int_equal(e.ttl_ms, 0);
	assert_int_equal(smm_arena_next_deadline(a), SMM_LEASES_NEVER);
	assert_int_equal(smm_arena_expire(a, UINT64_MAX - 1, 10), 0);
	assert_int_equal(stats(a).blocks, 1);
	smm_arena_destroy(a);
}

static void test_release_evict_and_dump_terms(void **state)
{
	struct smm_arena *a = new_arena(30);
	struct smm_reply r1, r2, r3, d;

	(void)state;
	r1 = run(a, 0, (struct smm_request){ .op = SMM_OP_MALLOC, .size = 4, .conn_scope = true,
					     .conn = 9 });
	r2 = run(a, 0, (struct smm_request){ .op = SMM_OP_MALLOC, .size = 4, .conn_scope = true,
					     .conn = 9, .has_ttl = true, .ttl_ms = 100 });
	r3 = run(a, 0, (struct smm_request){ .op = SMM_OP_MALLOC, .size = 4, .conn = 9 });
	d = run(a, 40, (struct smm_request){ .op = SMM_OP_DUMP, .blocks = true });
	assert_int_equal(d.nblocks, 3);
	assert_true(d.blocks[0].conn_scope && !d.blocks[0].has_ttl);
	assert_true(d.blocks[1].conn_scope && d.blocks[1].has_ttl);
	assert_int_equal(d.blocks[1].ttl_ms, 60);
	assert_false(d.blocks[2].conn_scope || d.blocks[2].has_ttl);
	smm_reply_clear(&d);
	d = run(a, 50, (struct smm_request){ .op = SMM_OP_RELEASE, .conn = 8 });
	assert_int_equal(d.freed, 0);
	d = run(a, 50, (struct smm_request){ .op = SMM_OP_RELEASE, .conn = 9 });
	assert_int_equal(d.freed, 2);
	assert_int_equal(stats(a).released_on_close, 2);
	assert_int_equal(stats(a).leases, 0);
	assert_int_equal(smm_arena_next_deadline(a), SMM_LEASES_NEVER);
	d = run(a, 50, (struct smm_request){ .op = SMM_OP_FREE, .addr = r1.addr, .key = r1.key });
	assert_int_equal(d.err, SMM_ERR_BAD_ADDR);
	(void)r2;
	/* The operator's free needs no key (the token is checked before exec). */
	d = run(a, 50, (struct smm_request){ .op = SMM_OP_FREE, .addr = r3.addr, .has_token = true });
	assert_int_equal(d.err, SMM_ERR_NONE);
	assert_int_equal(d.size, 4);
	d = run(a, 50, (struct smm_request){ .op = SMM_OP_FREE, .addr = r3.addr, .has_token = true });
	assert_int_equal(d.err, SMM_ERR_BAD_ADDR);
	assert_int_equal(stats(a).blocks, 0);
	smm_arena_destroy(a);
}

static void test_reset_forgets_terms(void **state)
{
	struct smm_arena *a = new_arena(30);

	(void)state;
	run(a, 0, (struct smm_request){ .op = SMM_OP_MALLOC, .size = 4, .has_ttl = true, .ttl_ms = 5 });
	run(a, 0, (struct smm_request){ .op = SMM_OP_MALLOC, .size = 4, .conn_scope = true, .conn = 3 });
	assert_int_equal(run(a, 0, (struct smm_request){ .op = SMM_OP_RESET }).freed, 2);
	assert_int_equal(smm_arena_next_deadline(a), SMM_LEASES_NEVER);
	assert_int_equal(run(a, 0, (struct smm_request){ .op = SMM_OP_RELEASE, .conn = 3 }).freed, 0);
	assert_int_equal(stats(a).leases, 0);
	smm_arena_destroy(a);
}

static double seconds(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A million leases ending at the same moment, expired in the allocator
 * thread's slices of 1024: the longest slice is what another client can
 * wait at worst. The bound is on the slice's CPU time, which a busy
 * machine's preemption does not inflate; the wall time is printed too. */
static void test_longest_slice_of_a_million(void **state)
{
	const uint64_t n = 1000000;
	struct smm_arena *a = new_arena(n);
	double worst = 0, worst_wall = 0;
	uint64_t freed = 0;

	(void)state;
	for (uint64_t i = 0; i < n; i++) {
		struct smm_reply r = run(a, 0, (struct smm_request){ .op = SMM_OP_MALLOC, .size = 1,
								     .has_ttl = true, .ttl_ms = 1000 });
		assert_int_equal(r.err, SMM_ERR_NONE);
	}
	while (freed < n) {
		double c0 = seconds(CLOCK_THREAD_CPUTIME_ID), w0 = seconds(CLOCK_MONOTONIC), dt, dw;
		size_t k = smm_arena_expire(a, 1000, 1024);
		dt = seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
		dw = seconds(CLOCK_MONOTONIC) - w0;
		worst = dt > worst ? dt : worst;
		worst_wall = dw > worst_wall ? dw : worst_wall;
		assert_true(k > 0);
		freed += k;
	}
	printf("longest expiry slice of 1024, 1000000 leases: %.3f ms CPU, %.3f ms wall\n",
	       worst * 1e3, worst_wall * 1e3);
	assert_int_equal(stats(a).blocks, 0);
	assert_int_equal(stats(a).expired, n);
	/* Generous: sanitized builds are several times slower. */
	assert_true(worst < 0.05);
	smm_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_model),
		cmocka_unit_test(test_renew_to_never_keeps_a_scoped_record),
		cmocka_unit_test(test_lease_expires_on_the_fake_clock),
		cmocka_unit_test(test_renew_through_exec),
		cmocka_unit_test(test_release_evict_and_dump_terms),
		cmocka_unit_test(test_reset_forgets_terms),
		cmocka_unit_test(test_longest_slice_of_a_million),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
