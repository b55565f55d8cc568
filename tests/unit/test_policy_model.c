/* test_policy_model.c — every policy against a byte-map reference: seeded
 * random malloc/free churn, checked after every step. The reference knows
 * each byte's owner, so it can say where the exact policies must place a
 * request, and what used, free_extents and largest_free must be.
 *
 * Claim (the replay of a logged block at its address) is checked two ways:
 * a mirror instance claims every grant the policy made and must end equal
 * to it; and now and then a fresh instance claims every live block in
 * arbitrary order and must describe the same free space. Bump, which is
 * not byte-exact (padding is not an extent), has its own test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define ARENA 2000   /* not a power of two: buddy gets several tops */
#define STEPS 20000
#define MAX_LIVE 256

struct model {
	const struct smm_policy_ops *ops;
	struct smm_policy *p;
	struct smm_policy *q; /* the mirror: claims what p grants */
	uint64_t align, rotor, used;
	unsigned char owner[ARENA]; /* 0 free, else 1 */
	uint64_t addr[MAX_LIVE], size[MAX_LIVE];
	size_t live;
	uint64_t rng;
};

struct run {
	uint64_t start, end;
};

static uint64_t next_rand(struct model *m)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return m->rng;
}

static uint64_t usable(const struct model *m, struct run r)
{
	uint64_t a = (r.start + m->align - 1) & ~(m->align - 1);

	return a >= r.end ? 0 : r.end - a;
}

/* runs lists the maximal free runs in address order; returns how many. */
static size_t runs(const struct model *m, struct run *out)
{
	size_t n = 0;

	for (uint64_t i = 0; i < ARENA;) {
		if (m->owner[i]) {
			i++;
			continue;
		}
		out[n].start = i;
		while (i < ARENA && !m->owner[i])
			i++;
		out[n++].end = i;
	}
	return n;
}

static int is_exact(const struct model *m)
{
	return strcmp(m->ops->name, "buddy") != 0 && strcmp(m->ops->name, "tlsf") != 0;
}

/* expected_start returns where the exact policy must place size, or -1. */
static int64_t expected_start(const struct model *m, uint64_t size)
{
	struct run r[ARENA];
	size_t n = runs(m, r), pick = SIZE_MAX;
	const char *name = m->ops->name;

	for (size_t i = 0; i < n; i++) {
		uint64_t u = usable(m, r[i]);
		if (u < size)
			continue;
		if (pick == SIZE_MAX ||
		    (!strcmp(name, "best-fit") && u < usable(m, r[pick])) ||
		    (!strcmp(name, "worst-fit") && u > usable(m, r[pick])) ||
		    (!strcmp(name, "next-fit") && r[pick].start < m->rotor &&
		     r[i].start >= m->rotor))
			pick = i;
	}
	if (pick == SIZE_MAX)
		return -1;
	return (int64_t)((r[pick].start + m->align - 1) & ~(m->align - 1));
}

static void check(const struct model *m)
{
	struct run r[ARENA];
	size_t n = runs(m, r);
	uint64_t largest = 0, reported = m->ops->largest_free(m->p);

	for (size_t i = 0; i < n; i++)
		if (usable(m, r[i]) > largest)
			largest = usable(m, r[i]);
	assert_int_equal(m->ops->free_extents(m->p), n);
	assert_int_equal(m->ops->free_extents(m->q), n);
	assert_int_equal(m->ops->largest_free(m->q), reported);
	if (is_exact(m)) {
		assert_int_equal(reported, largest);
	} else if (!strcmp(m->ops->name, "tlsf")) {
		/* Good fit: within one second-level class step below. */
		assert_true(reported <= largest);
		assert_true(reported * 33 >= largest * 32);
	} else {
		assert_true(reported <= largest);
		assert_true((reported & (reported - 1)) == 0);
	}
}

/* hole_end returns where the free run of map holding addr ends. */
static uint64_t hole_end(const unsigned char *map, uint64_t addr)
{
	while (addr < ARENA && !map[addr])
		addr++;
	return addr;
}

