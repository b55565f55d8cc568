/* test_map.c — the block table's range queries and the scaled memory map
 * against a brute-force model: a byte-per-address owner array over a
 * small address space, with blocks inserted and removed at random so the
 * B+tree splits, borrows, merges and shrinks. Every query is checked after
 * churn: the blocks a window overlaps, in order, and each cell's used
 * bytes and dominant owner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "blocks.h"
#include "map.h"

#define SPACE (1u << 17) /* addresses modelled */
#define MAX_SIZE 64u     /* largest block */
#define IDS 6            /* few owners, so cells hold ties */

struct model {
	int32_t owner[SPACE]; /* id owning each byte, -1 free */
	uint32_t start[SPACE]; /* size of the block starting here, 0 none */
	uint64_t *addrs;       /* live block starts */
	size_t live;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void try_insert(struct smm_blocks *t, struct model *m, uint64_t r)
{
	uint64_t addr = r % (SPACE - MAX_SIZE), size = (r >> 20) % MAX_SIZE + 1;
	struct smm_block b = { addr, size, r, (int64_t)((r >> 40) % IDS) };

	for (uint64_t x = addr; x < addr + size; x++)
		if (m->owner[x] >= 0)
			return;
	assert_int_equal(smm_blocks_insert(t, &b), 0);
	for (uint64_t x = addr; x < addr + size; x++)
		m->owner[x] = (int32_t)b.id;
	m->start[addr] = (uint32_t)size;
	m->addrs[m->live++] = addr;
}

static void remove_one(struct smm_blocks *t, struct model *m, uint64_t r)
{
	size_t i = (size_t)(r % m->live);
	uint64_t addr = m->addrs[i];

	smm_blocks_remove(t, addr);
	for (uint64_t x = addr; x < addr + m->start[addr]; x++)
		m->owner[x] = -1;
	m->start[addr] = 0;
	m->addrs[i] = m->addrs[--m->live];
}

struct seen {
	struct smm_block v[SPACE / 2];
	size_t n;
};

static int seen_cb(void *arg, const struct smm_block *b)
{
	struct seen *s = arg;

	s->v[s->n++] = *b;
	return 0;
}

static void check_range(const struct smm_blocks *t, const struct model *m, uint64_t lo,
			uint64_t hi, struct seen *s)
{
	size_t k = 0, calls;

	s->n = 0;
	calls = smm_blocks_range(t, lo, hi, seen_cb, s);
	assert_int_equal(calls, s->n);
	for (uint64_t x = lo > MAX_SIZE ? lo - MAX_SIZE : 0; x < hi && x < SPACE; x++) {
		if (m->start[x] == 0 || x + m->start[x] <= lo)
			continue;
		assert_true(k < s->n);
		assert_int_equal(s->v[k].addr, x);
		assert_int_equal(s->v[k].size, m->start[x]);
		assert_int_equal(s->v[k].id, m->owner[x]);
		k++;
	}
	assert_int_equal(k, s->n);
}

static void check_map(const struct smm_blocks *t, const struct model *m, uint64_t offset,
		      uint64_t length, size_t cells)
{
	struct smm_map_cell *out = calloc(cells, sizeof *out);

	assert_non_null(out);
	assert_int_equal(smm_map_cells(t, offset, length, cells, out), 0);
	for (size_t c = 0; c < cells; c++) {
		uint64_t lo = offset + length * c / cells, hi = offset + length * (c + 1) / cells;
		uint64_t bytes[IDS] = { 0 }, used = 0, best = 0;
		int64_t owner = SMM_MAP_NO_OWNER;
		for (uint64_t x = lo; x < hi; x++)
			if (m->owner[x] >= 0) {
				bytes[m->owner[x]]++;
				used++;
			}
		for (int id = 0; id < IDS; id++)
			if (bytes[id] > best) {
				best = bytes[id];
				owner = id;
			}
		assert_int_equal(out[c].used, used);
		assert_int_equal(out[c].owner, owner);
	}
	free(out);
}

static void queries_match_model(void **state)
{
	struct smm_blocks *t = smm_blocks_new();
	struct model *m = calloc(1, sizeof *m);
	struct seen *s = malloc(sizeof *s);
	uint64_t rng = 7;

	(void)state;
	assert_non_null(t);
	assert_non_null(m);
	assert_non_null(s);
	m->addrs = calloc(SPACE, sizeof *m->addrs);
	memset(m->owner, 0xff, sizeof m->owner);
	for (int round = 0; round < 6; round++) {
		/* Fill to a target, then drain to another: the tree grows
		 * and shrinks through its levels. */
		size_t target = round % 2 ? 200 : 3000 + 600 * (size_t)round;
		for (int step = 0; step < 20000; step++) {
			uint64_t r = next_rand(&rng);
			if (m->live < target && (m->live == 0 || r % 4 != 0))
				try_insert(t, m, r);
			else if (m->live > 0)
				remove_one(t, m, r >> 3);
		}
		assert_int_equal(smm_blocks_count(t), m->live);
		for (int q = 0; q < 200; q++) {
			uint64_t r = next_rand(&rng), lo = r % SPACE;
			uint64_t len = (r >> 24) % (q < 100 ? 256 : SPACE / 4) + 1;
			uint64_t hi = lo + len < SPACE ? lo + len : SPACE;
			check_range(t, m, lo, hi, s);
			check_map(t, m, lo, hi - lo, (size_t)((r >> 48) % 40) + 1);
		}
		check_range(t, m, 0, SPACE, s);
	}
	smm_blocks_destroy(t);
	free(m->addrs);
	free(m);
	free(s);
}

/* Cells narrower than a byte: some are empty, the rest one byte each. */
static void more_cells_than_bytes(void **state)
{
	struct smm_blocks *t = smm_blocks_new();
	struct smm_block b = { 10, 3, 1, 4 };
	struct smm_map_cell out[8];

	(void)state;
	assert_int_equal(smm_blocks_insert(t, &b), 0);
	assert_int_equal(smm_map_cells(t, 9, 4, 8, out), 0);
	/* Cell i covers [9 + 4i/8, 9 + 4(i+1)/8): bytes 9, 10, 11, 12 at
	 * cells 1, 3, 5, 7. */
	for (int i = 0; i < 8; i++) {
		uint64_t used = i == 3 || i == 5 || i == 7;
		assert_int_equal(out[i].used, used);
		assert_int_equal(out[i].owner, used ? 4 : SMM_MAP_NO_OWNER);
	}
	assert_int_equal(smm_map_cells(t, 0, 4, 0, out), -1);
	assert_int_equal(smm_map_cells(t, UINT64_MAX, 2, 1, out), -1);
	smm_blocks_destroy(t);
}

/* The arena's entry points: blocks_in stops at max and resumes from the
 * last block's end; map refuses a window outside the arena. */
static void arena_entry_points(void **state)
{
	struct smm_arena_config cfg = { 1000, 1, '.', smm_policy_find("first-fit") };
	char err[64];
	struct smm_arena *a = smm_arena_new(&cfg, err, sizeof err);
	struct smm_block_info b, got[4];
	struct smm_map_cell cells[2];
	uint64_t key;

	(void)state;
	assert_non_null(a);
	for (int i = 0; i < 10; i++)
		assert_int_equal(smm_arena_alloc(a, i, 10, &b, &key), SMM_ERR_NONE);
	assert_int_equal(smm_arena_blocks_in(a, 15, 40, 4, got), 4);
	assert_int_equal(got[0].addr, 10);
	assert_int_equal(got[3].addr, 40);
	assert_int_equal(smm_arena_blocks_in(a, 50, 5, 4, got), 1);
	assert_int_equal(got[0].addr, 50);
	assert_int_equal(smm_arena_blocks_in(a, 100, 900, 4, got), 0);
	assert_int_equal(smm_arena_blocks_in(a, 0, 0, 4, got), 0);
	assert_int_equal(smm_arena_blocks_in(a, 0, UINT64_MAX, 0, got), 0);
	assert_int_equal(smm_arena_map(a, 0, 200, 2, cells), 0);
	assert_int_equal(cells[0].used, 100);
	assert_int_equal(cells[0].owner, 0);
	assert_int_equal(cells[1].used, 0);
	assert_int_equal(smm_arena_map(a, 900, 101, 2, cells), -1);
	assert_int_equal(smm_arena_map(a, 1001, 0, 2, cells), -1);
	smm_arena_destroy(a);
}

/* The arena's map counts a block's bytes as unfilled until it is filled. */
static void unfilled_until_filled(void **state)
{
	struct smm_arena_config cfg = { 100, 1, '.', smm_policy_find("first-fit") };
	char err[64];
	struct smm_arena *a = smm_arena_new(&cfg, err, sizeof err);
	struct smm_block_info b;
	struct smm_map_cell cells[4];
	uint64_t k1, k2;

	(void)state;
	assert_non_null(a);
	assert_int_equal(smm_arena_alloc(a, 1, 30, &b, &k1), SMM_ERR_NONE);
	assert_int_equal(smm_arena_alloc(a, 2, 30, &b, &k2), SMM_ERR_NONE);
	assert_int_equal(smm_arena_fill(a, 30, k2, 0, &b), SMM_ERR_NONE);
	assert_int_equal(smm_arena_map(a, 0, 100, 4, cells), 0);
	/* cells of 25 bytes: [0,25) id 1; [25,50) 5 of id 1, 20 of id 2; ... */
	assert_int_equal(cells[0].used, 25);
	assert_int_equal(cells[0].unfilled, 25);
	assert_int_equal(cells[1].used, 25);
	assert_int_equal(cells[1].unfilled, 5);
	assert_int_equal(cells[1].owner, 2);
	assert_int_equal(cells[2].used, 10);
	assert_int_equal(cells[2].unfilled, 0);
	assert_int_equal(cells[3].used, 0);
	assert_int_equal(cells[3].owner, SMM_MAP_NO_OWNER);
	assert_int_equal(smm_arena_release(a, 30, k2, &b), SMM_ERR_NONE);
	assert_int_equal(smm_arena_alloc(a, 3, 30, &b, &k2), SMM_ERR_NONE);
	assert_int_equal(smm_arena_map(a, 30, 30, 1, cells), 0);
	assert_int_equal(cells[0].unfilled, 30); /* freed bytes are scrubbed: unfilled again */
	smm_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(queries_match_model),
		cmocka_unit_test(more_cells_than_bytes),
		cmocka_unit_test(arena_entry_points),
		cmocka_unit_test(unfilled_until_filled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
