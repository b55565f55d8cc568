/* exec.c — one request against the arena, answer in a reply. */
#include "exec.h"

#include <stdlib.h>
#include <string.h>

static void set_block(struct smm_reply *rep, const struct smm_block_info *b)
{
	rep->addr = b->addr;
	rep->size = b->size;
	rep->id = b->id;
}

/* list_blocks fills rep's block list for the window [offset, offset+*len).
 * Past SMM_PROTO_MAX_DUMP_BLOCKS blocks the window is cut just before the
 * first block not listed, so the reply stays bounded and says truncated.
 * Costs what it lists: one more block is fetched only to find the cut.
 * Returns -1 when memory ran out. */
static int list_blocks(struct smm_arena *a, uint64_t offset, uint64_t *len,
		       struct smm_reply *rep)
{
	size_t n, cap = 16;

	rep->has_blocks = true;
	if (*len == 0)
		return 0;
	for (;;) {
		free(rep->blocks);
		rep->blocks = malloc(cap * sizeof *rep->blocks);
		if (!rep->blocks)
			return -1;
		n = smm_arena_blocks_in(a, offset, *len, cap, rep->blocks);
		if (n < cap || cap > SMM_PROTO_MAX_DUMP_BLOCKS)
			break;
		cap = cap * 4 > SMM_PROTO_MAX_DUMP_BLOCKS ? SMM_PROTO_MAX_DUMP_BLOCKS + 1 : cap * 4;
	}
	rep->nblocks = n;
	if (n > SMM_PROTO_MAX_DUMP_BLOCKS) {
		/* Blocks are sorted and disjoint: only the first may start
		 * before offset, so this cut is past offset. */
		*len = rep->blocks[SMM_PROTO_MAX_DUMP_BLOCKS].addr - offset;
		rep->nblocks = SMM_PROTO_MAX_DUMP_BLOCKS;
		rep->truncated = true;
	}
	return 0;
}

/* add_terms marks the listed blocks' leases (time left) and scopes. */
static void add_terms(const struct smm_arena *a, uint64_t now, struct smm_reply *rep)
{
	for (size_t i = 0; i < rep->nblocks; i++) {
		struct smm_block_info *b = &rep->blocks[i];
		uint64_t deadline, conn;
		if (smm_arena_terms(a, b->addr, &deadline, &conn) < 0)
			continue;
		b->has_ttl = deadline != SMM_LEASES_NEVER;
		b->ttl_ms = b->has_ttl && deadline > now ? deadline - now : 0;
		b->conn_scope = conn != 0;
	}
}

static void run_dump(struct smm_arena *a, const struct smm_request *req, uint64_t now,
		     struct smm_reply *rep)
{
	uint64_t size = smm_arena_size(a), len;

	if (req->offset > size) {
		smm_reply_fail(rep, SMM_ERR_BAD_REQUEST, "\"offset\" is past the end of memory");
		return;
	}
	len = size - req->offset;
	if (req->has_length && req->length < len)
		len = req->length;
	if (len > SMM_PROTO_MAX_DUMP) {
		len = SMM_PROTO_MAX_DUMP;
		rep->truncated = true;
	}
	if ((req->blocks && list_blocks(a, req->offset, &len, rep) < 0) ||
	    !(rep->memory = malloc(len + 1))) {
		smm_reply_clear(rep);
		smm_reply_fail(rep, SMM_ERR_BUSY, "server out of memory for this dump");
		return;
	}
	add_terms(a, now, rep);
	smm_arena_read(a, req->offset, len, rep->memory);
	rep->memory[len] = '\0';
	rep->memory_size = size;
	rep->offset = req->offset;
	rep->length = len;
}

/* map_blocks lists the window's blocks for a map when there are at most
 * SMM_PROTO_MAX_MAP_BLOCKS; past that it lists none and says so. Returns
 * -1 when memory ran out. */
static int map_blocks(struct smm_arena *a, uint64_t now, struct smm_reply *rep)
{
	rep->has_blocks = true;
	rep->blocks = malloc((SMM_PROTO_MAX_MAP_BLOCKS + 1) * sizeof *rep->blocks);
	if (!rep->blocks)
		return -1;
	rep->nblocks = smm_arena_blocks_in(a, rep->offset, rep->length,
					   SMM_PROTO_MAX_MAP_BLOCKS + 1, rep->blocks);
	if (rep->nblocks > SMM_PROTO_MAX_MAP_BLOCKS) {
		rep->nblocks = 0;
		rep->truncated = true;
	}
	add_terms(a, now, rep);
	return 0;
}

