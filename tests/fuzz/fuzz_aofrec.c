/* fuzz_aofrec.c — libFuzzer harness for the log's records: the input is a
 * log (its first byte picks the policy). Every record that decodes must
 * encode back to a record that decodes the same, and replaying it on an
 * arena must keep the arena's counters sane whether it replays or not: a
 * damaged log may be refused, never crash the server. Then the arena is
 * copied as a rewrite copies it and its BLOCK records are replayed on a
 * fresh arena, which must hold the same bytes, blocks and free space.
 * Any broken invariant calls abort(), which libFuzzer reports. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aofrec.h"

#define CHECK(cond)                                                                 \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,  \
				__LINE__, #cond);                                   \
			abort();                                                    \
		}                                                                   \
	} while (0)

/* Arena bytes: small, so that mallocs collide and run out. */
#define ARENA 4096

static void check_round_trip(const struct smm_aofrec *r)
{
	uint8_t buf[SMM_AOFREC_MAX];
	struct smm_aofrec again;
	char err[200];
	size_t n = smm_aofrec_encode(r, buf);

	CHECK(smm_aofrec_decode(buf, n, &again, err, sizeof err) == (long)n);
	CHECK(again.type == r->type && again.now == r->now && again.id == r->id &&
	      again.size == r->size && again.ttl_ms == r->ttl_ms && again.conn == r->conn &&
	      again.addr == r->addr && again.key == r->key && again.count == r->count &&
	      again.deadline == r->deadline && again.ch == r->ch && strcmp(again.policy, r->policy) == 0);
}

/* check_rewrite replays a's blocks, as a rewrite writes them, on a fresh
 * arena like a and checks that it ends the same. */
static void check_rewrite(const struct smm_arena *a, const struct smm_arena_config *cfg)
{
	static struct smm_arena_entry e[ARENA];
	static char m1[ARENA], m2[ARENA];
	struct smm_stats s = { 0 }, t = { 0 };
	struct smm_aofrec r;
	char err[200];
	struct smm_arena *b = smm_arena_new(cfg, err, sizeof err);
	size_t n = smm_arena_snapshot(a, ARENA, e);

	CHECK(b);
	for (size_t i = 0; i < n; i++) {
		smm_aofrec_of_entry(&e[i], &r);
		check_round_trip(&r);
		CHECK(smm_aofrec_apply(b, &r, err, sizeof err) == 0);
	}
	smm_arena_read(a, 0, ARENA, m1);
	smm_arena_read(b, 0, ARENA, m2);
	CHECK(memcmp(m1, m2, ARENA) == 0);
	smm_arena_stats(a, &s);
	smm_arena_stats(b, &t);
	CHECK(s.used == t.used && s.blocks == t.blocks && s.free_extents == t.free_extents &&
	      s.leases == t.leases);
	/* TLSF reports the head of its largest class: which one depends on
	 * the order of frees, which a rewrite does not keep. */
	CHECK(s.largest_free == t.largest_free || strcmp(cfg->policy->name, "tlsf") == 0);
	smm_arena_destroy(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smm_arena_config cfg = { ARENA, 1, '.', NULL };
	struct smm_arena *a;
	struct smm_aofrec r;
	struct smm_stats st;
	char err[200];
	size_t at = 1;
	long k;

	if (size < 1)
		return 0;
	cfg.policy = smm_policy_at(data[0] % smm_policy_count());
	a = smm_arena_new(&cfg, err, sizeof err);
	CHECK(a);
	while (at < size && (k = smm_aofrec_decode(data + at, size - at, &r, err, sizeof err)) > 0) {
		memset(&st, 0, sizeof st);
		check_round_trip(&r);
		if (smm_aofrec_apply(a, &r, err, sizeof err) < 0)
			CHECK(err[0] != '\0');
		smm_arena_stats(a, &st);
		CHECK(st.used + st.free == ARENA && st.largest_free <= st.free);
		at += (size_t)k;
	}
	check_rewrite(a, &cfg);
	smm_arena_destroy(a);
	return 0;
}