static void do_alloc(struct model *m, uint64_t size)
{
	uint64_t addr, granted, claimed;
	int64_t want = is_exact(m) ? expected_start(m, size) : 0;
	uint64_t before = m->ops->largest_free(m->p);

	if (m->ops->alloc(m->p, size, &addr, &granted) < 0) {
		assert_true(size > before);
		if (is_exact(m))
			assert_int_equal(want, -1);
		return;
	}
	assert_true(size <= before || !is_exact(m));
	if (is_exact(m)) {
		assert_int_equal(addr, want);
		assert_int_equal(granted, size);
	} else {
		assert_true(granted >= size);
	}
	if (!strcmp(m->ops->name, "buddy")) {
		assert_true((granted & (granted - 1)) == 0 && granted >= m->align);
		assert_true(granted < 2 * size || granted == m->align);
		assert_int_equal(addr % granted, 0);
	}
	assert_int_equal(addr % m->align, 0);
	assert_true(addr + granted <= ARENA);
	assert_int_equal(m->ops->claim(m->q, addr, size, hole_end(m->owner, addr), &claimed), 0);
	assert_int_equal(claimed, granted);
	for (uint64_t i = addr; i < addr + granted; i++) {
		assert_int_equal(m->owner[i], 0);
		m->owner[i] = 1;
	}
	m->addr[m->live] = addr;
	m->size[m->live++] = granted;
	m->used += granted;
	m->rotor = addr + granted;
}

static void do_release(struct model *m, size_t i)
{
	m->ops->release(m->p, m->addr[i], m->size[i]);
	m->ops->release(m->q, m->addr[i], m->size[i]);
	memset(m->owner + m->addr[i], 0, m->size[i]);
	m->used -= m->size[i];
	m->addr[i] = m->addr[--m->live];
	m->size[i] = m->size[m->live];
}

/* rebuild claims every live block, in the model's (arbitrary) order, on a
 * fresh instance, which must then describe the same free space; claiming
 * a live block twice, or past the arena, must fail and change nothing. */
static void rebuild(const struct model *m)
{
	struct smm_policy *r = m->ops->create(ARENA, m->align);
	unsigned char map[ARENA] = { 0 };
	uint64_t g;

	assert_non_null(r);
	for (size_t i = 0; i < m->live; i++) {
		assert_int_equal(m->ops->claim(r, m->addr[i], m->size[i],
					       hole_end(map, m->addr[i]), &g), 0);
		assert_int_equal(g, m->size[i]);
		memset(map + m->addr[i], 1, m->size[i]);
	}
	assert_memory_equal(map, m->owner, ARENA);
	if (m->live > 0)
		assert_int_equal(m->ops->claim(r, m->addr[0], m->size[0], m->addr[0], &g), -1);
	assert_int_equal(m->ops->claim(r, ARENA - 1, 2, ARENA, &g), -1);
	assert_int_equal(m->ops->free_extents(r), m->ops->free_extents(m->p));
	if (strcmp(m->ops->name, "tlsf") != 0)
		assert_int_equal(m->ops->largest_free(r), m->ops->largest_free(m->p));
	else /* which extent heads its class depends on the order of frees */
		assert_true(m->ops->largest_free(r) * 33 >= m->ops->largest_free(m->p) * 32 &&
			    m->ops->largest_free(m->p) * 33 >= m->ops->largest_free(r) * 32);
	m->ops->destroy(r);
}

static uint64_t draw_size(struct model *m)
{
	uint64_t r = next_rand(m);

	/* Mostly small, now and then large: holes of every size. */
	if (r % 16 == 0)
		return 1 + (r >> 8) % 400;
	return 1 + (r >> 8) % 24;
}

