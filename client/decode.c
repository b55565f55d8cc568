/* decode.c — reply lines through cJSON. Strict about what it needs, lax
 * about what it does not: unknown fields are ignored, so a newer server
 * may add fields without breaking older clients. */
#include "decode.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* bad sets rep's message for an unreadable reply and returns -1. */
static int bad(struct smm_reply *rep, const char *what, const char *field)
{
	rep->err = SMM_ERR_NONE;
	snprintf(rep->message, sizeof rep->message, "unreadable reply: %s%s%s%s", what,
		 field ? " \"" : "", field ? field : "", field ? "\"" : "");
	return -1;
}

/* get_u64 reads the non-negative integer field name of obj into *out. */
static int get_u64(const cJSON *obj, const char *name, uint64_t *out, struct smm_reply *rep)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	double d;

	if (!cJSON_IsNumber(v))
		return bad(rep, "missing number", name);
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < 0 || d > (double)SMM_PROTO_MAX_INT)
		return bad(rep, "out-of-range number", name);
	*out = (uint64_t)d;
	return 0;
}

static int get_i64(const cJSON *obj, const char *name, int64_t *out, struct smm_reply *rep)
{
	uint64_t v;

	if (get_u64(obj, name, &v, rep) < 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* get_ttl reads the optional "ttl_ms" of obj. */
static int get_ttl(const cJSON *obj, uint64_t *ttl, bool *has, struct smm_reply *rep)
{
	*has = cJSON_GetObjectItemCaseSensitive(obj, "ttl_ms") != NULL;
	return *has ? get_u64(obj, "ttl_ms", ttl, rep) : 0;
}

static int decode_error(const cJSON *obj, struct smm_reply *rep)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "error");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "message");
	enum smm_err err;

	if (!cJSON_IsString(code))
		return bad(rep, "missing string", "error");
	err = smm_err_from_name(code->valuestring);
	if (err == SMM_ERR_COUNT || err == SMM_ERR_NONE)
		return bad(rep, "unknown error code", code->valuestring);
	smm_reply_fail(rep, err, cJSON_IsString(msg) ? msg->valuestring : NULL);
	return 0;
}

static int decode_blocks(const cJSON *arr, struct smm_reply *rep)
{
	const cJSON *b;
	size_t i = 0, n;

	if (!cJSON_IsArray(arr))
		return bad(rep, "missing array", "blocks");
	n = (size_t)cJSON_GetArraySize(arr);
	rep->has_blocks = true;
	if (n == 0)
		return 0;
	rep->blocks = calloc(n, sizeof *rep->blocks);
	if (!rep->blocks)
		return bad(rep, "out of memory for", "blocks");
	cJSON_ArrayForEach(b, arr) {
		struct smm_block_info *bi = &rep->blocks[i];
		const cJSON *scope = cJSON_GetObjectItemCaseSensitive(b, "scope");
		if (get_u64(b, "addr", &bi->addr, rep) < 0 || get_u64(b, "size", &bi->size, rep) < 0 ||
		    get_i64(b, "id", &bi->id, rep) < 0 || get_ttl(b, &bi->ttl_ms, &bi->has_ttl, rep) < 0)
			return -1;
		bi->conn_scope = cJSON_IsString(scope) && strcmp(scope->valuestring, "connection") == 0;
		rep->nblocks = ++i;
	}
	return 0;
}

static int decode_dump(const cJSON *obj, struct smm_reply *rep)
{
	const cJSON *mem = cJSON_GetObjectItemCaseSensitive(obj, "memory");
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(obj, "blocks");
	size_t n;

	if (get_u64(obj, "size", &rep->memory_size, rep) < 0 ||
	    get_u64(obj, "offset", &rep->offset, rep) < 0 ||
	    get_u64(obj, "length", &rep->length, rep) < 0)
		return -1;
	if (!cJSON_IsString(mem))
		return bad(rep, "missing string", "memory");
	n = strlen(mem->valuestring);
	if (n != rep->length)
		return bad(rep, "length does not match", "memory");
	rep->memory = malloc(n + 1);
	if (!rep->memory)
		return bad(rep, "out of memory for", "memory");
	memcpy(rep->memory, mem->valuestring, n + 1);
	rep->truncated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "truncated"));
	return blocks ? decode_blocks(blocks, rep) : 0;
}

static int decode_stats(const cJSON *obj, struct smm_reply *rep, char *policy)
{
	static const struct { const char *name; size_t off; } fields[] = {
#define F(x) { #x, offsetof(struct smm_stats, x) },
		SMM_STATS_FIELDS(F)
#undef F
	};
	const cJSON *pol = cJSON_GetObjectItemCaseSensitive(obj, "policy");

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (get_u64(obj, fields[i].name, (uint64_t *)((char *)&rep->stats + fields[i].off),
			    rep) < 0)
			return -1;
	if (!cJSON_IsString(pol) || strlen(pol->valuestring) >= SMM_DECODE_POLICY_MAX)
		return bad(rep, "missing string", "policy");
	strcpy(policy, pol->valuestring);
	rep->stats.policy = policy;
	return 0;
}

