/* test_policy_model.c — every policy against a byte-map reference: seeded
 * random malloc/free churn, checked after every step. The reference knows
 * each byte's owner, so it can say where the exact policies must place a
 * request, and what used, free_extents and largest_free must be. */
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

static void do_alloc(struct model *m, uint64_t size)
{
	uint64_t addr, granted;
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
	memset(m->owner + m->addr[i], 0, m->size[i]);
	m->used -= m->size[i];
	m->addr[i] = m->addr[--m->live];
	m->size[i] = m->size[m->live];
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
	assert_non_null(m->p);
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
	m->rotor = 0;
	check(m);
	m->ops->destroy(m->p);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_fit_matches_model),
		cmocka_unit_test(next_fit_matches_model),
		cmocka_unit_test(best_fit_matches_model),
		cmocka_unit_test(worst_fit_matches_model),
		cmocka_unit_test(buddy_matches_model),
		cmocka_unit_test(tlsf_matches_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