static void run_model(const char *name, uint64_t align, uint64_t seed)
{
	struct model *m = calloc(1, sizeof *m);

	assert_non_null(m);
	m->ops = smm_policy_find(name);
	assert_non_null(m->ops);
	m->p = m->ops->create(ARENA, align);
	m->q = m->ops->create(ARENA, align);
	assert_non_null(m->p);
	assert_non_null(m->q);
	m->align = align;
	m->rng = seed;
	check(m);
	for (int step = 0; step < STEPS; step++) {
		uint64_t r = next_rand(m);
		/* Drift between mostly-allocating and mostly-freeing phases. */
		int alloc_bias = (step / 500) % 2 ? 30 : 70;
		if (m->live < MAX_LIVE && (m->live == 0 || (int)(r % 100) < alloc_bias))
			do_alloc(m, draw_size(m));
		else
			do_release(m, (size_t)(r >> 8) % m->live);
		check(m);
		assert_int_equal(m->used + (ARENA - m->used), ARENA);
		if (step % 1000 == 999)
			rebuild(m);
	}
	while (m->live > 0) {
		do_release(m, m->live - 1);
		check(m);
	}
	assert_int_equal(m->ops->free_extents(m->p), 1);
	if (strcmp(name, "buddy") == 0)
		assert_int_equal(m->ops->largest_free(m->p), 1024);
	else
		assert_int_equal(m->ops->largest_free(m->p), ARENA);
	m->ops->reset(m->p);
	m->ops->reset(m->q);
	m->rotor = 0;
	check(m);
	m->ops->destroy(m->p);
	m->ops->destroy(m->q);
	free(m);
}

static void run_all(const char *name)
{
	run_model(name, 1, 0x9E3779B97F4A7C15ULL);
	run_model(name, 1, 12345);
	run_model(name, 8, 777);
}

static void first_fit_matches_model(void **state)
{
	(void)state;
	run_all("first-fit");
}

static void next_fit_matches_model(void **state)
{
	(void)state;
	run_all("next-fit");
}

static void best_fit_matches_model(void **state)
{
	(void)state;
	run_all("best-fit");
}

static void worst_fit_matches_model(void **state)
{
	(void)state;
	run_all("worst-fit");
}

static void buddy_matches_model(void **state)
{
	(void)state;
	run_all("buddy");
}

static void tlsf_matches_model(void **state)
{
	(void)state;
	run_all("tlsf");
}

/* Bump claims only at or above its top; a gap it skips is one free
 * extent until the block above it is freed. */
static void bump_claims_above_its_top(void **state)
{
	const struct smm_policy_ops *ops = smm_policy_find("bump");
	struct smm_policy *p = ops->create(1000, 4);
	uint64_t g, addr;

	(void)state;
	assert_non_null(p);
	assert_int_equal(ops->claim(p, 0, 10, 1000, &g), 0);
	assert_int_equal(g, 10);
	assert_int_equal(ops->claim(p, 12, 8, 1000, &g), 0); /* padding only */
	assert_int_equal(ops->free_extents(p), 1);
	assert_int_equal(ops->claim(p, 100, 50, 1000, &g), 0); /* a gap */
	assert_int_equal(ops->free_extents(p), 2);
	assert_int_equal(ops->largest_free(p), 848);
	assert_int_equal(ops->claim(p, 40, 4, 100, &g), -1);   /* below the top */
	assert_int_equal(ops->claim(p, 150, 1, 1000, &g), -1); /* unaligned */
	assert_int_equal(ops->claim(p, 152, 900, 1000, &g), -1);
	assert_int_equal(ops->free_extents(p), 2);
	assert_int_equal(ops->alloc(p, 5, &addr, &g), 0);
	assert_int_equal(addr, 152);
	ops->release(p, 152, 5);
	ops->release(p, 100, 50); /* the top: pops the gap too */
	assert_int_equal(ops->free_extents(p), 1);
	assert_int_equal(ops->largest_free(p), 980);
	ops->destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_fit_matches_model),
		cmocka_unit_test(next_fit_matches_model),
		cmocka_unit_test(best_fit_matches_model),
		cmocka_unit_test(worst_fit_matches_model),
		cmocka_unit_test(buddy_matches_model),
		cmocka_unit_test(tlsf_matches_model),
		cmocka_unit_test(bump_claims_above_its_top),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
