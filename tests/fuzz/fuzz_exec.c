/* fuzz_exec.c — libFuzzer harness for the whole request → reply path of
 * the allocator core, as the allocator thread runs it: each input is split
 * into lines; each line is parsed, executed on one small arena with
 * smm_exec_run (admin tokens accepted: the event loop checks those) and its
 * reply formatted. After every step the arena is checked against the
 * harness's own model of it; any difference calls abort().
 *
 * Input format. An optional first line "#memory=N align=N filler=C
 * policy=NAME" (any subset, in any order) configures the arena; the
 * default is the server's: 150 bytes, align 1, filler '.', policy bump.
 * Keys are random, so a fuzzer could never guess one: in fill, free and
 * renew a key of sixteen 0s stands for the right key of the block at addr
 * and sixteen fs for a wrong one; any other key is used as given.
 *
 * Leases run on a fake clock the harness keeps, starting at 0. Three
 * directive lines drive it and the connections: "#tick=N" moves the clock
 * N ms on and expires what is due, in slices of EXPIRE_SLICE as the
 * allocator thread does; "#conn=C" makes C (1 at first) the connection
 * later requests come from; "#close=C" releases connection C's blocks. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "exec.h"
#include "policy.h"
#include "reply.h"
#include "request.h"

/* Arenas up to 64 KiB: every byte is modelled and checked, and larger
 * arenas made the fuzzer twenty times slower without reaching new code
 * (only dump's truncation at SMM_PROTO_MAX_DUMP, which is left out). */
#define MAX_MEMORY (64u * 1024u)
#define MAX_ALIGN 4096u
#define KEY_RIGHT 0x0000000000000000ULL
#define KEY_WRONG 0xffffffffffffffffULL
/* Small, so that a few leases already take several slices. */
#define EXPIRE_SLICE 3
/* The clock moves at most this far per tick, keeping deadlines exact. */
#define MAX_TICK (1ull << 40)

#define CHECK(cond)                                                                 \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,  \
				__LINE__, #cond);                                   \
			abort();                                                    \
		}                                                                   \
	} while (0)

/* One live block as the harness believes it to be. */
struct mblock {
	uint64_t addr, size, key;
	int64_t id;
	uint64_t deadline; /* SMM_LEASES_NEVER: no lease */
	uint64_t conn;     /* 0: server-scoped */
};

/* The harness's model: live blocks sorted by address, and every byte's
 * content, 0 meaning free / never written (shown as the filler). */
struct model {
	struct smm_arena_config cfg;
	struct mblock *v;
	size_t n, cap;
	char *bytes;
	uint64_t now, conn;              /* the fake clock; the sending connection */
	uint64_t expired, released;      /* what stats should count */
};

/* model_pos returns the index of the first block at or above addr. */
static size_t model_pos(const struct model *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct mblock *model_find(struct model *m, uint64_t addr)
{
	size_t i = model_pos(m, addr);

	return i < m->n && m->v[i].addr == addr ? &m->v[i] : NULL;
}

/* model_add inserts b, which must overlap no live block. */
static void model_add(struct model *m, const struct mblock *b)
{
	size_t i = model_pos(m, b->addr);

	CHECK(i == 0 || m->v[i - 1].addr + m->v[i - 1].size <= b->addr);
	CHECK(i == m->n || b->addr + b->size <= m->v[i].addr);
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->v = realloc(m->v, m->cap * sizeof *m->v);
		CHECK(m->v);
	}
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof *m->v);
	m->v[i] = *b;
	m->n++;
}

static void model_remove(struct model *m, struct mblock *b)
{
	size_t i = (size_t)(b - m->v);

	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof *m->v);
	m->n--;
}

static uint64_t model_used(const struct model *m)
{
	uint64_t used = 0;

	for (size_t i = 0; i < m->n; i++)
		used += m->v[i].size;
	return used;
}

static uint64_t model_leases(const struct model *m)
{
	uint64_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += m->v[i].deadline != SMM_LEASES_NEVER;
	return n;
}

static uint64_t model_next(const struct model *m)
{
	uint64_t next = SMM_LEASES_NEVER;

	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].deadline < next)
			next = m->v[i].deadline;
	return next;
}

