/* request.c — parse and validate request lines; format them for clients.
 *
 * A line is pre-scanned (NUL bytes, UTF-8, nesting depth) before cJSON sees
 * it, so the parser never recurses past SMM_PROTO_MAX_DEPTH and never sees
 * bytes JSON forbids. */
#include "request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Fields we read. A known field given twice is an error: which copy wins
 * would otherwise depend on the parser. Unknown fields are ignored. */
static const char *const known_fields[] = {
	"op", "id", "size", "addr", "key", "char", "offset", "length",
	"blocks", "token", "tag", "ttl_ms", "scope",
};

/* utf8_len returns the length of the valid UTF-8 sequence at s[0..n), or
 * 0 when it is not one (overlong forms and surrogates are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* prescan checks what cJSON does not: no NUL, valid UTF-8, bounded depth. */
static int prescan(const char *line, size_t len, struct smm_reply *err)
{
	const unsigned char *s = (const unsigned char *)line;
	int depth = 0, in_string = 0;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(s + i, len - i);
		if (s[i] == 0)
			return smm_reply_fail(err, SMM_ERR_BAD_JSON, "NUL byte in request");
		if (n == 0)
			return smm_reply_fail(err, SMM_ERR_BAD_JSON, "invalid UTF-8 in request");
		if (in_string) {
			/* An escaped NUL would cut the decoded string short. */
			if (s[i] == '\\' && len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
				return smm_reply_fail(err, SMM_ERR_BAD_JSON, "NUL byte in request");
			if (s[i] == '\\')
				n = i + 1 < len ? 2 : 1;
			else if (s[i] == '"')
				in_string = 0;
		} else if (s[i] == '"') {
			in_string = 1;
		} else if (s[i] == '{' || s[i] == '[') {
			if (++depth > SMM_PROTO_MAX_DEPTH)
				return smm_reply_fail(err, SMM_ERR_BAD_JSON, "JSON nested too deeply");
		} else if (s[i] == '}' || s[i] == ']') {
			depth--;
		}
		i += n;
	}
	return 0;
}

static int check_duplicates(const cJSON *obj, struct smm_reply *err)
{
	unsigned seen = 0;

	for (const cJSON *c = obj->child; c; c = c->next) {
		for (unsigned i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++) {
			if (strcmp(c->string, known_fields[i]) != 0)
				continue;
			if (seen & 1u << i) {
				char msg[64];
				snprintf(msg, sizeof msg, "duplicate field \"%s\"", known_fields[i]);
				return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, msg);
			}
			seen |= 1u << i;
		}
	}
	return 0;
}

/* has_field says whether obj has field name, spelt exactly: cJSON's
 * HasObjectItem ignores case, which the readers below do not. */
static int has_field(const cJSON *obj, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(obj, name) != NULL;
}

/* get_uint reads integer field name into *out. A missing optional field
 * leaves *out alone. The value must be integral and within [min, max]. */
static int get_uint(const cJSON *obj, const char *name, uint64_t min, uint64_t max,
		    int required, uint64_t *out, struct smm_reply *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	char msg[SMM_PROTO_MAX_MESSAGE];
	double d;

	if (!v) {
		if (!required)
			return 0;
		snprintf(msg, sizeof msg, "missing field \"%s\"", name);
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, msg);
	}
	d = v->valuedouble;
	if (!cJSON_IsNumber(v) || !isfinite(d) || d != floor(d) ||
	    d < (double)min || d > (double)max) {
		snprintf(msg, sizeof msg, "\"%s\" must be an integer from %llu to %llu",
			 name, (unsigned long long)min, (unsigned long long)max);
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, msg);
	}
	*out = (uint64_t)d;
	return 0;
}

static int get_key(const cJSON *obj, uint64_t *key, struct smm_reply *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "key");

	if (!v)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "missing field \"key\"");
	if (!cJSON_IsString(v) || smm_key_parse(v->valuestring, strlen(v->valuestring), key) < 0)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "\"key\" must be a string of 16 hex digits");
	return 0;
}

static int get_char(const cJSON *obj, char *out, struct smm_reply *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "char");
	const char *s;

	if (!v)
		return 0;
	s = cJSON_IsString(v) ? v->valuestring : NULL;
	if (!s || strlen(s) != 1 || s[0] < 0x21 || s[0] > 0x7e)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "\"char\" must be one printable ASCII character other than space");
	*out = s[0];
	return 0;
}

static int get_token(const cJSON *obj, struct smm_request *req, struct smm_reply *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "token");
	size_t n;

	if (!v)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "missing field \"token\"");
	if (!cJSON_IsString(v))
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "\"token\" must be a string");
	n = strlen(v->valuestring);
	if (n > SMM_PROTO_MAX_TOKEN)
		return smm_reply_fail(err, SMM_ERR_FORBIDDEN, NULL);
	memcpy(req->token, v->valuestring, n + 1);
	req->token_len = n;
	return 0;
}

