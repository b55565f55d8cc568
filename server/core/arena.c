/* arena.c — bytes, blocks and policy together: the seed's 150-byte memory
 * with its bookkeeping.
 *
 * Free bytes are stored as 0 and shown as the filler. That lets the arena
 * be anonymous memory the kernel hands out zeroed on first touch, and lets
 * a large free or a reset give pages back (MADV_DONTNEED) instead of
 * writing them. Written bytes are always printable, so never 0. */
#include "arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blocks.h"
#include "keys.h"
#include "leases.h"

struct smm_arena {
	uint64_t size, used, granted, denied, expired, released_on_close;
	char filler;
	char *bytes;
	const struct smm_policy_ops *ops;
	struct smm_policy *policy;
	struct smm_blocks *blocks;
	struct smm_leases *leases;
	struct smm_keys keys;
};

/* Scrubbing this much or more returns whole pages to the kernel. */
#define SCRUB_MADVISE_MIN (256u * 1024u)

struct smm_arena *smm_arena_new(const struct smm_arena_config *cfg, char *err, size_t errlen)
{
	struct smm_arena *a = NULL;

	if (cfg->size == 0 || cfg->align == 0 || (cfg->align & (cfg->align - 1)) != 0 ||
	    cfg->filler < 0x21 || cfg->filler > 0x7e || !cfg->policy) {
		snprintf(err, errlen, "invalid arena configuration");
		return NULL;
	}
	a = calloc(1, sizeof *a);
	if (!a)
		goto oom;
	a->size = cfg->size;
	a->filler = cfg->filler;
	a->ops = cfg->policy;
	a->bytes = mmap(NULL, cfg->size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->bytes == MAP_FAILED) {
		a->bytes = NULL;
		goto oom;
	}
	a->policy = a->ops->create(cfg->size, cfg->align);
	a->blocks = smm_blocks_new();
	a->leases = smm_leases_new();
	if (!a->policy || !a->blocks || !a->leases)
		goto oom;
	return a;
oom:
	snprintf(err, errlen, "cannot reserve %llu bytes of memory",
		 (unsigned long long)cfg->size);
	smm_arena_destroy(a);
	return NULL;
}

void smm_arena_destroy(struct smm_arena *a)
{
	if (!a)
		return;
	if (a->bytes)
		munmap(a->bytes, a->size);
	if (a->policy)
		a->ops->destroy(a->policy);
	smm_blocks_destroy(a->blocks);
	smm_leases_destroy(a->leases);
	free(a);
}

static void scrub(struct smm_arena *a, uint64_t addr, uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t lo = (addr + page - 1) & ~(page - 1);
	uint64_t hi = (addr + len) & ~(page - 1);

	if (len >= SCRUB_MADVISE_MIN && lo < hi &&
	    madvise(a->bytes + lo, hi - lo, MADV_DONTNEED) == 0) {
		memset(a->bytes + addr, 0, lo - addr);
		memset(a->bytes + hi, 0, addr + len - hi);
		return;
	}
	memset(a->bytes + addr, 0, len);
}

static void describe(const struct smm_block *b, struct smm_block_info *out)
{
	*out = (struct smm_block_info){ .addr = b->addr, .size = b->size, .id = b->id };
}

/* record files b, just placed by the policy, and counts it granted; when
 * it cannot be filed the policy takes the space back. Returns 0 or -1. */
static int record(struct smm_arena *a, const struct smm_block *b, struct smm_block_info *out)
{
	if (smm_blocks_insert(a->blocks, b) < 0) {
		a->ops->release(a->policy, b->addr, b->size);
		return -1;
	}
	a->used += b->size;
	a->granted++;
	describe(b, out);
	return 0;
}

enum smm_err smm_arena_alloc(struct smm_arena *a, int64_t id, uint64_t size,
			     struct smm_block_info *out, uint64_t *key)
{
	struct smm_block b = { .id = id };

	if (smm_keys_next(&a->keys, &b.key) < 0)
		goto denied;
	if (a->ops->alloc(a->policy, size, &b.addr, &b.size) < 0 || record(a, &b, out) < 0)
		goto denied;
	*key = b.key;
	return SMM_ERR_NONE;
denied:
	a->denied++;
	return SMM_ERR_NO_MEMORY;
}

/* first_start_cb keeps the start of the first block it is shown. */
static int first_start_cb(void *arg, const struct smm_block *b)
{
	*(uint64_t *)arg = b->addr;
	return 1;
}