/* model_scrub_remove frees block i as the core does: bytes scrubbed. */
static void model_scrub_remove(struct model *m, size_t i)
{
	memset(m->bytes + m->v[i].addr, 0, m->v[i].size);
	model_remove(m, &m->v[i]);
}

/* parse_config reads the optional "#..." header line; bad values keep
 * the defaults, so every input runs. Returns the bytes it consumed. */
static size_t parse_config(const char *data, size_t size, struct smm_arena_config *cfg)
{
	char line[256], *save = NULL, *tok;
	const char *nl;
	size_t len;

	*cfg = (struct smm_arena_config){ 150, 1, '.', smm_policy_find("bump") };
	if (size == 0 || data[0] != '#')
		return 0;
	nl = memchr(data, '\n', size);
	len = nl ? (size_t)(nl - data) : size;
	/* The header's text is data[1..len): the '#' is not part of it. */
	snprintf(line, sizeof line, "%.*s", (int)(len - 1 < sizeof line ? len - 1 : sizeof line - 1),
		 data + 1);
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		unsigned long long v;
		if (!eq)
			continue;
		*eq = '\0';
		v = strtoull(eq + 1, NULL, 10);
		if (strcmp(tok, "memory") == 0 && v >= 1 && v <= MAX_MEMORY)
			cfg->size = v;
		else if (strcmp(tok, "align") == 0 && v >= 1 && v <= MAX_ALIGN && !(v & (v - 1)))
			cfg->align = v;
		else if (strcmp(tok, "filler") == 0 && eq[1] >= 0x21 && eq[1] <= 0x7e)
			cfg->filler = eq[1];
		else if (strcmp(tok, "policy") == 0 && smm_policy_find(eq + 1))
			cfg->policy = smm_policy_find(eq + 1);
	}
	return nl ? len + 1 : len;
}

/* check_bytes: arena bytes [off, off+len) as read back match the model. */
static void check_bytes(const struct model *m, uint64_t off, uint64_t len, const char *got)
{
	for (uint64_t i = 0; i < len; i++) {
		char want = m->bytes[off + i] ? m->bytes[off + i] : m->cfg.filler;
		CHECK(got[i] == want);
	}
}

/* check_arena: the core's blocks and counters agree with the model. */
static void check_arena(struct smm_arena *a, struct model *m)
{
	struct smm_stats st = { 0 };
	struct smm_block_info *b;
	uint64_t used = 0;
	size_t n;

	smm_arena_stats(a, &st);
	b = smm_arena_blocks(a, 0, m->cfg.size, &n);
	CHECK(n != SIZE_MAX);
	CHECK(n == m->n && st.blocks == n);
	for (size_t i = 0; i < n; i++) {
		const struct mblock *mb = &m->v[i]; /* both sorted by address */
		CHECK(mb->addr == b[i].addr && mb->size == b[i].size && mb->id == b[i].id);
		CHECK(b[i].size >= 1 && b[i].addr % m->cfg.align == 0);
		CHECK(b[i].addr < m->cfg.size && b[i].size <= m->cfg.size - b[i].addr);
		if (i > 0) /* sorted, and no two blocks overlap */
			CHECK(b[i - 1].addr + b[i - 1].size <= b[i].addr);
		used += b[i].size;
	}
	free(b);
	CHECK(st.leases == model_leases(m) && st.expired == m->expired);
	CHECK(st.released_on_close == m->released);
	CHECK(smm_arena_next_deadline(a) == model_next(m));
	CHECK(st.memory_size == m->cfg.size);
	CHECK(st.used == used && used == model_used(m));
	CHECK(st.free == m->cfg.size - used);
	CHECK(st.largest_free <= st.free);
	/* n blocks leave at most n + 1 maximal free runs, none when full. */
	CHECK(st.free_extents <= n + 1);
	if (st.free == 0)
		CHECK(st.free_extents == 0 && st.largest_free == 0);
	CHECK(st.policy && strcmp(st.policy, m->cfg.policy->name) == 0);
}

/* Reply lines longer than this (big dumps) are checked for framing only:
 * parsing megabytes of JSON per step would slow the fuzzer tenfold. */
#define MAX_PARSED_REPLY (64u * 1024u)

