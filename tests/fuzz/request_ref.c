/* request_ref.c — THE PRE-SCANNER REFERENCE: smm_request_parse as it was
 * before issue 12 replaced cJSON on the server's request path by a scanner
 * (proto/request.c). Kept verbatim but for its name, only so that
 * fuzz_request and test_request can compare the scanner with it on every
 * input (and the parse benchmark time it); nothing else may link it.
 * Where the two may differ (the scanner follows RFC 8259 where cJSON is
 * laxer, and reads numbers exactly) is spelt out in request_ref.h.
 *
 * A line is pre-scanned (NUL bytes, UTF-8, nesting depth) before cJSON sees
 * it, so the parser never recurses past SMM_PROTO_MAX_DEPTH and never sees
 * bytes JSON forbids. */
#include "request_ref.h"

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

int smm_request_ref_parse(const char *line, size_t len, struct smm_request *req,
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

/* Below: the differential check of the scanner against this reference. */

#include <stdlib.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* skip_digits returns the index past the digits at s[i..n). */
static size_t skip_digits(const char *s, size_t i, size_t n)
{
	while (i < n && is_digit(s[i]))
		i++;
	return i;
}

/* rfc_number says whether s[0..n) is a number as RFC 8259's grammar
 * writes it: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static int rfc_number(const char *s, size_t n)
{
	size_t i = (n > 0 && s[0] == '-'), j;

	if (i < n && s[i] == '0')
		i++;
	else if ((j = skip_digits(s, i, n)) > i)
		i = j;
	else
		return 0;
	if (i < n && s[i] == '.') {
		if ((j = skip_digits(s, i + 1, n)) == i + 1)
			return 0;
		i = j;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i += 1 + (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-'));
		if ((j = skip_digits(s, i, n)) == i)
			return 0;
		i = j;
	}
	return i == n;
}

/* exact_integer says whether the RFC 8259 number s[0..n) is an integer as
 * written: no non-zero digit lies right of the point once the exponent
 * has moved it. */
static int exact_integer(const char *s, size_t n)
{
	size_t i = (s[0] == '-'), nd = 0, point = (size_t)-1;
	long long e = 0, last = -1;

	for (; i < n && (is_digit(s[i]) || s[i] == '.'); i++) {
		if (s[i] == '.') {
			point = nd;
			continue;
		}
		if (s[i] != '0')
			last = (long long)nd;
		nd++;
	}
	if (point == (size_t)-1)
		point = nd;
	if (i < n)
		e = strtoll(s + i + 1, NULL, 10);
	if (e > 1000000000 || e < -1000000000) /* far enough, and no overflow below */
		e = e > 0 ? 1000000000 : -1000000000;
	return last < (long long)point + e;
}

/* Number tokens of a line, as cJSON took them: a run of number bytes
 * outside strings that starts with '-' or a digit. visit gets each. */
typedef int (*number_fn)(const char *s, size_t n);

static int any_number(const char *line, size_t len, number_fn visit)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char c = line[i];
		size_t j = i;
		if (in_string && c == '\\') {
			i++;
			continue;
		}
		if (c == '"')
			in_string = !in_string;
		if (in_string || !(c == '-' || is_digit(c)))
			continue;
		while (j < len && (is_digit(line[j]) || strchr("+-.eE", line[j])) && line[j])
			j++;
		if (visit(line + i, j - i))
			return 1;
		i = j - 1;
	}
	return 0;
}

static int not_rfc_number(const char *s, size_t n)
{
	return !rfc_number(s, n);
}

/* inexact_integer: an RFC number that is no integer as written but whose
 * double (cJSON's reading) is one. */
static int inexact_integer(const char *s, size_t n)
{
	char *copy;
	double d;

	if (!rfc_number(s, n) || exact_integer(s, n))
		return 0;
	copy = strndup(s, n);
	if (!copy)
		abort();
	d = strtod(copy, NULL);
	free(copy);
	return isfinite(d) && d == floor(d);
}

/* raw_control: a byte below 0x20 that RFC 8259 does not allow where it is
 * (inside a string, or between tokens unless tab, LF or CR), outside the
 * tag's value [tag, tag + tag_len), where the reference checks them itself. */
static int raw_control(const char *line, size_t len, const char *tag, size_t tag_len)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		int in_tag = tag && line + i >= tag && line + i < tag + tag_len;
		if (c < 0x20 && !in_tag && (in_string || !strchr("\t\n\r", c)))
			return 1;
		if (in_string && c == '\\')
			i++;
		else if (c == '"')
			in_string = !in_string;
	}
	return 0;
}

static int same_request(const struct smm_request *a, const struct smm_request *b)
{
	return a->op == b->op && a->id == b->id && a->my_malloc == b->my_malloc &&
	       a->size == b->size && a->addr == b->addr && a->key == b->key &&
	       a->ttl_ms == b->ttl_ms && a->has_ttl == b->has_ttl &&
	       a->conn_scope == b->conn_scope && a->has_token == b->has_token &&
	       a->fill_char == b->fill_char && a->offset == b->offset &&
	       a->length == b->length && a->has_length == b->has_length &&
	       a->blocks == b->blocks && a->cells == b->cells &&
	       a->token_len == b->token_len &&
	       memcmp(a->token, b->token, sizeof a->token) == 0 && a->tag == b->tag &&
	       a->tag_len == b->tag_len && a->conn == b->conn;
}

static int not_json(int rc, const struct smm_reply *e)
{
	return rc < 0 && e->err == SMM_ERR_BAD_JSON &&
	       strcmp(e->message, "request is not valid JSON") == 0;
}

const char *smm_request_ref_diff(const char *line, size_t len)
{
	struct smm_request ref, new;
	struct smm_reply eref = { 0 }, enew = { 0 };
	int rref = smm_request_ref_parse(line, len, &ref, &eref);
	int rnew = smm_request_parse(line, len, &new, &enew);

	if (rref == rnew && same_request(&ref, &new) &&
	    (rref == 0 || (eref.err == enew.err && strcmp(eref.message, enew.message) == 0)))
		return NULL;
	/* 1: RFC 8259 refuses what cJSON took. */
	if (not_json(rnew, &enew) && (any_number(line, len, not_rfc_number) ||
				      raw_control(line, len, ref.tag, ref.tag_len)))
		return NULL;
	/* 2: a fraction that only a double's rounding made whole. */
	if (rnew < 0 && enew.err == SMM_ERR_BAD_REQUEST && strstr(enew.message, "must be an integer") &&
	    any_number(line, len, inexact_integer))
		return NULL;
	if (rref != rnew)
		return rref == 0 ? "the reference accepts, the scanner refuses" :
				   "the scanner accepts, the reference refuses";
	if (rref < 0 && eref.err != enew.err)
		return "different error codes";
	if (rref < 0 && strcmp(eref.message, enew.message) != 0)
		return "different error messages";
	return "different requests";
}