int smm_arena_claim(struct smm_arena *a, uint64_t addr, uint64_t size, int64_t id,
		    uint64_t key, struct smm_block_info *out)
{
	struct smm_block b = { .addr = addr, .key = key, .id = id };
	uint64_t hole = a->size;

	if (size == 0 || addr >= a->size)
		return -1;
	smm_blocks_range(a->blocks, addr, UINT64_MAX, first_start_cb, &hole);
	if (hole < addr || a->ops->claim(a->policy, addr, size, hole, &b.size) < 0)
		return -1;
	return record(a, &b, out);
}

struct snap {
	const struct smm_arena *a;
	struct smm_arena_entry *out;
	size_t n, max;
	int terms; /* some block has terms */
};

/* The arena's bytes are the owner thread's alone; see never_filled. */
__attribute__((no_sanitize("thread")))
static int snap_cb(void *arg, const struct smm_block *b)
{
	struct snap *s = arg;
	struct smm_arena_entry *e = &s->out[s->n++];

	*e = (struct smm_arena_entry){ b->addr, b->size, b->key, SMM_LEASES_NEVER, 0, b->id,
				       s->a->bytes[b->addr] };
	if (s->terms)
		smm_leases_get(s->a->leases, b->addr, &e->deadline, &e->conn);
	return s->n == s->max;
}

size_t smm_arena_snapshot(const struct smm_arena *a, size_t max, struct smm_arena_entry *out)
{
	struct snap s = { a, out, 0, max, smm_leases_count(a->leases) > 0 };

	if (max > 0)
		smm_blocks_range(a->blocks, 0, UINT64_MAX, snap_cb, &s);
	return s.n;
}

static enum smm_err lookup(struct smm_arena *a, uint64_t addr, uint64_t key,
			   struct smm_block *out)
{
	if (smm_blocks_find(a->blocks, addr, out) < 0)
		return SMM_ERR_BAD_ADDR;
	if (!smm_keys_equal(out->key, key))
		return SMM_ERR_FORBIDDEN;
	return SMM_ERR_NONE;
}

enum smm_err smm_arena_fill(struct smm_arena *a, uint64_t addr, uint64_t key, char c,
			    struct smm_block_info *out)
{
	struct smm_block b;
	enum smm_err e = lookup(a, addr, key, &b);

	if (e != SMM_ERR_NONE)
		return e;
	memset(a->bytes + b.addr, c ? c : smm_id_char(b.id), b.size);
	describe(&b, out);
	return SMM_ERR_NONE;
}

/* drop frees block b, which lookup or smm_blocks_find just found. */
static void drop(struct smm_arena *a, const struct smm_block *b)
{
	scrub(a, b->addr, b->size);
	a->ops->release(a->policy, b->addr, b->size);
	a->used -= b->size;
	smm_blocks_remove(a->blocks, b->addr);
	smm_leases_drop(a->leases, b->addr);
}

enum smm_err smm_arena_release(struct smm_arena *a, uint64_t addr, uint64_t key,
			       struct smm_block_info *out)
{
	struct smm_block b;
	enum smm_err e = lookup(a, addr, key, &b);

	if (e != SMM_ERR_NONE)
		return e;
	describe(&b, out);
	drop(a, &b);
	return SMM_ERR_NONE;
}

enum smm_err smm_arena_evict(struct smm_arena *a, uint64_t addr, struct smm_block_info *out)
{
	struct smm_block b;

	if (smm_blocks_find(a->blocks, addr, &b) < 0)
		return SMM_ERR_BAD_ADDR;
	describe(&b, out);
	drop(a, &b);
	return SMM_ERR_NONE;
}

uint64_t smm_arena_reset(struct smm_arena *a)
{
	uint64_t n = smm_blocks_count(a->blocks);

	scrub(a, 0, a->size);
	smm_blocks_clear(a->blocks);
	smm_leases_clear(a->leases);
	a->ops->reset(a->policy);
	a->used = 0;
	return n;
}

int smm_arena_set_terms(struct smm_arena *a, uint64_t addr, uint64_t deadline, uint64_t conn)
{
	return smm_leases_add(a->leases, addr, deadline, conn);
}

enum smm_err smm_arena_renew(struct smm_arena *a, uint64_t addr, uint64_t key,
			     uint64_t deadline, struct smm_block_info *out)
{
	struct smm_block b;
	enum smm_err e = lookup(a, addr, key, &b);

	if (e != SMM_ERR_NONE)
		return e;
	if (smm_leases_renew(a->leases, addr, deadline) < 0)
		return SMM_ERR_BUSY;
	describe(&b, out);
	return SMM_ERR_NONE;
}

int smm_arena_terms(const struct smm_arena *a, uint64_t addr, uint64_t *deadline,
		    uint64_t *conn)
{
	return smm_leases_get(a->leases, addr, deadline, conn);
}