/* check_reply_line: out is one "\n"-terminated JSON object, ok as said. */
static void check_reply_line(const struct smm_buf *out, int ok)
{
	static const char yes[] = "{\"ok\":true", no[] = "{\"ok\":false";
	cJSON *obj, *v;

	CHECK(!out->oom && out->len >= 3 && out->data[out->len - 1] == '\n');
	CHECK(memchr(out->data, '\n', out->len - 1) == NULL);
	if (out->len > MAX_PARSED_REPLY) {
		CHECK(strncmp(out->data, ok ? yes : no, strlen(ok ? yes : no)) == 0);
		CHECK(out->data[out->len - 2] == '}');
		return;
	}
	obj = cJSON_ParseWithLength(out->data, out->len - 1);
	CHECK(obj && cJSON_IsObject(obj));
	v = cJSON_GetObjectItemCaseSensitive(obj, "ok");
	CHECK(cJSON_IsBool(v) && cJSON_IsTrue(v) == ok);
	cJSON_Delete(obj);
}

/* Replies shorter than this are searched for leaked keys (all of them
 * but the few big dumps; the search is per live block). */
#define MAX_SEARCHED_REPLY 16384u

/* check_no_keys: only malloc's reply may carry a key, and only its own;
 * no other reply (dump, stats, errors) shows any live block's key. */
static void check_no_keys(const struct model *m, enum smm_op op, const struct smm_buf *out)
{
	char hex[SMM_PROTO_KEY_HEX + 1];

	if (op == SMM_OP_MALLOC || out->len > MAX_SEARCHED_REPLY)
		return;
	for (size_t i = 0; i < m->n; i++) {
		smm_key_format(m->v[i].key, hex);
		CHECK(memmem(out->data, out->len, hex, SMM_PROTO_KEY_HEX) == NULL);
	}
}

/* substitute_key turns the placeholder keys into the model's key. */
static void substitute_key(struct model *m, struct smm_request *req)
{
	struct mblock *b = model_find(m, req->addr);

	if (!b || (req->key != KEY_RIGHT && req->key != KEY_WRONG))
		return;
	req->key = req->key == KEY_RIGHT ? b->key : b->key ^ 1;
}

static void step_malloc(struct smm_arena *a, struct model *m, const struct smm_request *req,
			const struct smm_reply *rep, const struct smm_stats *before)
{
	struct mblock b;
	char *got;

	if (rep->err != SMM_ERR_NONE) {
		CHECK(rep->err == SMM_ERR_NO_MEMORY);
		/* Room was there (align 1: no padding): the core must grant it. */
		if (m->cfg.align == 1)
			CHECK(req->size > before->largest_free);
		return;
	}
	CHECK(rep->id == req->id && rep->size >= req->size);
	CHECK(rep->addr < m->cfg.size && rep->size <= m->cfg.size - rep->addr);
	CHECK(model_find(m, rep->addr) == NULL);
	/* A new owner sees only the filler, never a previous owner's bytes. */
	got = malloc(rep->size);
	CHECK(got);
	smm_arena_read(a, rep->addr, rep->size, got);
	for (uint64_t i = 0; i < rep->size; i++)
		CHECK(got[i] == m->cfg.filler);
	free(got);
	CHECK(rep->has_ttl == req->has_ttl && rep->ttl_ms == (req->has_ttl ? req->ttl_ms : 0));
	b = (struct mblock){ rep->addr, rep->size, rep->key, rep->id,
			     req->has_ttl ? m->now + req->ttl_ms : SMM_LEASES_NEVER,
			     req->conn_scope ? m->conn : 0 };
	model_add(m, &b); /* checks the grant overlaps no live block */
}

static void step_block(struct smm_arena *a, struct model *m, const struct smm_request *req,
		       const struct smm_reply *rep)
{
	struct mblock *b = model_find(m, req->addr);
	char c;

	if (!b) {
		CHECK(rep->err == SMM_ERR_BAD_ADDR);
		return;
	}
	if (req->key != b->key && !req->has_token) {
		CHECK(rep->err == SMM_ERR_FORBIDDEN);
		return;
	}
	CHECK(rep->err == SMM_ERR_NONE && rep->addr == b->addr && rep->size == b->size);
	if (req->op == SMM_OP_RENEW) {
		CHECK(rep->has_ttl && rep->ttl_ms == req->ttl_ms);
		b->deadline = req->ttl_ms ? m->now + req->ttl_ms : SMM_LEASES_NEVER;
	} else if (req->op == SMM_OP_FILL) {
		c = req->fill_char ? req->fill_char : smm_id_char(b->id);
		memset(m->bytes + b->addr, c, b->size);
	} else {
		/* free scrubs: the bytes read back as the filler at once. */
		char *got = malloc(b->size);
		CHECK(got);
		memset(m->bytes + b->addr, 0, b->size);
		smm_arena_read(a, b->addr, b->size, got);
		check_bytes(m, b->addr, b->size, got);
		free(got);
		model_remove(m, b);
	}
}

