/* aofrec.c — log records: CRC32C, a field list per type, replay via exec. */
#include "aofrec.h"

#include <stdio.h>
#include <string.h>

#include "exec.h"

/* The payload's fields, in this order; each type keeps a subset. */
enum {
	F_NOW = 1 << 0, F_ID = 1 << 1, F_SIZE = 1 << 2, F_TTL = 1 << 3, F_CONN = 1 << 4,
	F_ADDR = 1 << 5, F_KEY = 1 << 6, F_COUNT = 1 << 7, F_DEADLINE = 1 << 8, F_CH = 1 << 9,
	F_POLICY = 1 << 10,
};

static const unsigned fields_of[SMM_AOFREC_TYPES] = {
	[SMM_AOFREC_CONFIG] = F_SIZE | F_COUNT | F_CH | F_POLICY,
	[SMM_AOFREC_MALLOC] = F_NOW | F_ID | F_SIZE | F_TTL | F_CONN | F_ADDR | F_KEY,
	[SMM_AOFREC_FILL] = F_ADDR | F_KEY | F_CH,
	[SMM_AOFREC_FREE] = F_ADDR,
	[SMM_AOFREC_RENEW] = F_NOW | F_TTL | F_ADDR | F_KEY,
	[SMM_AOFREC_RESET] = 0,
	[SMM_AOFREC_RELEASE] = F_CONN | F_COUNT,
	[SMM_AOFREC_EXPIRE] = F_NOW | F_COUNT,
	[SMM_AOFREC_BLOCK] = F_ID | F_SIZE | F_CONN | F_ADDR | F_KEY | F_DEADLINE | F_CH,
};

