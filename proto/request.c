/* request.c — parse and validate request lines; format them for clients.
 *
 * Every request the server reads goes through smm_request_parse, so it
 * scans for the request's shape instead of building a general JSON tree
 * (issue 12: cJSON built one through malloc for each line and cost
 * 250-660 ns of the event loop's time per request). One pass over the
 * line (json.h does the JSON) checks that it is one RFC 8259 object and
 * notes where the value of each member we know lies; the readers below
 * then decode only those values. Other members, and "tag", which may be
 * any value, are checked and skipped. Nothing is allocated.
 *
 * Inside a tag's value the scan takes raw control bytes as the old cJSON
 * parser did (as white space, or as string bytes), so that get_tag refuses
 * them with its own message; anywhere else they are bad JSON. When a line
 * is not JSON, the old pre-scan runs on it (error path only), so the reply
 * names NUL bytes, bad UTF-8, short \u escapes and deep nesting as before. */
#include "request.h"

#include <stdio.h>
#include <string.h>

#include "json.h"

/* Fields we read, in the order of enum field. A known field given twice is
 * an error: which copy wins would otherwise depend on the parser. Unknown
 * fields are ignored. */
#define FIELD(name) { name, sizeof name - 1 }
static const struct { const char *name; size_t len; } known_fields[] = {
	FIELD("op"), FIELD("id"), FIELD("size"), FIELD("addr"), FIELD("key"), FIELD("char"),
	FIELD("offset"), FIELD("length"), FIELD("blocks"), FIELD("token"), FIELD("tag"),
	FIELD("ttl_ms"), FIELD("scope"), FIELD("cells"),
};
#undef FIELD

enum field {
	F_OP, F_ID, F_SIZE, F_ADDR, F_KEY, F_CHAR, F_OFFSET, F_LENGTH,
	F_BLOCKS, F_TOKEN, F_TAG, F_TTL, F_SCOPE, F_CELLS, F_COUNT
};

/* The request object's known fields, found in the one pass. Only seen
 * needs zeroing before it: the values are written as they are found. */
struct fields {
	uint32_t seen;                  /* bit f: field f was given */
	struct smm_json_val v[F_COUNT]; /* first member of that name */
	const char *duplicate;          /* first known name met twice, or NULL */
};

/* field returns the value given for field k (kind SMM_JSON_NONE if none). */
static const struct smm_json_val *field(const struct fields *f, enum field k)
{
	static const struct smm_json_val none = { .kind = SMM_JSON_NONE };

	return f->seen & 1u << k ? &f->v[k] : &none;
}

/* Why a line was refused before its fields were read. */
enum shape { NOT_JSON = -1, NOT_OBJECT = -2 };

/* same says whether a[0..n) and b[0..n) are equal: names are a few bytes,
 * shorter than a call to memcmp. */
