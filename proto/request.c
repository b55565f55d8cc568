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

/* Fields we read, in the order of enum field. A known field given twice is
 * an error: which copy wins would otherwise depend on the parser. Unknown
 * fields are ignored. */
static const char *const known_fields[] = {
	"op", "id", "size", "addr", "key", "char", "offset", "length",
	"blocks", "token", "tag", "ttl_ms", "scope", "cells",
};

enum field {
	F_OP, F_ID, F_SIZE, F_ADDR, F_KEY, F_CHAR, F_OFFSET, F_LENGTH,
	F_BLOCKS, F_TOKEN, F_TAG, F_TTL, F_SCOPE, F_CELLS, F_COUNT
};

/* The request object's known fields, found in one pass over its members,
 * so each reader below looks its field up without comparing names. */
struct fields {
	const cJSON *v[F_COUNT]; /* first member of that name, or NULL */
	const char *duplicate;   /* first known name met twice, or NULL */
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

/* hex4 says whether s[0..n) starts with four hex digits. */
static int hex4(const unsigned char *s, size_t n)
{
	if (n < 4)
		return 0;
	for (int k = 0; k < 4; k++)
		if (!((s[k] >= '0' && s[k] <= '9') || ((s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'f')))
			return 0;
	return 1;
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
			/* An escaped NUL would cut the decoded string short; so would
			 * a \u without four hex digits, which cJSON decodes as NUL. */
			if (s[i] == '\\' && len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
				return smm_reply_fail(err, SMM_ERR_BAD_JSON, "NUL byte in request");
			if (s[i] == '\\' && i + 1 < len && s[i + 1] == 'u' && !hex4(s + i + 2, len - i - 2))
				return smm_reply_fail(err, SMM_ERR_BAD_JSON,
						      "\\u must be followed by four hex digits");
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

/* field_of returns the field named name, or F_COUNT for an unknown one.
 * The first letter picks at most three candidates to compare. */
static enum field field_of(const char *name)
{
	static const enum field by_letter[][3] = {
		['a' - 'a'] = { F_ADDR, F_COUNT, F_COUNT }, ['b' - 'a'] = { F_BLOCKS, F_COUNT, F_COUNT },
		['c' - 'a'] = { F_CHAR, F_CELLS, F_COUNT }, ['i' - 'a'] = { F_ID, F_COUNT, F_COUNT },
		['k' - 'a'] = { F_KEY, F_COUNT, F_COUNT },  ['l' - 'a'] = { F_LENGTH, F_COUNT, F_COUNT },
		['o' - 'a'] = { F_OP, F_OFFSET, F_COUNT },  ['s' - 'a'] = { F_SIZE, F_SCOPE, F_COUNT },
		['t' - 'a'] = { F_TOKEN, F_TAG, F_TTL },
	};
	unsigned first = (unsigned char)name[0] - 'a';

	if (first >= sizeof by_letter / sizeof by_letter[0])
		return F_COUNT;
	for (int i = 0; i < 3; i++) {
		enum field f = by_letter[first][i];
		/* Unset letters are all zero (F_OP): the strcmp rules them out. */
		if (f != F_COUNT && strcmp(name, known_fields[f]) == 0)
			return f;
	}
	return F_COUNT;
}

static void find_fields(const cJSON *obj, struct fields *f)
{
	memset(f, 0, sizeof *f);
	for (const cJSON *c = obj->child; c; c = c->next) {
		enum field i = field_of(c->string);
		if (i == F_COUNT)
			continue;
		if (f->v[i] && !f->duplicate)
			f->duplicate = known_fields[i];
		if (!f->v[i])
			f->v[i] = c;
	}
}

static int check_duplicates(const struct fields *f, struct smm_reply *err)
{
	char msg[64];

	if (!f->duplicate)
		return 0;
	snprintf(msg, sizeof msg, "duplicate field \"%s\"", f->duplicate);
	return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, msg);
}

/* get_uint reads integer field field into *out. A missing optional field
 * leaves *out alone. The value must be integral and within [min, max]. */
static int get_uint(const struct fields *f, enum field field, uint64_t min, uint64_t max,
		    int required, uint64_t *out, struct smm_reply *err)
{
	const char *name = known_fields[field];
	const cJSON *v = f->v[field];
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

static int get_key(const struct fields *f, uint64_t *key, struct smm_reply *err)
{
	const cJSON *v = f->v[F_KEY];

	if (!v)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "missing field \"key\"");
	if (!cJSON_IsString(v) || smm_key_parse(v->valuestring, strlen(v->valuestring), key) < 0)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "\"key\" must be a string of 16 hex digits");
	return 0;
}

static int get_char(const struct fields *f, char *out, struct smm_reply *err)
{
	const cJSON *v = f->v[F_CHAR];
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

static int get_token(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	const cJSON *v = f->v[F_TOKEN];
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

static int get_dump(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	const cJSON *b = f->v[F_BLOCKS];

	if (get_uint(f, F_OFFSET, 0, SMM_PROTO_MAX_INT, 0, &req->offset, err) < 0)
		return -1;
	req->has_length = (f->v[F_LENGTH] != NULL);
	if (get_uint(f, F_LENGTH, 0, SMM_PROTO_MAX_INT, 0, &req->length, err) < 0)
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

static int get_op(const struct fields *f, enum smm_op *op, bool *my_malloc, struct smm_reply *err)
{
	const cJSON *v = f->v[F_OP];

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
static int get_ttl(const struct fields *f, uint64_t min, int required, struct smm_request *req,
		   struct smm_reply *err)
{
	req->has_ttl = (f->v[F_TTL] != NULL);
	return get_uint(f, F_TTL, min, SMM_PROTO_MAX_TTL, required, &req->ttl_ms, err);
}

static int get_scope(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	const cJSON *v = f->v[F_SCOPE];

	if (!v)
		return 0;
	if (!cJSON_IsString(v) ||
	    (strcmp(v->valuestring, "connection") && strcmp(v->valuestring, "server")))
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "\"scope\" must be \"connection\" or \"server\"");
	req->conn_scope = strcmp(v->valuestring, "connection") == 0;
	return 0;
}

static int get_malloc(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	uint64_t id = 0;

	if (get_uint(f, F_ID, 0, SMM_PROTO_MAX_ID, 0, &id, err) < 0)
		return -1;
	req->id = (int64_t)id;
	if (get_uint(f, F_SIZE, 1, SMM_PROTO_MAX_INT, 1, &req->size, err) < 0 ||
	    get_ttl(f, 1, 0, req, err) < 0)
		return -1;
	return get_scope(f, req, err);
}

/* get_free reads a free by key, or by the admin token (the operator's
 * free) when "token" is given instead. */
static int get_free(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	int has_key = (f->v[F_KEY] != NULL);

	if (get_uint(f, F_ADDR, 0, SMM_PROTO_MAX_INT, 1, &req->addr, err) < 0)
		return -1;
	if (!(f->v[F_TOKEN] != NULL))
		return get_key(f, &req->key, err);
	if (has_key)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "give \"key\" or \"token\", not both");
	req->has_token = true;
	return get_token(f, req, err);
}

static int get_fields(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	switch (req->op) {
	case SMM_OP_MALLOC:
		return get_malloc(f, req, err);
	case SMM_OP_FILL:
		if (get_char(f, &req->fill_char, err) < 0)
			return -1;
		__attribute__((fallthrough)); /* fill, free and renew all name a block */
	case SMM_OP_RENEW:
		if (get_uint(f, F_ADDR, 0, SMM_PROTO_MAX_INT, 1, &req->addr, err) < 0 ||
		    get_key(f, &req->key, err) < 0)
			return -1;
		return req->op == SMM_OP_RENEW ? get_ttl(f, 0, 1, req, err) : 0;
	case SMM_OP_FREE:
		return get_free(f, req, err);
	case SMM_OP_DUMP:
		return get_dump(f, req, err);
	case SMM_OP_MAP:
		/* A map names its window as a dump does, and how finely to cut it. */
		if (get_dump(f, req, err) < 0)
			return -1;
		return get_uint(f, F_CELLS, 1, SMM_PROTO_MAX_CELLS, 1, &req->cells, err);
	case SMM_OP_RESET:
	case SMM_OP_COMPACT:
		return get_token(f, req, err);
	default:
		return 0;
	}
}

/* What follows finds the tag's raw bytes in a line cJSON has accepted, so
 * the skips need not validate; they only need to agree with cJSON on where
 * values end. cJSON takes every byte up to ' ' for white space. */
static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (unsigned char)s[i] <= ' ')
		i++;
	return i;
}

/* skip_string returns the index just past the string literal at s[i]. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
	for (i++; i < n && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i + 1;
}

static int ends_scalar(char c)
{
	return (unsigned char)c <= ' ' || c == ',' || c == '}' || c == ']';
}

/* skip_value returns the index just past the value that starts at s[i]. */
static size_t skip_value(const char *s, size_t i, size_t n)
{
	int depth = 0;

	if (s[i] != '"' && s[i] != '{' && s[i] != '[') {
		while (i < n && !ends_scalar(s[i]))
			i++;
		return i;
	}
	do {
		if (s[i] == '"') {
			i = skip_string(s, i, n);
			continue;
		}
		if (s[i] == '{' || s[i] == '[')
			depth++;
		else if (s[i] == '}' || s[i] == ']')
			depth--;
		i++;
	} while (depth > 0 && i < n);
	return i;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* unescape returns the byte the escape at s[*i] ('\\') stands for, or -1
 * for a \u escape outside ASCII, and moves *i to its last byte. */
static int unescape(const char *s, size_t *i)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *p = strchr(from, s[*i + 1]);
	int cp = 0;

	if (s[*i + 1] != 'u') {
		*i += 1;
		return p ? to[p - from] : -1;
	}
	for (int k = 2; k < 6; k++) {
		int d = hex_digit(s[*i + (size_t)k]);
		if (d < 0) { /* prescan refuses these; stay defined anyway */
			*i += 1;
			return -1;
		}
		cp = cp << 4 | d;
	}
	*i += 5;
	return cp < 0x80 ? cp : -1;
}

/* key_is says whether the string literal s[i..end) decodes to name. */
static int key_is(const char *s, size_t i, size_t end, const char *name)
{
	size_t k = 0;

	for (i++; i + 1 < end; i++, k++) {
		int c = (unsigned char)s[i];
		if (c == '\\')
			c = unescape(s, &i);
		if (name[k] == '\0' || c != (unsigned char)name[k])
			return 0;
	}
	return name[k] == '\0';
}

/* find_member sets *at and *len to the raw bytes of the first value named
 * name in the object that line[0..n) holds. Returns 0, or -1 if none. */
static int find_member(const char *line, size_t n, const char *name, size_t *at, size_t *len)
{
	size_t i = 0, key;

	if (n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* cJSON skips a byte order mark */
	i = skip_ws(line, i, n) + 1; /* past '{' */
	for (;;) {
		i = skip_ws(line, i, n);
		if (i >= n || line[i] != '"')
			return -1;
		key = i;
		i = skip_string(line, i, n);
		i = skip_ws(line, skip_ws(line, i, n) + 1, n); /* past ':' */
		*at = i;
		i = skip_value(line, i, n);
		if (key_is(line, key, skip_string(line, key, n), name)) {
			*len = i - *at;
			return 0;
		}
		i = skip_ws(line, i, n) + 1; /* past ',' */
	}
}

/* has_control says whether s[0..n) holds a control byte that a strict
 * JSON reader of the reply would refuse: any inside a string, and any
 * but tab and CR between tokens (cJSON takes them all for space). */
static int has_control(const char *s, size_t n)
{
	int in_string = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < ' ' && (in_string || (c != '\t' && c != '\r')))
			return 1;
		if (in_string && c == '\\')
			i++;
		else if (c == '"')
			in_string = !in_string;
	}
	return 0;
}

/* get_tag keeps the tag as the bytes that came, so it is echoed verbatim
 * (a number too long for a double included) and costs no allocation. */
static int get_tag(const struct fields *f, const char *line, size_t len, struct smm_request *req,
		   struct smm_reply *err)
{
	size_t at, n;

	if (!f->v[F_TAG])
		return 0;
	if (find_member(line, len, "tag", &at, &n) < 0)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "tag could not be stored");
	if (n > SMM_PROTO_MAX_TAG)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "tag longer than 1024 bytes");
	if (has_control(line + at, n))
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "tag holds a raw control character; escape it");
	req->tag = line + at;
	req->tag_len = n;
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
	struct fields f;
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
	find_fields(obj, &f);
	if (get_tag(&f, line, len, req, err) < 0 || check_duplicates(&f, err) < 0 ||
	    get_op(&f, &req->op, &req->my_malloc, err) < 0 || get_fields(&f, req, err) < 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(obj);
	if (rc < 0) {
		/* As the contract says: after an error only the tag is kept. */
		const char *tag = req->tag;
		size_t tag_len = req->tag_len;
		memset(req, 0, sizeof *req);
		req->tag = tag;
		req->tag_len = tag_len;
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
		smm_buf_add(out, req->tag, req->tag_len);
	}
	smm_buf_adds(out, "}\n");
}