static void step_dump(struct model *m, const struct smm_request *req,
		      const struct smm_reply *rep)
{
	uint64_t want;
	size_t first, overlap = 0;
	bool truncated;

	if (req->offset > m->cfg.size) {
		CHECK(rep->err == SMM_ERR_BAD_REQUEST);
		return;
	}
	if (rep->err == SMM_ERR_BUSY) /* out of memory for the copy */
		return;
	CHECK(rep->err == SMM_ERR_NONE);
	want = m->cfg.size - req->offset;
	if (req->has_length && req->length < want)
		want = req->length;
	truncated = want > SMM_PROTO_MAX_DUMP;
	if (truncated)
		want = SMM_PROTO_MAX_DUMP;
	/* The model's blocks overlapping a non-empty window, in address
	 * order: the one that starts before offset, if any, then the rest.
	 * Past SMM_PROTO_MAX_DUMP_BLOCKS the window ends where the first
	 * unlisted block starts. */
	first = model_pos(m, req->offset);
	if (first > 0 && m->v[first - 1].addr + m->v[first - 1].size > req->offset)
		first--;
	if (req->blocks && want > 0) {
		while (first + overlap < m->n && m->v[first + overlap].addr < req->offset + want)
			overlap++;
		if (overlap > SMM_PROTO_MAX_DUMP_BLOCKS) {
			want = m->v[first + SMM_PROTO_MAX_DUMP_BLOCKS].addr - req->offset;
			overlap = SMM_PROTO_MAX_DUMP_BLOCKS;
			truncated = true;
		}
	}
	CHECK(rep->truncated == truncated);
	CHECK(rep->memory_size == m->cfg.size && rep->offset == req->offset);
	CHECK(rep->length == want && rep->memory);
	check_bytes(m, req->offset, want, rep->memory);
	CHECK(rep->has_blocks == req->blocks);
	CHECK(rep->nblocks == overlap);
	for (size_t i = 0; i < rep->nblocks; i++) {
		const struct mblock *b = &m->v[first + i];
		const struct smm_block_info *got = &rep->blocks[i];
		CHECK(b->addr == got->addr && b->size == got->size && b->id == got->id);
		/* Ticks expire all that is due, so a live lease ends after now. */
		CHECK(got->has_ttl == (b->deadline != SMM_LEASES_NEVER));
		CHECK(!got->has_ttl || got->ttl_ms == b->deadline - m->now);
		CHECK(got->conn_scope == (b->conn != 0));
	}
}

/* tick moves the fake clock dt on and expires, slice by slice, exactly the
 * blocks whose lease ended: earliest first, each slice full but the last. */
static void tick(struct smm_arena *a, struct model *m, uint64_t dt)
{
	size_t due = 0, k;

	m->now += dt;
	for (size_t i = 0; i < m->n; i++)
		due += m->v[i].deadline <= m->now;
	do {
		uint64_t next = smm_arena_next_deadline(a);
		k = smm_arena_expire(a, m->now, EXPIRE_SLICE);
		CHECK(k <= due && (k == EXPIRE_SLICE || k == due));
		CHECK(k == 0 || next <= m->now);
		due -= k;
		m->expired += k;
	} while (k == EXPIRE_SLICE);
	CHECK(due == 0);
	for (size_t i = m->n; i-- > 0;)
		if (m->v[i].deadline <= m->now)
			model_scrub_remove(m, i);
}

/* close_conn releases connection conn's blocks through exec, as the
 * server does when a connection closes. */
static void close_conn(struct smm_arena *a, struct model *m, uint64_t conn)
{
	struct smm_request req = { .op = SMM_OP_RELEASE, .conn = conn };
	struct smm_reply rep;
	uint64_t owned = 0;

	for (size_t i = m->n; i-- > 0;) {
		if (conn != 0 && m->v[i].conn == conn) {
			model_scrub_remove(m, i);
			owned++;
		}
	}
	smm_exec_run(a, &req, m->now, &rep);
	CHECK(rep.err == SMM_ERR_NONE && rep.freed == owned);
	m->released += owned;
}

