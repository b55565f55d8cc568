/* test_policy.c — each policy's placement rule on small hand-drawn arenas.
 * A drawing such as "AAA..BB....C" is one byte per character: letters are
 * live blocks, dots free bytes, and the arena is exactly that long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

struct drawn {
	const struct smm_policy_ops *ops;
	struct smm_policy *p;
};

/* draw builds the drawing by granting every run left to right (a fresh
 * arena packs grants from 0 under every exact policy), then freeing the
 * dots, left to right. */
static struct drawn draw(const char *name, const char *picture, uint64_t align)
{
	struct drawn d = { smm_policy_find(name), NULL };
	size_t n = strlen(picture), i = 0, j;
	uint64_t addr, granted;

	assert_non_null(d.ops);
	d.p = d.ops->create(n, align);
	assert_non_null(d.p);
	for (; i < n; i = j) {
		for (j = i; j < n && picture[j] == picture[i]; j++)
			;
		assert_int_equal(d.ops->alloc(d.p, j - i, &addr, &granted), 0);
		assert_int_equal(addr, i);
	}
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && picture[j] == picture[i]; j++)
			;
		if (picture[i] == '.')
			d.ops->release(d.p, i, j - i);
	}
	return d;
}

/* grant returns where a request of size lands, or -1 when it is denied. */
static int64_t grant(struct drawn *d, uint64_t size)
{
	uint64_t addr, granted;

	if (d->ops->alloc(d->p, size, &addr, &granted) < 0)
		return -1;
	return (int64_t)addr;
}

static void first_fit_takes_lowest_address(void **state)
{
	struct drawn d = draw("first-fit", "AAA..BB....C", 1);

	(void)state;
	assert_int_equal(d.ops->free_extents(d.p), 2);
	assert_int_equal(d.ops->largest_free(d.p), 4);
	assert_int_equal(grant(&d, 3), 7);
	assert_int_equal(grant(&d, 2), 3);
	assert_int_equal(grant(&d, 2), -1);
	assert_int_equal(grant(&d, 1), 10);
	assert_int_equal(d.ops->free_extents(d.p), 0);
	d.ops->destroy(d.p);
}

static void best_fit_takes_smallest_then_lowest(void **state)
{
	struct drawn d = draw("best-fit", "AA....B..CC...D..", 1);

	(void)state;
	assert_int_equal(grant(&d, 3), 11);
	assert_int_equal(grant(&d, 2), 7);
	assert_int_equal(grant(&d, 2), 15);
	assert_int_equal(grant(&d, 4), 2);
	assert_int_equal(grant(&d, 1), -1);
	d.ops->destroy(d.p);
}

static void worst_fit_takes_largest_then_lowest(void **state)
{
	struct drawn d = draw("worst-fit", "A...B....C....D..", 1);

	(void)state;
	assert_int_equal(grant(&d, 1), 5);
	assert_int_equal(grant(&d, 1), 10);
	assert_int_equal(grant(&d, 2), 1);
	assert_int_equal(d.ops->largest_free(d.p), 3);
	d.ops->destroy(d.p);
}

static void next_fit_resumes_after_last_grant(void **state)
{
	struct drawn d = draw("next-fit", "A..B....C..", 1);

	(void)state;
	/* The rotor is past the last drawn block: the first search wraps. */
	assert_int_equal(grant(&d, 1), 1);
	assert_int_equal(grant(&d, 2), 4);
	assert_int_equal(grant(&d, 1), 6); /* first fit would take 2 */
	assert_int_equal(grant(&d, 2), 9);
	assert_int_equal(grant(&d, 1), 2); /* wrapped */
	assert_int_equal(grant(&d, 1), 7);
	assert_int_equal(grant(&d, 1), -1);
	d.ops->destroy(d.p);
}

static void tlsf_takes_smallest_class_newest_first(void **state)
{
	struct drawn d = draw("tlsf", "AA....B..CC...D..", 1);

	(void)state;
	/* Small sizes have a class each: a good fit is the best fit. */
	assert_int_equal(grant(&d, 3), 11);
	/* Equal extents: the one freed last is at its list's head. */
	assert_int_equal(grant(&d, 2), 15);
	assert_int_equal(grant(&d, 2), 7);
	assert_int_equal(grant(&d, 4), 2);
	d.ops->destroy(d.p);
}