static bool same(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* field_of returns the field named name[0..len), or F_COUNT for an
 * unknown one. The first letter picks at most three candidates. */
static enum field field_of(const char *name, size_t len)
{
	static const enum field by_letter[][3] = {
		['a' - 'a'] = { F_ADDR, F_COUNT, F_COUNT }, ['b' - 'a'] = { F_BLOCKS, F_COUNT, F_COUNT },
		['c' - 'a'] = { F_CHAR, F_CELLS, F_COUNT }, ['i' - 'a'] = { F_ID, F_COUNT, F_COUNT },
		['k' - 'a'] = { F_KEY, F_COUNT, F_COUNT },  ['l' - 'a'] = { F_LENGTH, F_COUNT, F_COUNT },
		['o' - 'a'] = { F_OP, F_OFFSET, F_COUNT },  ['s' - 'a'] = { F_SIZE, F_SCOPE, F_COUNT },
		['t' - 'a'] = { F_TOKEN, F_TAG, F_TTL },
	};
	unsigned first = len ? (unsigned)(unsigned char)name[0] - 'a' : ~0u;

	if (first >= sizeof by_letter / sizeof by_letter[0])
		return F_COUNT;
	for (int i = 0; i < 3; i++) {
		enum field f = by_letter[first][i];
		/* Unset letters are all zero (F_OP): the compare rules them out. */
		if (f != F_COUNT && known_fields[f].len == len && same(name, known_fields[f].name, len))
			return f;
	}
	return F_COUNT;
}

/* Longest known field name, so a longer one is unknown unread. */
#define NAME_MAX_LEN 6

/* scan_member checks one member of the request object and notes its
 * value in f if it is a known field (the first time only). */
static int scan_member(struct smm_json_scan *sc, struct fields *f)
{
	struct smm_json_val name = { .p = (const char *)sc->s + sc->i, .kind = SMM_JSON_STRING };
	char buf[NAME_MAX_LEN];
	size_t start, len;
	enum field k;

	if (smm_json_peek(sc) != '"' || smm_json_string(sc) < 0)
		return -1;
	name.esc = sc->esc;
	name.n = (size_t)((const char *)sc->s + sc->i - name.p);
	if (smm_json_colon(sc) < 0)
		return -1;
	if (name.esc) {
		len = smm_json_decode(&name, buf, sizeof buf);
		k = len <= sizeof buf ? field_of(buf, len) : F_COUNT;
	} else {
		k = field_of(name.p + 1, name.n - 2);
	}
	start = sc->i;
	sc->lax = (k == F_TAG);
	if (smm_json_value(sc, 1) < 0)
		return -1;
	sc->lax = false;
	if (k == F_COUNT)
		return 0;
	if (f->seen & 1u << k) {
		if (!f->duplicate)
			f->duplicate = known_fields[k].name;
		return 0;
	}
	f->seen |= 1u << k;
	f->v[k] = (struct smm_json_val){ (const char *)sc->s + start, sc->i - start,
					 smm_json_kind_of(sc->s[start]), sc->esc };
	return 0;
}

/* scan_object checks the request object at s[i] and finds its fields. */
static int scan_object(struct smm_json_scan *sc, struct fields *f)
{
	sc->i++;
	smm_json_skip_ws(sc);
	if (smm_json_peek(sc) == '}') {
		sc->i++;
		return 0;
	}
	for (;;) {
		if (scan_member(sc, f) < 0)
			return -1;
		smm_json_skip_ws(sc);
		if (smm_json_peek(sc) == '}') {
			sc->i++;
			return 0;
		}
		if (smm_json_peek(sc) != ',')
			return -1;
		sc->i++;
		smm_json_skip_ws(sc);
	}
}

/* scan_line checks that line[0..len) is one JSON object (after an
 * optional byte order mark, with white space around) and finds its
 * fields. Returns 0, NOT_OBJECT for JSON that is no object, or NOT_JSON. */
static int scan_line(const char *line, size_t len, struct fields *f)
{
	struct smm_json_scan sc = { .s = (const unsigned char *)line, .n = len };
	int shape = 0;

	/* As before: a mark is skipped when a value could follow it. */
	if (len >= 5 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		sc.i = 3;
	smm_json_skip_ws(&sc);
	if (smm_json_peek(&sc) == '{') {
		if (scan_object(&sc, f) < 0)
			return NOT_JSON;
	} else {
		if (smm_json_value(&sc, 0) < 0)
			return NOT_JSON;
		shape = NOT_OBJECT;
	}
	smm_json_skip_ws(&sc);
	return sc.i == sc.n ? shape : NOT_JSON;
}

/* refuse_line answers a line scan_line refused: what the pre-scan finds,
 * else whether it was JSON at all. */
static int refuse_line(const char *line, size_t len, int shape, struct smm_reply *err)
{
	if (smm_json_prescan(line, len, err) < 0)
		return -1;
	return smm_reply_fail(err, SMM_ERR_BAD_JSON, shape == NOT_OBJECT ?
			      "request is not a JSON object" : "request is not valid JSON");
}

static int check_duplicates(const struct fields *f, struct smm_reply *err)
{
	char msg[64];

	if (!f->duplicate)
		return 0;
	snprintf(msg, sizeof msg, "duplicate field \"%s\"", f->duplicate);
	return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, msg);
}

/* get_uint reads integer field k into *out. A missing optional field
 * leaves *out alone. The value must be integral and within [min, max]. */
static int get_uint(const struct fields *f, enum field k, uint64_t min, uint64_t max,
		    int required, uint64_t *out, struct smm_reply *err)
{
	const char *name = known_fields[k].name;
	const struct smm_json_val *v = field(f, k);
	char msg[SMM_PROTO_MAX_MESSAGE];
	uint64_t x = 0;

	if (v->kind == SMM_JSON_NONE) {
		if (!required)
			return 0;
		snprintf(msg, sizeof msg, "missing field \"%s\"", name);
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, msg);
	}
	if (v->kind != SMM_JSON_NUMBER || smm_json_uint(v->p, v->n, &x) < 0 || x < min || x > max) {
		snprintf(msg, sizeof msg, "\"%s\" must be an integer from %llu to %llu",
			 name, (unsigned long long)min, (unsigned long long)max);
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, msg);
	}
	*out = x;
	return 0;
}