static int get_dump(const cJSON *obj, struct smm_request *req, struct smm_reply *err)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(obj, "blocks");

	if (get_uint(obj, "offset", 0, SMM_PROTO_MAX_INT, 0, &req->offset, err) < 0)
		return -1;
	req->has_length = has_field(obj, "length");
	if (get_uint(obj, "length", 0, SMM_PROTO_MAX_INT, 0, &req->length, err) < 0)
		return -1;
	if (b && !cJSON_IsBool(b))
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "\"blocks\" must be true or false");
	req->blocks = cJSON_IsTrue(b);
	return 0;
}

/* Every op a request may name, in PROTOCOL.md's order. */
static const struct { const char *name; enum smm_op op; } ops[] = {
	{ "ping", SMM_OP_PING }, { "malloc", SMM_OP_MALLOC },
	{ "my_malloc", SMM_OP_MALLOC }, { "fill", SMM_OP_FILL },
	{ "free", SMM_OP_FREE }, { "dump", SMM_OP_DUMP },
	{ "stats", SMM_OP_STATS }, { "reset", SMM_OP_RESET },
	{ "renew", SMM_OP_RENEW }, { "map", SMM_OP_MAP }, { "compact", SMM_OP_COMPACT },
};

/* Longest op name echoed back in an unknown_op message; longer ones are cut. */
#define ECHO_OP_MAX 24

/* unknown_op names what came and lists what would have worked, so a typo
 * is fixed from the reply alone. */
static int unknown_op(const char *name, struct smm_reply *err)
{
	char msg[SMM_PROTO_MAX_MESSAGE];
	size_t n = (size_t)snprintf(msg, sizeof msg, "unknown op \"%.*s\"; valid ops:",
				    ECHO_OP_MAX, name);

	for (size_t i = 0; i < sizeof ops / sizeof ops[0] && n < sizeof msg; i++)
		n += (size_t)snprintf(msg + n, sizeof msg - n, "%s %s", i ? "," : "", ops[i].name);
	return smm_reply_fail(err, SMM_ERR_UNKNOWN_OP, msg);
}

static int get_op(const cJSON *obj, enum smm_op *op, bool *my_malloc, struct smm_reply *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "op");

	if (!v)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "missing field \"op\"");
	if (!cJSON_IsString(v))
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "\"op\" must be a string");
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(v->valuestring, ops[i].name) == 0) {
			*op = ops[i].op;
			*my_malloc = strcmp(v->valuestring, "my_malloc") == 0;
			return 0;
		}
	}
	return unknown_op(v->valuestring, err);
}

/* get_ttl reads "ttl_ms": from min (1 for malloc, 0 for renew: no lease)
 * to SMM_PROTO_MAX_TTL. */
static int get_ttl(const cJSON *obj, uint64_t min, int required, struct smm_request *req,
		   struct smm_reply *err)
{
	req->has_ttl = has_field(obj, "ttl_ms");
	return get_uint(obj, "ttl_ms", min, SMM_PROTO_MAX_TTL, required, &req->ttl_ms, err);
}

static int get_scope(const cJSON *obj, struct smm_request *req, struct smm_reply *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "scope");

	if (!v)
		return 0;
	if (!cJSON_IsString(v) ||
	    (strcmp(v->valuestring, "connection") && strcmp(v->valuestring, "server")))
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "\"scope\" must be \"connection\" or \"server\"");
	req->conn_scope = strcmp(v->valuestring, "connection") == 0;
	return 0;
}

static int get_malloc(const cJSON *obj, struct smm_request *req, struct smm_reply *err)
{
	uint64_t id = 0;

	if (get_uint(obj, "id", 0, SMM_PROTO_MAX_ID, 0, &id, err) < 0)
		return -1;
	req->id = (int64_t)id;
	if (get_uint(obj, "size", 1, SMM_PROTO_MAX_INT, 1, &req->size, err) < 0 ||
	    get_ttl(obj, 1, 0, req, err) < 0)
		return -1;
	return get_scope(obj, req, err);
}

/* get_free reads a free by key, or by the admin token (the operator's
 * free) when "token" is given instead. */
static int get_free(const cJSON *obj, struct smm_request *req, struct smm_reply *err)
{
	int has_key = has_field(obj, "key");

	if (get_uint(obj, "addr", 0, SMM_PROTO_MAX_INT, 1, &req->addr, err) < 0)
		return -1;
	if (!has_field(obj, "token"))
		return get_key(obj, &req->key, err);
	if (has_key)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "give \"key\" or \"token\", not both");
	req->has_token = true;
	return get_token(obj, req, err);
}