static void tlsf_grants_a_lone_extent_whole(void **state)
{
	const struct smm_policy_ops *ops = smm_policy_find("tlsf");
	struct smm_policy *p = ops->create(150, 1);
	uint64_t addr, granted;

	(void)state;
	assert_int_equal(ops->largest_free(p), 150);
	assert_int_equal(ops->alloc(p, 150, &addr, &granted), 0);
	assert_int_equal(addr, 0);
	assert_int_equal(ops->largest_free(p), 0);
	ops->release(p, 0, 150);
	assert_int_equal(ops->free_extents(p), 1);
	ops->destroy(p);
}

static void buddy_rounds_up_and_merges(void **state)
{
	const struct smm_policy_ops *ops = smm_policy_find("buddy");
	struct smm_policy *p = ops->create(16, 1);
	uint64_t addr, granted;

	(void)state;
	assert_int_equal(ops->alloc(p, 3, &addr, &granted), 0);
	assert_int_equal(addr, 0);
	assert_int_equal(granted, 4);
	assert_int_equal(ops->alloc(p, 1, &addr, &granted), 0);
	assert_int_equal(addr, 4);
	assert_int_equal(granted, 1);
	/* Free: [5,6) [6,8) [8,16) — one run of three blocks. */
	assert_int_equal(ops->free_extents(p), 1);
	assert_int_equal(ops->largest_free(p), 8);
	assert_int_equal(ops->alloc(p, 8, &addr, &granted), 0);
	assert_int_equal(addr, 8);
	ops->release(p, 0, 4);
	assert_int_equal(ops->free_extents(p), 2);
	ops->release(p, 4, 1);
	ops->release(p, 8, 8);
	assert_int_equal(ops->free_extents(p), 1);
	assert_int_equal(ops->largest_free(p), 16);
	ops->destroy(p);
}

static void buddy_covers_odd_arena_with_top_blocks(void **state)
{
	const struct smm_policy_ops *ops = smm_policy_find("buddy");
	struct smm_policy *p = ops->create(150, 1);
	uint64_t addr, granted;

	(void)state;
	assert_int_equal(ops->largest_free(p), 128);
	assert_int_equal(ops->alloc(p, 2, &addr, &granted), 0);
	assert_int_equal(addr, 148);
	assert_int_equal(ops->alloc(p, 3, &addr, &granted), 0);
	assert_int_equal(addr, 144);
	assert_int_equal(ops->alloc(p, 129, &addr, &granted), -1);
	assert_int_equal(ops->alloc(p, 100, &addr, &granted), 0);
	assert_int_equal(addr, 0);
	assert_int_equal(granted, 128);
	ops->release(p, 148, 2);
	ops->release(p, 144, 4);
	/* 144 and 148 are top-level blocks: they never merge. */
	assert_int_equal(ops->largest_free(p), 16);
	assert_int_equal(ops->free_extents(p), 1);
	ops->destroy(p);
}

static void align_starts_grants_on_multiples(void **state)
{
	static const char *const names[] = { "first-fit", "next-fit", "best-fit",
					     "worst-fit", "tlsf" };

	(void)state;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct drawn d = { smm_policy_find(names[i]), NULL };
		d.p = d.ops->create(16, 4);
		assert_int_equal(grant(&d, 1), 0);
		assert_int_equal(grant(&d, 2), 4);
		/* Free: [1,4) can grant nothing, [6,16) can grant 8 at 8. */
		assert_int_equal(d.ops->free_extents(d.p), 2);
		assert_int_equal(d.ops->largest_free(d.p), 8);
		assert_int_equal(grant(&d, 8), 8);
		assert_int_equal(grant(&d, 1), -1);
		d.ops->destroy(d.p);
	}
}