static int get_key(const struct fields *f, uint64_t *key, struct smm_reply *err)
{
	const struct smm_json_val *v = field(f, F_KEY);
	char s[SMM_PROTO_KEY_HEX];

	if (v->kind == SMM_JSON_NONE)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "missing field \"key\"");
	if (v->kind != SMM_JSON_STRING || smm_json_decode(v, s, sizeof s) != sizeof s ||
	    smm_key_parse(s, sizeof s, key) < 0)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "\"key\" must be a string of 16 hex digits");
	return 0;
}

static int get_char(const struct fields *f, char *out, struct smm_reply *err)
{
	const struct smm_json_val *v = field(f, F_CHAR);
	char c = 0;

	if (v->kind == SMM_JSON_NONE)
		return 0;
	if (v->kind != SMM_JSON_STRING || smm_json_decode(v, &c, 1) != 1 || c < 0x21 || c > 0x7e)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "\"char\" must be one printable ASCII character other than space");
	*out = c;
	return 0;
}

static int get_token(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	const struct smm_json_val *v = field(f, F_TOKEN);
	size_t n;

	if (v->kind == SMM_JSON_NONE)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "missing field \"token\"");
	if (v->kind != SMM_JSON_STRING)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "\"token\" must be a string");
	n = smm_json_decode(v, req->token, SMM_PROTO_MAX_TOKEN);
	if (n > SMM_PROTO_MAX_TOKEN)
		return smm_reply_fail(err, SMM_ERR_FORBIDDEN, NULL);
	req->token[n] = '\0';
	req->token_len = n;
	return 0;
}

static int get_dump(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	enum smm_json_kind b = field(f, F_BLOCKS)->kind;

	if (get_uint(f, F_OFFSET, 0, SMM_PROTO_MAX_INT, 0, &req->offset, err) < 0)
		return -1;
	req->has_length = (field(f, F_LENGTH)->kind != SMM_JSON_NONE);
	if (get_uint(f, F_LENGTH, 0, SMM_PROTO_MAX_INT, 0, &req->length, err) < 0)
		return -1;
	if (b != SMM_JSON_NONE && b != SMM_JSON_TRUE && b != SMM_JSON_FALSE)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "\"blocks\" must be true or false");
	req->blocks = (b == SMM_JSON_TRUE);
	return 0;
}

/* Every op a request may name, in PROTOCOL.md's order. */
#define OP(name, op) { name, sizeof name - 1, op }
static const struct { const char *name; size_t len; enum smm_op op; } ops[] = {
	OP("ping", SMM_OP_PING), OP("malloc", SMM_OP_MALLOC),
	OP("my_malloc", SMM_OP_MALLOC), OP("fill", SMM_OP_FILL),
	OP("free", SMM_OP_FREE), OP("dump", SMM_OP_DUMP),
	OP("stats", SMM_OP_STATS), OP("reset", SMM_OP_RESET),
	OP("renew", SMM_OP_RENEW), OP("map", SMM_OP_MAP), OP("compact", SMM_OP_COMPACT),
};
#undef OP

/* Longest op name echoed back in an unknown_op message; longer ones are cut. */
#define ECHO_OP_MAX 24

/* unknown_op names what came (name[0..len), cut to ECHO_OP_MAX bytes)
 * and lists what would have worked, so a typo is fixed from the reply. */