/* directive runs a "#tick=", "#conn=" or "#close=" line. Returns 1 when
 * line was one. */
static int directive(struct smm_arena *a, struct model *m, const char *line, size_t len)
{
	char buf[64];
	unsigned long long v;

	if (len == 0 || line[0] != '#' || len >= sizeof buf)
		return 0;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (sscanf(buf, "#tick=%llu", &v) == 1)
		tick(a, m, v < MAX_TICK ? v : MAX_TICK);
	else if (sscanf(buf, "#conn=%llu", &v) == 1)
		m->conn = v ? v : 1; /* the server numbers connections from 1 */
	else if (sscanf(buf, "#close=%llu", &v) == 1)
		close_conn(a, m, v);
	else
		return 0;
	check_arena(a, m);
	return 1;
}

/* run_line executes one line and checks the reply and the arena. */
static void run_line(struct smm_arena *a, struct model *m, const char *line, size_t len,
		     struct smm_buf *out)
{
	struct smm_request req;
	struct smm_reply rep = { 0 }, err = { 0 };
	struct smm_stats before = { 0 };
	uint64_t used_before;

	smm_arena_stats(a, &before);
	used_before = before.used;
	if (smm_request_parse(line, len, &req, &err) < 0) {
		smm_buf_reset(out);
		smm_reply_format(req.op, req.tag, req.tag_len, &err, out);
		check_reply_line(out, 0);
		smm_request_clear(&req);
		return;
	}
	if (req.op == SMM_OP_FILL || req.op == SMM_OP_FREE || req.op == SMM_OP_RENEW)
		substitute_key(m, &req);
	req.conn = m->conn;
	smm_exec_run(a, &req, m->now, &rep);
	switch (req.op) {
	case SMM_OP_MALLOC:
		step_malloc(a, m, &req, &rep, &before);
		break;
	case SMM_OP_FILL:
	case SMM_OP_FREE:
	case SMM_OP_RENEW:
		step_block(a, m, &req, &rep);
		break;
	case SMM_OP_DUMP:
		step_dump(m, &req, &rep);
		break;
	case SMM_OP_STATS:
		CHECK(rep.err == SMM_ERR_NONE && rep.stats.used == used_before);
		break;
	case SMM_OP_RESET:
		CHECK(rep.err == SMM_ERR_NONE && rep.freed == m->n);
		/* Blocks that were due but not yet expired are simply gone. */
		m->n = 0;
		memset(m->bytes, 0, m->cfg.size);
		break;
	default:
		CHECK(rep.err == SMM_ERR_NONE);
		break;
	}
	/* A failed request leaves the arena as it was. */
	if (rep.err != SMM_ERR_NONE) {
		struct smm_stats after = { 0 };
		smm_arena_stats(a, &after);
		CHECK(after.used == before.used && after.blocks == before.blocks);
		CHECK(after.largest_free == before.largest_free);
		CHECK(after.free_extents == before.free_extents);
	}
	smm_buf_reset(out);
	smm_reply_format(req.op, req.tag, req.tag_len, &rep, out);
	check_reply_line(out, rep.err == SMM_ERR_NONE);
	check_no_keys(m, req.op, out);
	smm_reply_clear(&rep);
	smm_request_clear(&req);
	check_arena(a, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct model m = { .conn = 1 };
	struct smm_arena *a;
	struct smm_buf out;
	char errbuf[128];

	p += parse_config(p, size, &m.cfg);
	a = smm_arena_new(&m.cfg, errbuf, sizeof errbuf);
	CHECK(a);
	m.bytes = calloc(m.cfg.size, 1);
	CHECK(m.bytes);
	smm_buf_init(&out);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		/* An exact-size heap copy, so ASan sees any read past the line. */
		char *line = malloc(len ? len : 1);
		CHECK(line);
		memcpy(line, p, len);
		if (!directive(a, &m, line, len))
			run_line(a, &m, line, len, &out);
		free(line);
		p += nl ? len + 1 : len;
	}
	smm_buf_free(&out);
	smm_arena_destroy(a);
	free(m.bytes);
	free(m.v);
	return 0;
}