/* get_cells reads the map's array name into field (0 used, 1 unfilled,
 * 2 owner) of rep->cells[0..rep->ncells). */
static int get_cells(const cJSON *obj, const char *name, int field, struct smm_reply *rep)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name);
	const cJSON *v;
	size_t i = 0;

	if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != rep->ncells)
		return bad(rep, "missing array of cells", name);
	cJSON_ArrayForEach(v, arr) {
		struct smm_cell *c = &rep->cells[i++];
		if (!cJSON_IsNumber(v) || v->valuedouble < (field == 2 ? -1 : 0) ||
		    v->valuedouble > (double)SMM_PROTO_MAX_INT)
			return bad(rep, "bad number in", name);
		if (field == 2)
			c->owner = (int64_t)v->valuedouble;
		else
			*(field ? &c->unfilled : &c->used) = (uint64_t)v->valuedouble;
	}
	return 0;
}

static int decode_map(const cJSON *obj, struct smm_reply *rep)
{
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(obj, "blocks");
	uint64_t n;

	if (get_u64(obj, "size", &rep->memory_size, rep) < 0 ||
	    get_u64(obj, "offset", &rep->offset, rep) < 0 ||
	    get_u64(obj, "length", &rep->length, rep) < 0 || get_u64(obj, "cells", &n, rep) < 0)
		return -1;
	if (n > SMM_PROTO_MAX_CELLS)
		return bad(rep, "too many", "cells");
	rep->ncells = (size_t)n;
	rep->cells = calloc(n ? n : 1, sizeof *rep->cells);
	if (!rep->cells)
		return bad(rep, "out of memory for", "cells");
	rep->truncated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "blocks_truncated"));
	if (get_cells(obj, "used", 0, rep) < 0 || get_cells(obj, "unfilled", 1, rep) < 0 ||
	    get_cells(obj, "owner", 2, rep) < 0)
		return -1;
	return blocks ? decode_blocks(blocks, rep) : 0;
}

static int decode_ok(enum smm_op op, const cJSON *obj, struct smm_reply *rep, char *policy)
{
	const cJSON *key;

	switch (op) {
	case SMM_OP_MALLOC:
		key = cJSON_GetObjectItemCaseSensitive(obj, "key");
		if (get_u64(obj, "addr", &rep->addr, rep) < 0 ||
		    get_u64(obj, "size", &rep->size, rep) < 0 || get_i64(obj, "id", &rep->id, rep) < 0)
			return -1;
		if (!cJSON_IsString(key) ||
		    smm_key_parse(key->valuestring, strlen(key->valuestring), &rep->key) < 0)
			return bad(rep, "missing key", "key");
		return get_ttl(obj, &rep->ttl_ms, &rep->has_ttl, rep);
	case SMM_OP_RENEW:
		if (get_ttl(obj, &rep->ttl_ms, &rep->has_ttl, rep) < 0)
			return -1;
		if (!rep->has_ttl)
			return bad(rep, "missing number", "ttl_ms");
		__attribute__((fallthrough)); /* and addr, size as fill and free */
	case SMM_OP_FILL:
	case SMM_OP_FREE:
		if (get_u64(obj, "addr", &rep->addr, rep) < 0)
			return -1;
		return get_u64(obj, "size", &rep->size, rep);
	case SMM_OP_DUMP:
		return decode_dump(obj, rep);
	case SMM_OP_MAP:
		return decode_map(obj, rep);
	case SMM_OP_STATS:
		return decode_stats(obj, rep, policy);
	case SMM_OP_RESET:
		return get_u64(obj, "freed", &rep->freed, rep);
	default:
		return 0;
	}
}

int smm_decode_reply(enum smm_op op, const char *line, size_t len, struct smm_reply *rep,
		     char policy[SMM_DECODE_POLICY_MAX])
{
	cJSON *obj;
	const cJSON *ok;
	int rc;

	smm_reply_clear(rep);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	obj = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(obj)) {
		rc = bad(rep, "not a JSON object", NULL);
		goto out;
	}
	ok = cJSON_GetObjectItemCaseSensitive(obj, "ok");
	if (!cJSON_IsBool(ok))
		rc = bad(rep, "missing boolean", "ok");
	else if (cJSON_IsTrue(ok))
		rc = decode_ok(op, obj, rep, policy);
	else
		rc = decode_error(obj, rep);
out:
	cJSON_Delete(obj);
	return rc;
}