uint64_t smm_arena_next_deadline(const struct smm_arena *a)
{
	return smm_leases_next(a->leases);
}

/* free_at frees the block at addr, which the lease table just gave up. */
static void free_at(struct smm_arena *a, uint64_t addr)
{
	struct smm_block b;

	if (smm_blocks_find(a->blocks, addr, &b) == 0)
		drop(a, &b);
}

size_t smm_arena_expire(struct smm_arena *a, uint64_t now, size_t max)
{
	size_t n = 0;
	uint64_t addr;

	while (n < max && smm_leases_pop_due(a->leases, now, &addr)) {
		free_at(a, addr);
		n++;
	}
	a->expired += n;
	return n;
}

uint64_t smm_arena_release_conn(struct smm_arena *a, uint64_t conn)
{
	uint64_t n = 0, addr;

	while (smm_leases_pop_conn(a->leases, conn, &addr)) {
		free_at(a, addr);
		n++;
	}
	a->released_on_close += n;
	return n;
}

void smm_arena_stats(const struct smm_arena *a, struct smm_stats *st)
{
	st->memory_size = a->size;
	st->used = a->used;
	st->free = a->size - a->used;
	st->largest_free = a->ops->largest_free(a->policy);
	st->blocks = smm_blocks_count(a->blocks);
	st->free_extents = a->ops->free_extents(a->policy);
	st->granted = a->granted;
	st->denied = a->denied;
	st->leases = smm_leases_count(a->leases);
	st->expired = a->expired;
	st->released_on_close = a->released_on_close;
	st->policy = a->ops->name;
}

uint64_t smm_arena_size(const struct smm_arena *a)
{
	return a->size;
}

void smm_arena_read(const struct smm_arena *a, uint64_t offset, uint64_t len, char *dst)
{
	const char *src = a->bytes + offset;

	for (uint64_t i = 0; i < len; i++)
		dst[i] = src[i] ? src[i] : a->filler;
}

/* window_end returns offset + length, or the top of the address space
 * when that overflows. */
static uint64_t window_end(uint64_t offset, uint64_t length)
{
	return offset + length < offset ? UINT64_MAX : offset + length;
}

struct collect {
	struct smm_block_info *v;
	size_t n, cap;
	int oom;
};

static int collect_cb(void *arg, const struct smm_block *b)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct smm_block_info *v = realloc(c->v, cap * sizeof *v);
		if (!v) {
			c->oom = 1;
			return 1;
		}
		c->v = v;
		c->cap = cap;
	}
	describe(b, &c->v[c->n++]);
	return 0;
}

struct smm_block_info *smm_arena_blocks(const struct smm_arena *a, uint64_t offset,
					uint64_t len, size_t *n)
{
	struct collect c = { 0 };

	smm_blocks_range(a->blocks, offset, window_end(offset, len), collect_cb, &c);
	if (c.oom) {
		free(c.v);
		*n = SIZE_MAX;
		return NULL;
	}
	*n = c.n;
	return c.v;
}

struct fill {
	struct smm_block_info *out;
	size_t n, max;
};

static int fill_cb(void *arg, const struct smm_block *b)
{
	struct fill *f = arg;

	describe(b, &f->out[f->n++]);
	return f->n == f->max;
}

size_t smm_arena_blocks_in(const struct smm_arena *a, uint64_t offset, uint64_t length,
			   size_t max, struct smm_block_info *out)
{
	struct fill f = { out, 0, max };

	if (max == 0)
		return 0;
	smm_blocks_range(a->blocks, offset, window_end(offset, length), fill_cb, &f);
	return f.n;
}

/* never_filled says whether block b still holds the filler: fill writes
 * every byte of a block and written bytes are never 0, so its first byte
 * tells. One byte per block, never a scan. The arena's bytes belong to the
 * thread that owns the arena alone, so ThreadSanitizer has nothing to find
 * here, and its shadow check of a byte on a cold line per block was 40% of
 * a map of 100,000 blocks. */
__attribute__((no_sanitize("thread")))
static int never_filled(const void *arg, const struct smm_block *b)
{
	const struct smm_arena *a = arg;

	return a->bytes[b->addr] == 0;
}

int smm_arena_map(const struct smm_arena *a, uint64_t offset, uint64_t length, size_t cells,
		  struct smm_map_cell *out)
{
	if (offset > a->size || length > a->size - offset)
		return -1;
	return smm_map_cells_marked(a->blocks, offset, length, cells, never_filled, a, out);
}

size_t smm_arena_metadata_bytes(const struct smm_arena *a)
{
	return smm_blocks_bytes(a->blocks) + smm_leases_bytes(a->leases) +
	       a->ops->metadata_bytes(a->policy);
}