static int unknown_op(const char *name, size_t len, struct smm_reply *err)
{
	char msg[SMM_PROTO_MAX_MESSAGE];
	size_t n = (size_t)snprintf(msg, sizeof msg, "unknown op \"%.*s\"; valid ops:",
				    (int)(len < ECHO_OP_MAX ? len : ECHO_OP_MAX), name);

	for (size_t i = 0; i < sizeof ops / sizeof ops[0] && n < sizeof msg; i++)
		n += (size_t)snprintf(msg + n, sizeof msg - n, "%s %s", i ? "," : "", ops[i].name);
	return smm_reply_fail(err, SMM_ERR_UNKNOWN_OP, msg);
}

static int get_op(const struct fields *f, enum smm_op *op, bool *my_malloc, struct smm_reply *err)
{
	const struct smm_json_val *v = field(f, F_OP);
	char name[ECHO_OP_MAX];
	size_t len;

	if (v->kind == SMM_JSON_NONE)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "missing field \"op\"");
	if (v->kind != SMM_JSON_STRING)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "\"op\" must be a string");
	len = smm_json_decode(v, name, sizeof name);
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (ops[i].len == len && same(name, ops[i].name, len)) {
			*op = ops[i].op;
			*my_malloc = (len == 9); /* "my_malloc", the only op of nine letters */
			return 0;
		}
	}
	return unknown_op(name, len, err);
}

/* get_ttl reads "ttl_ms": from min (1 for malloc, 0 for renew: no lease)
 * to SMM_PROTO_MAX_TTL. */
static int get_ttl(const struct fields *f, uint64_t min, int required, struct smm_request *req,
		   struct smm_reply *err)
{
	req->has_ttl = (field(f, F_TTL)->kind != SMM_JSON_NONE);
	return get_uint(f, F_TTL, min, SMM_PROTO_MAX_TTL, required, &req->ttl_ms, err);
}

static int get_scope(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	const struct smm_json_val *v = field(f, F_SCOPE);
	char s[sizeof "connection"];
	size_t n;

	if (v->kind == SMM_JSON_NONE)
		return 0;
	n = v->kind == SMM_JSON_STRING ? smm_json_decode(v, s, sizeof s) : 0;
	req->conn_scope = (n == 10 && memcmp(s, "connection", 10) == 0);
	if (!req->conn_scope && !(n == 6 && memcmp(s, "server", 6) == 0))
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "\"scope\" must be \"connection\" or \"server\"");
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
	if (get_uint(f, F_ADDR, 0, SMM_PROTO_MAX_INT, 1, &req->addr, err) < 0)
		return -1;
	if (field(f, F_TOKEN)->kind == SMM_JSON_NONE)
		return get_key(f, &req->key, err);
	if (field(f, F_KEY)->kind != SMM_JSON_NONE)
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

/* has_control says whether s[0..n) holds a control byte that a strict
 * JSON reader of the reply would refuse: any inside a string, and any
 * but tab and CR between tokens (a raw LF would also end the reply line). */
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
static int get_tag(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	const struct smm_json_val *v = field(f, F_TAG);

	if (v->kind == SMM_JSON_NONE)
		return 0;
	if (v->n > SMM_PROTO_MAX_TAG)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "tag longer than 1024 bytes");
	if (has_control(v->p, v->n))
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "tag holds a raw control character; escape it");
	req->tag = v->p;
	req->tag_len = v->n;
	return 0;
}

int smm_request_parse(const char *line, size_t len, struct smm_request *req,
		      struct smm_reply *err)
{
	struct fields f;
	int shape;

	memset(req, 0, sizeof *req);
	f.seen = 0;
	f.duplicate = NULL;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	shape = scan_line(line, len, &f);
	if (shape < 0)
		return refuse_line(line, len, shape, err);
	if (get_tag(&f, req, err) < 0 || check_duplicates(&f, err) < 0 ||
	    get_op(&f, &req->op, &req->my_malloc, err) < 0 || get_fields(&f, req, err) < 0) {
		/* As the contract says: after an error only the tag is kept. */
		const char *tag = req->tag;
		size_t tag_len = req->tag_len;
		memset(req, 0, sizeof *req);
		req->tag = tag;
		req->tag_len = tag_len;
		return -1;
	}
	return 0;
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