/* run_map cuts the window into cells (never more cells than bytes, so a
 * small window is shown byte by byte) from the block table. */
static void run_map(struct smm_arena *a, const struct smm_request *req, uint64_t now,
		    struct smm_reply *rep)
{
	uint64_t size = smm_arena_size(a);
	struct smm_map_cell *cells = NULL;

	if (req->offset > size) {
		smm_reply_fail(rep, SMM_ERR_BAD_REQUEST, "\"offset\" is past the end of memory");
		return;
	}
	rep->memory_size = size;
	rep->offset = req->offset;
	rep->length = size - req->offset;
	if (req->has_length && req->length < rep->length)
		rep->length = req->length;
	rep->ncells = (size_t)(req->cells < rep->length ? req->cells : rep->length);
	if (rep->ncells == 0)
		return;
	cells = malloc(rep->ncells * sizeof *cells);
	rep->cells = malloc(rep->ncells * sizeof *rep->cells);
	if (!cells || !rep->cells ||
	    smm_arena_map(a, rep->offset, rep->length, rep->ncells, cells) < 0 ||
	    (req->blocks && map_blocks(a, now, rep) < 0)) {
		free(cells);
		smm_reply_clear(rep);
		smm_reply_fail(rep, SMM_ERR_BUSY, "server out of memory for this map");
		return;
	}
	for (size_t i = 0; i < rep->ncells; i++)
		rep->cells[i] = (struct smm_cell){ cells[i].used, cells[i].unfilled, cells[i].owner };
	free(cells);
}

static uint64_t deadline_of(const struct smm_request *req, uint64_t now)
{
	return req->has_ttl && req->ttl_ms ? now + req->ttl_ms : SMM_LEASES_NEVER;
}

/* run_malloc grants a block with the terms req asks for; a block whose
 * terms cannot be stored is given back, so a grant is all or nothing. */
static enum smm_err run_malloc(struct smm_arena *a, const struct smm_request *req,
			       uint64_t now, struct smm_block_info *b, struct smm_reply *rep)
{
	enum smm_err e = smm_arena_alloc(a, req->id, req->size, b, &rep->key);

	if (e != SMM_ERR_NONE || (!req->has_ttl && !req->conn_scope))
		return e;
	if (smm_arena_set_terms(a, b->addr, deadline_of(req, now),
				req->conn_scope ? req->conn : 0) < 0) {
		smm_arena_release(a, b->addr, rep->key, b);
		return SMM_ERR_NO_MEMORY;
	}
	rep->has_ttl = req->has_ttl;
	rep->ttl_ms = req->ttl_ms;
	return SMM_ERR_NONE;
}

void smm_exec_run(struct smm_arena *a, const struct smm_request *req, uint64_t now,
		  struct smm_reply *rep)
{
	struct smm_block_info b;
	enum smm_err e = SMM_ERR_NONE;

	memset(rep, 0, sizeof *rep);
	switch (req->op) {
	case SMM_OP_MALLOC:
		e = run_malloc(a, req, now, &b, rep);
		break;
	case SMM_OP_FILL:
		e = smm_arena_fill(a, req->addr, req->key, req->fill_char, &b);
		break;
	case SMM_OP_FREE:
		/* The caller has checked the admin token of an operator's free. */
		if (req->has_token)
			e = smm_arena_evict(a, req->addr, &b);
		else
			e = smm_arena_release(a, req->addr, req->key, &b);
		break;
	case SMM_OP_RENEW:
		e = smm_arena_renew(a, req->addr, req->key, deadline_of(req, now), &b);
		rep->has_ttl = true;
		rep->ttl_ms = req->ttl_ms;
		break;
	case SMM_OP_RELEASE:
		rep->freed = smm_arena_release_conn(a, req->conn);
		return;
	case SMM_OP_DUMP:
		run_dump(a, req, now, rep);
		return;
	case SMM_OP_MAP:
		run_map(a, req, now, rep);
		return;
	case SMM_OP_STATS:
		smm_arena_stats(a, &rep->stats);
		return;
	case SMM_OP_RESET:
		rep->freed = smm_arena_reset(a);
		return;
	default:
		return;
	}
	if (e != SMM_ERR_NONE) {
		rep->has_ttl = false;
		smm_reply_fail(rep, e, NULL);
	}
	else
		set_block(rep, &b);
}