uint32_t smm_aofrec_crc32c(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	/* Bitwise: a record is under 128 bytes, and replay is bound by exec,
	 * not by this (bench/README.md gives replay's records per second). */
	crc = ~crc;
	while (n--) {
		crc ^= *b++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void put_u64(uint8_t **p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*(*p)++ = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t **p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)*(*p)++ << (8 * i);
	return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* payload_len is the payload bytes a record with fields f takes. */
static size_t payload_len(unsigned f)
{
	size_t n = 1;

	for (unsigned bit = F_NOW; bit <= F_DEADLINE; bit <<= 1)
		n += f & bit ? 8 : 0;
	return n + (f & F_CH ? 1 : 0) + (f & F_POLICY ? SMM_AOFREC_POLICY : 0);
}

size_t smm_aofrec_encode(const struct smm_aofrec *r, uint8_t out[SMM_AOFREC_MAX])
{
	unsigned f = fields_of[r->type];
	const uint64_t v[] = { r->now, (uint64_t)r->id, r->size, r->ttl_ms, r->conn, r->addr,
			       r->key, r->count, r->deadline };
	uint8_t *p = out + SMM_AOFREC_HEADER;

	*p++ = (uint8_t)r->type;
	for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++)
		if (f & (1u << i))
			put_u64(&p, v[i]);
	if (f & F_CH)
		*p++ = (uint8_t)r->ch;
	if (f & F_POLICY) {
		memset(p, 0, SMM_AOFREC_POLICY);
		memcpy(p, r->policy, strnlen(r->policy, SMM_AOFREC_POLICY - 1));
		p += SMM_AOFREC_POLICY;
	}
	put_u32(out, (uint32_t)(p - out - SMM_AOFREC_HEADER));
	put_u32(out + 4, smm_aofrec_crc32c(0, out + SMM_AOFREC_HEADER,
					   (size_t)(p - out - SMM_AOFREC_HEADER)));
	return (size_t)(p - out);
}

static int printable_or_0(char c)
{
	return c == 0 || (c >= 0x21 && c <= 0x7e);
}

void smm_aofrec_of_entry(const struct smm_arena_entry *e, struct smm_aofrec *r)
{
	*r = (struct smm_aofrec){ .type = SMM_AOFREC_BLOCK, .id = e->id, .size = e->size,
				  .conn = e->conn, .addr = e->addr, .key = e->key,
				  .deadline = e->deadline, .ch = e->fill };
}

int smm_aofrec_of_request(const struct smm_request *req, const struct smm_reply *rep,
			  uint64_t now, struct smm_aofrec *r)
{
	static const enum smm_aofrec_type type_of[] = {
		[SMM_OP_MALLOC] = SMM_AOFREC_MALLOC, [SMM_OP_FILL] = SMM_AOFREC_FILL,
		[SMM_OP_FREE] = SMM_AOFREC_FREE,     [SMM_OP_RENEW] = SMM_AOFREC_RENEW,
		[SMM_OP_RESET] = SMM_AOFREC_RESET,   [SMM_OP_RELEASE] = SMM_AOFREC_RELEASE,
	};

	if (rep->err != SMM_ERR_NONE || (unsigned)req->op >= sizeof type_of / sizeof type_of[0] ||
	    !type_of[req->op] || (req->op == SMM_OP_RELEASE && rep->freed == 0))
		return 0;
	*r = (struct smm_aofrec){
		.type = type_of[req->op], .now = now, .id = req->id, .size = req->size,
		.ttl_ms = req->has_ttl ? req->ttl_ms : 0, .conn = req->conn,
		.addr = req->op == SMM_OP_MALLOC ? rep->addr : req->addr,
		.key = req->op == SMM_OP_MALLOC ? rep->key : req->key,
		.count = rep->freed, .ch = req->fill_char,
	};
	if (req->op == SMM_OP_MALLOC && !req->conn_scope)
		r->conn = 0;
	return 1;
}


/* check_fields says why a decoded record is impossible, or NULL. */
static const char *check_fields(const struct smm_aofrec *r)
{
	if (r->type == SMM_AOFREC_MALLOC &&
	    (r->size == 0 || r->id < 0 || r->id > SMM_PROTO_MAX_ID || r->ttl_ms > SMM_PROTO_MAX_TTL))
		return "malloc record with an impossible size, id or lease";
	if (r->type == SMM_AOFREC_BLOCK &&
	    (r->size == 0 || r->id < 0 || r->id > SMM_PROTO_MAX_ID || !printable_or_0(r->ch)))
		return "block record with an impossible size, id or character";
	if (r->type == SMM_AOFREC_RENEW && r->ttl_ms > SMM_PROTO_MAX_TTL)
		return "renew record with an impossible lease";
	if ((r->type == SMM_AOFREC_FILL || r->type == SMM_AOFREC_CONFIG) && !printable_or_0(r->ch))
		return "record with an unprintable character";
	if (r->type == SMM_AOFREC_CONFIG && (r->size == 0 || r->count == 0 ||
					     (r->count & (r->count - 1)) || r->policy[0] == 0))
		return "config record with an impossible arena";
	return NULL;
}

static void read_fields(const uint8_t *p, unsigned f, struct smm_aofrec *r)
{
	uint64_t v[9] = { 0 };

	for (unsigned i = 0; i < 9; i++)
		if (f & (1u << i))
			v[i] = get_u64(&p);
	r->now = v[0], r->id = (int64_t)v[1], r->size = v[2], r->ttl_ms = v[3];
	r->conn = v[4], r->addr = v[5], r->key = v[6], r->count = v[7], r->deadline = v[8];
	if (f & F_CH)
		r->ch = (char)*p++;
	if (f & F_POLICY) {
		memcpy(r->policy, p, SMM_AOFREC_POLICY);
		r->policy[SMM_AOFREC_POLICY - 1] = '\0';
	}
}

long smm_aofrec_decode(const uint8_t *p, size_t avail, struct smm_aofrec *r, char *err,
		       size_t errlen)
{
	struct smm_aofrec d = { 0 };
	uint32_t len;
	const char *why;

	if (avail < SMM_AOFREC_HEADER)
		return 0;
	len = get_u32(p);
	if (len == 0 || len > SMM_AOFREC_MAX - SMM_AOFREC_HEADER) {
		snprintf(err, errlen, "record length %u is impossible", len);
		return -1;
	}
	if (avail < SMM_AOFREC_HEADER + (size_t)len)
		return 0;
	if (smm_aofrec_crc32c(0, p + SMM_AOFREC_HEADER, len) != get_u32(p + 4)) {
		snprintf(err, errlen, "checksum mismatch");
		return -1;
	}
	d.type = p[SMM_AOFREC_HEADER];
	if (d.type == 0 || d.type >= SMM_AOFREC_TYPES || payload_len(fields_of[d.type]) != len) {
		snprintf(err, errlen, "record of unknown type %u or wrong length %u",
			 (unsigned)p[SMM_AOFREC_HEADER], len);
		return -1;
	}
	read_fields(p + SMM_AOFREC_HEADER + 1, fields_of[d.type], &d);
	if ((why = check_fields(&d))) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	*r = d;
	return SMM_AOFREC_HEADER + (long)len;
}

/* request_of turns r back into the request that made it. */
static void request_of(const struct smm_aofrec *r, struct smm_request *req)
{
	static const enum smm_op op_of[] = {
		[SMM_AOFREC_FILL] = SMM_OP_FILL,   [SMM_AOFREC_FREE] = SMM_OP_FREE,
		[SMM_AOFREC_RENEW] = SMM_OP_RENEW, [SMM_AOFREC_RESET] = SMM_OP_RESET,
		[SMM_AOFREC_RELEASE] = SMM_OP_RELEASE,
	};

	*req = (struct smm_request){
		.op = op_of[r->type], .addr = r->addr, .key = r->key, .ttl_ms = r->ttl_ms,
		.conn = r->conn, .fill_char = r->ch, .has_ttl = r->type == SMM_AOFREC_RENEW,
		.has_token = r->type == SMM_AOFREC_FREE,
	};
}

/* ends_as_logged says whether rep is how r's request ended before. */
static int ends_as_logged(const struct smm_aofrec *r, const struct smm_reply *rep)
{
	if (rep->err != SMM_ERR_NONE)
		return 0;
	return r->type != SMM_AOFREC_RELEASE || rep->freed == r->count;
}

/* claim puts the block of a MALLOC or BLOCK record back at its address,
 * with its terms and, for BLOCK, its bytes. All or nothing. */
static int claim(struct smm_arena *a, const struct smm_aofrec *r)
{
	uint64_t deadline = r->deadline;
	struct smm_block_info b;

	if (r->type == SMM_AOFREC_MALLOC)
		deadline = r->ttl_ms ? r->now + r->ttl_ms : SMM_LEASES_NEVER;
	if (smm_arena_claim(a, r->addr, r->size, r->id, r->key, &b) < 0)
		return 0;
	if ((deadline != SMM_LEASES_NEVER || r->conn) &&
	    smm_arena_set_terms(a, r->addr, deadline, r->conn) < 0) {
		smm_arena_evict(a, r->addr, &b);
		return 0;
	}
	if (r->type == SMM_AOFREC_BLOCK && r->ch)
		smm_arena_fill(a, r->addr, r->key, r->ch, &b);
	return 1;
}

int smm_aofrec_apply(struct smm_arena *a, const struct smm_aofrec *r, char *err,
		     size_t errlen)
{
	struct smm_request req;
	struct smm_reply rep;
	int ok;

	if (r->type == SMM_AOFREC_CONFIG)
		return 0;
	if (r->type == SMM_AOFREC_EXPIRE) {
		ok = smm_arena_expire(a, r->now, r->count) == r->count;
	} else if (r->type == SMM_AOFREC_MALLOC || r->type == SMM_AOFREC_BLOCK) {
		ok = claim(a, r);
	} else {
		request_of(r, &req);
		smm_exec_run(a, &req, r->now, &rep);
		ok = ends_as_logged(r, &rep);
		smm_reply_clear(&rep);
	}
	if (!ok)
		snprintf(err, errlen, "record does not replay as logged (type %d, addr %llu)",
			 (int)r->type, (unsigned long long)r->addr);
	return ok ? 0 : -1;
}