static int get_fields(const cJSON *obj, struct smm_request *req, struct smm_reply *err)
{
	switch (req->op) {
	case SMM_OP_MALLOC:
		return get_malloc(obj, req, err);
	case SMM_OP_FILL:
		if (get_char(obj, &req->fill_char, err) < 0)
			return -1;
		__attribute__((fallthrough)); /* fill, free and renew all name a block */
	case SMM_OP_RENEW:
		if (get_uint(obj, "addr", 0, SMM_PROTO_MAX_INT, 1, &req->addr, err) < 0 ||
		    get_key(obj, &req->key, err) < 0)
			return -1;
		return req->op == SMM_OP_RENEW ? get_ttl(obj, 0, 1, req, err) : 0;
	case SMM_OP_FREE:
		return get_free(obj, req, err);
	case SMM_OP_DUMP:
		return get_dump(obj, req, err);
	case SMM_OP_MAP:
		/* A map names its window as a dump does, and how finely to cut it. */
		if (get_dump(obj, req, err) < 0)
			return -1;
		return get_uint(obj, "cells", 1, SMM_PROTO_MAX_CELLS, 1, &req->cells, err);
	case SMM_OP_RESET:
	case SMM_OP_COMPACT:
		return get_token(obj, req, err);
	default:
		return 0;
	}
}

static int get_tag(const cJSON *obj, struct smm_request *req, struct smm_reply *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "tag");

	if (!v)
		return 0;
	req->tag = cJSON_PrintUnformatted(v);
	if (!req->tag)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "tag could not be stored");
	if (strlen(req->tag) > SMM_PROTO_MAX_TAG) {
		cJSON_free(req->tag);
		req->tag = NULL;
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "tag longer than 1024 bytes");
	}
	return 0;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

int smm_request_parse(const char *line, size_t len, struct smm_request *req,
		      struct smm_reply *err)
{
	const char *end = NULL;
	cJSON *obj;
	int rc = -1;

	memset(req, 0, sizeof *req);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (prescan(line, len, err) < 0)
		return -1;
	obj = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (!obj || !end || !is_blank(end, (size_t)(line + len - end))) {
		smm_reply_fail(err, SMM_ERR_BAD_JSON, "request is not valid JSON");
		goto out;
	}
	if (!cJSON_IsObject(obj)) {
		smm_reply_fail(err, SMM_ERR_BAD_JSON, "request is not a JSON object");
		goto out;
	}
	if (get_tag(obj, req, err) < 0 || check_duplicates(obj, err) < 0 ||
	    get_op(obj, &req->op, &req->my_malloc, err) < 0 || get_fields(obj, req, err) < 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(obj);
	if (rc < 0) {
		/* As the contract says: after an error only the tag is kept. */
		char *tag = req->tag;
		memset(req, 0, sizeof *req);
		req->tag = tag;
	}
	return rc;
}

void smm_request_format(const struct smm_request *req, struct smm_buf *out)
{
	char key[SMM_PROTO_KEY_HEX + 1];

	smm_buf_addf(out, "{\"op\":\"%s\"",
		     req->op == SMM_OP_MALLOC && req->my_malloc ? "my_malloc" : smm_op_name(req->op));
	switch (req->op) {
	case SMM_OP_MALLOC:
		smm_buf_addf(out, ",\"id\":%lld,\"size\":%llu", (long long)req->id,
			     (unsigned long long)req->size);
		if (req->conn_scope)
			smm_buf_adds(out, ",\"scope\":\"connection\"");
		break;
	case SMM_OP_FREE:
		if (req->has_token) {
			smm_buf_addf(out, ",\"addr\":%llu,\"token\":", (unsigned long long)req->addr);
			smm_buf_add_json_string(out, req->token, req->token_len);
			break;
		}
		__attribute__((fallthrough)); /* by key, as fill and renew */
	case SMM_OP_FILL:
	case SMM_OP_RENEW:
		smm_key_format(req->key, key);
		smm_buf_addf(out, ",\"addr\":%llu,\"key\":\"%s\"",
			     (unsigned long long)req->addr, key);
		if (req->op == SMM_OP_FILL && req->fill_char) {
			smm_buf_adds(out, ",\"char\":");
			smm_buf_add_json_string(out, &req->fill_char, 1);
		}
		break;
	case SMM_OP_DUMP:
	case SMM_OP_MAP:
		smm_buf_addf(out, ",\"offset\":%llu", (unsigned long long)req->offset);
		if (req->has_length)
			smm_buf_addf(out, ",\"length\":%llu", (unsigned long long)req->length);
		if (req->blocks)
			smm_buf_adds(out, ",\"blocks\":true");
		if (req->op == SMM_OP_MAP)
			smm_buf_addf(out, ",\"cells\":%llu", (unsigned long long)req->cells);
		break;
	case SMM_OP_RESET:
	case SMM_OP_COMPACT:
		smm_buf_adds(out, ",\"token\":");
		smm_buf_add_json_string(out, req->token, req->token_len);
		break;
	default:
		break;
	}
	if (req->has_ttl && (req->op == SMM_OP_MALLOC || req->op == SMM_OP_RENEW))
		smm_buf_addf(out, ",\"ttl_ms\":%llu", (unsigned long long)req->ttl_ms);
	if (req->tag) {
		smm_buf_adds(out, ",\"tag\":");
		smm_buf_adds(out, req->tag);
	}
	smm_buf_adds(out, "}\n");
}