static void buddy_align_rounds_up(void **state)
{
	const struct smm_policy_ops *ops = smm_policy_find("buddy");
	struct smm_policy *p = ops->create(64, 16);
	uint64_t addr, granted;

	(void)state;
	assert_int_equal(ops->alloc(p, 1, &addr, &granted), 0);
	assert_int_equal(granted, 16);
	assert_int_equal(ops->alloc(p, 1, &addr, &granted), 0);
	assert_int_equal(addr, 16);
	ops->destroy(p);
}

static void arenas_past_4_gib_work(void **state)
{
	const uint64_t gib = 1ull << 30;

	(void)state;
	for (size_t i = 0; i < smm_policy_count(); i++) {
		const struct smm_policy_ops *ops = smm_policy_at(i);
		struct smm_policy *p = ops->create(5 * gib, 1);
		uint64_t addr, granted;
		assert_int_equal(ops->alloc(p, 4 * gib, &addr, &granted), 0);
		assert_int_equal(ops->alloc(p, gib, &addr, &granted), 0);
		assert_int_equal(addr, 4 * gib);
		assert_int_equal(ops->largest_free(p), 0);
		ops->release(p, addr, granted);
		assert_int_equal(ops->largest_free(p), gib);
		ops->destroy(p);
	}
}

/* A million live blocks in a 5 GiB arena, freed in a scrambled order
 * (every other block first, so half a million free extents exist at
 * once): the arena is one free extent again. Buddy rounds 5000 up to 8192,
 * so its million blocks are 4096 bytes. */
static void a_million_blocks_in_5_gib(void **state)
{
	const uint64_t n = 1000000, arena = 5ull << 30;
	uint64_t *addr = malloc(n * sizeof *addr), granted = 0;

	(void)state;
	assert_non_null(addr);
	for (size_t i = 1; i < smm_policy_count(); i++) {
		const struct smm_policy_ops *ops = smm_policy_at(i);
		struct smm_policy *p = ops->create(arena, 1);
		uint64_t size = strcmp(ops->name, "buddy") == 0 ? 4096 : 5000;
		assert_non_null(p);
		for (uint64_t j = 0; j < n; j++)
			assert_int_equal(ops->alloc(p, size, &addr[j], &granted), 0);
		assert_true(addr[n - 1] >= (4ull << 30) || size == 4096);
		for (uint64_t j = 0; j < n; j += 2)
			ops->release(p, addr[j], granted);
		if (size != 4096) /* buddy placed its first blocks in its 1 GiB top */
			assert_int_equal(ops->free_extents(p), n / 2 + 1);
		for (uint64_t j = n - 1; j < n; j -= 2)
			ops->release(p, addr[j], granted);
		assert_int_equal(ops->free_extents(p), 1);
		assert_int_equal(ops->largest_free(p), size == 4096 ? 4ull << 30 : arena);
		ops->destroy(p);
	}
	free(addr);
}

static void every_policy_is_listed(void **state)
{
	(void)state;
	assert_int_equal(smm_policy_count(), 7);
	for (size_t i = 0; i < smm_policy_count(); i++) {
		const char *name = smm_policy_at(i)->name;
		assert_ptr_equal(smm_policy_find(name), smm_policy_at(i));
		assert_non_null(strstr(smm_policy_names(), name));
	}
	assert_string_equal(smm_policy_at(0)->name, "bump");
	assert_null(smm_policy_find("nope"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_fit_takes_lowest_address),
		cmocka_unit_test(best_fit_takes_smallest_then_lowest),
		cmocka_unit_test(worst_fit_takes_largest_then_lowest),
		cmocka_unit_test(next_fit_resumes_after_last_grant),
		cmocka_unit_test(tlsf_takes_smallest_class_newest_first),
		cmocka_unit_test(tlsf_grants_a_lone_extent_whole),
		cmocka_unit_test(buddy_rounds_up_and_merges),
		cmocka_unit_test(buddy_covers_odd_arena_with_top_blocks),
		cmocka_unit_test(align_starts_grants_on_multiples),
		cmocka_unit_test(buddy_align_rounds_up),
		cmocka_unit_test(arenas_past_4_gib_work),
		cmocka_unit_test(a_million_blocks_in_5_gib),
		cmocka_unit_test(every_policy_is_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
