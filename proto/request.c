/* request.c — parse and validate request lines; format them for clients.
 *
 * Every request the server reads goes through smm_request_parse, so it is
 * a scanner written for the request's shape instead of a general JSON
 * parser (issue 12: cJSON built a tree through malloc for each line and
 * cost 250-660 ns of the event loop's time per request). One pass over the
 * line checks that it is one RFC 8259 JSON object and notes where the
 * value of each member we know lies; the readers below then decode only
 * those values. Other members, and "tag", which may be any value, are
 * checked and skipped. Nesting is counted in a bit stack, not recursed, so
 * no line can drive the scanner deep; nothing is allocated. Numbers are
 * read exactly from their digits: no strtod, no locale.
 *
 * Inside a tag's value the scanner takes raw control bytes as the old
 * cJSON parser did (as white space, or as string bytes), so that get_tag
 * refuses them with its own message; anywhere else they are bad JSON.
 * When a line is not JSON, the old pre-scan runs on it (error path only),
 * so the reply names NUL bytes, bad UTF-8, short \u escapes and deep
 * nesting as before. */
#include "request.h"

#include <stdio.h>
#include <string.h>

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

/* What a JSON value is; K_NONE marks a field the line did not give. */
enum kind { K_NONE, K_STRING, K_NUMBER, K_TRUE, K_FALSE, K_NULL, K_OBJECT, K_ARRAY };

/* One member's value as the scanner found it: its raw bytes in the line
 * (a string's with its quotes). */
struct val {
	const char *p;
	size_t n;
	enum kind kind;
	bool esc; /* a string holding a backslash: decode before reading */
};

/* The request object's known fields, found in the one pass. Only seen
 * needs zeroing before it: the values are written as they are found. */
struct fields {
	uint32_t seen;         /* bit f: field f was given */
	struct val v[F_COUNT]; /* first member of that name */
	const char *duplicate; /* first known name met twice, or NULL */
};

/* field returns the value given for field k (kind K_NONE if none). */
static const struct val *field(const struct fields *f, enum field k)
{
	static const struct val none = { .kind = K_NONE };

	return f->seen & 1u << k ? &f->v[k] : &none;
}

/* The scanner's position in the line. */
struct scan {
	const unsigned char *s;
	size_t i, n;
	bool lax; /* in a tag's value: control bytes are taken as cJSON took them */
	bool esc; /* the last string scanned held a backslash */
};

/* Why a line was refused before its fields were read. */
enum shape { NOT_JSON = -1, NOT_OBJECT = -2 };

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

/* hex4 returns the value of the four hex digits at s[0..n), or -1 when
 * s does not start with four. */
static long hex4(const unsigned char *s, size_t n)
{
	long v = 0;

	if (n < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		unsigned char c = s[k], l = c | 0x20;
		if (c >= '0' && c <= '9')
			v = v << 4 | (c - '0');
		else if (l >= 'a' && l <= 'f')
			v = v << 4 | (l - 'a' + 10);
		else
			return -1;
	}
	return v;
}

/* prescan was the check that ran before cJSON: no NUL, valid UTF-8,
 * bounded depth. It now runs only on a line the scanner refused, to tell
 * which of these (if any) is why, in the words the replies always used. */
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
			if (s[i] == '\\' && len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
				return smm_reply_fail(err, SMM_ERR_BAD_JSON, "NUL byte in request");
			if (s[i] == '\\' && i + 1 < len && s[i + 1] == 'u' && hex4(s + i + 2, len - i - 2) < 0)
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

static int peek(const struct scan *sc)
{
	return sc->i < sc->n ? sc->s[sc->i] : -1;
}

/* skip_ws skips JSON white space; in a tag, every control byte but NUL. */
static void skip_ws(struct scan *sc)
{
	for (; sc->i < sc->n; sc->i++) {
		unsigned char c = sc->s[sc->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && !(sc->lax && c && c < ' '))
			return;
	}
}

/* scan_escape checks the escape at s[i] (a backslash) and moves past it.
 * A \u escape must not be NUL (it would cut the decoded string short) and
 * a surrogate must come as a pair, high then low. */
static int scan_escape(struct scan *sc)
{
	const unsigned char *s = sc->s;
	long cp, low;

	if (sc->i + 1 >= sc->n || s[sc->i + 1] == 0)
		return -1;
	if (s[sc->i + 1] != 'u') {
		sc->i += 2;
		return strchr("\"\\/bfnrt", s[sc->i - 1]) ? 0 : -1;
	}
	cp = hex4(s + sc->i + 2, sc->n - sc->i - 2);
	sc->i += 6;
	if (cp <= 0 || (cp >= 0xdc00 && cp <= 0xdfff))
		return -1;
	if (cp < 0xd800 || cp > 0xdbff)
		return 0;
	if (sc->i + 1 >= sc->n || s[sc->i] != '\\' || s[sc->i + 1] != 'u')
		return -1;
	low = hex4(s + sc->i + 2, sc->n - sc->i - 2);
	sc->i += 6;
	return low >= 0xdc00 && low <= 0xdfff ? 0 : -1;
}

/* scan_string checks the string literal at s[i] and moves past it. */
static int scan_string(struct scan *sc)
{
	sc->esc = false;
	for (sc->i++; sc->i < sc->n;) {
		unsigned char c = sc->s[sc->i];
		size_t k;
		if (c == '"') {
			sc->i++;
			return 0;
		}
		if (c == '\\') {
			sc->esc = true;
			if (scan_escape(sc) < 0)
				return -1;
			continue;
		}
		if (c < ' ' && (c == 0 || !sc->lax))
			return -1;
		k = c < 0x80 ? 1 : utf8_len(sc->s + sc->i, sc->n - sc->i);
		if (k == 0)
			return -1;
		sc->i += k;
	}
	return -1;
}

/* digits skips decimal digits and returns how many there were. */
static size_t digits(struct scan *sc)
{
	size_t from = sc->i;

	while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
		sc->i++;
	return sc->i - from;
}

/* scan_number checks RFC 8259's number grammar: no leading zeros, no
 * bare ".", no "+" in front (cJSON took all three). */
static int scan_number(struct scan *sc)
{
	if (peek(sc) == '-')
		sc->i++;
	if (peek(sc) == '0')
		sc->i++;
	else if (digits(sc) == 0)
		return -1;
	if (peek(sc) == '.') {
		sc->i++;
		if (digits(sc) == 0)
			return -1;
	}
	if (peek(sc) == 'e' || peek(sc) == 'E') {
		sc->i++;
		if (peek(sc) == '+' || peek(sc) == '-')
			sc->i++;
		if (digits(sc) == 0)
			return -1;
	}
	return 0;
}

static int scan_word(struct scan *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->n - sc->i < n || memcmp(sc->s + sc->i, word, n) != 0)
		return -1;
	sc->i += n;
	return 0;
}

static enum kind kind_of(int c)
{
	switch (c) {
	case '"': return K_STRING;
	case 't': return K_TRUE;
	case 'f': return K_FALSE;
	case 'n': return K_NULL;
	case '{': return K_OBJECT;
	case '[': return K_ARRAY;
	default: return K_NUMBER;
	}
}

/* scan_scalar checks the string, number or literal at s[i]; 0 or -1. */
static int scan_scalar(struct scan *sc)
{
	switch (kind_of(peek(sc))) {
	case K_STRING: return scan_string(sc);
	case K_TRUE: return scan_word(sc, "true");
	case K_FALSE: return scan_word(sc, "false");
	case K_NULL: return scan_word(sc, "null");
	default: return scan_number(sc);
	}
}

/* scan_colon moves past the ":" after a member's name, to its value. */
static int scan_colon(struct scan *sc)
{
	skip_ws(sc);
	if (peek(sc) != ':')
		return -1;
	sc->i++;
	skip_ws(sc);
	return 0;
}

/* scan_name checks a member's name and the ":" after it. */
static int scan_name(struct scan *sc)
{
	if (peek(sc) != '"' || scan_string(sc) < 0)
		return -1;
	return scan_colon(sc);
}

/* The containers open around the value scan_value is in: bit k of
 * objects says whether level k from the innermost is an object. */
struct nest {
	uint64_t objects;
	int level, depth; /* depth: levels open around the whole value */
};

/* open_container enters the object or array at s[i]. Returns 1 when a
 * value follows inside it, 0 when it was empty (a whole value), -1. */
static int open_container(struct scan *sc, struct nest *st)
{
	bool obj = peek(sc) == '{';

	if (st->depth + st->level >= SMM_PROTO_MAX_DEPTH)
		return -1;
	st->objects = st->objects << 1 | obj;
	st->level++;
	sc->i++;
	skip_ws(sc);
	if (peek(sc) == (obj ? '}' : ']')) {
		sc->i++;
		st->level--;
		st->objects >>= 1;
		return 0;
	}
	return obj && scan_name(sc) < 0 ? -1 : 1;
}

/* after_value moves past what follows a whole value: the containers it
 * closes, then a "," (and the next member's name). Returns 1 when another
 * value follows, 0 when the outermost value is done, -1. */
static int after_value(struct scan *sc, struct nest *st)
{
	while (st->level > 0) {
		bool obj = st->objects & 1;
		skip_ws(sc);
		if (peek(sc) == ',') {
			sc->i++;
			skip_ws(sc);
			return obj && scan_name(sc) < 0 ? -1 : 1;
		}
		if (peek(sc) != (obj ? '}' : ']'))
			return -1;
		sc->i++;
		st->level--;
		st->objects >>= 1;
	}
	return 0;
}

/* scan_value checks the value at s[i], containers and all, and moves
 * past it. depth containers are open around it. */
static int scan_value(struct scan *sc, int depth)
{
	struct nest st = { 0, 0, depth };

	for (;;) {
		int c = peek(sc);
		int r = c == '{' || c == '[' ? open_container(sc, &st) : scan_scalar(sc);
		if (r == 0)
			r = after_value(sc, &st);
		if (r <= 0)
			return r;
	}
}

/* hex_char returns the UTF-8 bytes of code point cp in out; their count. */
static size_t utf8_put(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* unescape decodes the escape at *s (one the scanner checked) into out,
 * moves *s past it and returns the bytes written. */
static size_t unescape(const unsigned char **s, char out[4])
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const unsigned char *p = *s;
	uint32_t cp;

	if (p[1] != 'u') {
		*s = p + 2;
		out[0] = to[strchr(from, p[1]) - from];
		return 1;
	}
	cp = (uint32_t)hex4(p + 2, 4);
	*s = p + 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)hex4(p + 8, 4) - 0xdc00);
		*s = p + 12;
	}
	return utf8_put(cp, out);
}

/* decode copies the text of string value v, quotes off and escapes
 * decoded, to out[0..cap). Returns its whole decoded length, which may
 * exceed cap: out then holds its first cap bytes. */
static size_t decode(const struct val *v, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)v->p + 1, *end = s + v->n - 2;
	size_t len = 0;

	if (!v->esc) {
		len = v->n - 2;
		memcpy(out, s, len < cap ? len : cap);
		return len;
	}
	while (s < end) {
		char c[4];
		size_t k = 1;
		if (*s == '\\')
			k = unescape(&s, c);
		else
			c[0] = (char)*s++;
		for (size_t j = 0; j < k; j++, len++)
			if (len < cap)
				out[len] = c[j];
	}
	return len;
}

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
static int scan_member(struct scan *sc, struct fields *f)
{
	struct val name = { .p = (const char *)sc->s + sc->i, .kind = K_STRING };
	char buf[NAME_MAX_LEN];
	size_t start, len;
	enum field k;

	if (peek(sc) != '"' || scan_string(sc) < 0)
		return -1;
	name.esc = sc->esc;
	name.n = (size_t)((const char *)sc->s + sc->i - name.p);
	if (scan_colon(sc) < 0)
		return -1;
	if (name.esc) {
		len = decode(&name, buf, sizeof buf);
		k = len <= sizeof buf ? field_of(buf, len) : F_COUNT;
	} else {
		k = field_of(name.p + 1, name.n - 2);
	}
	start = sc->i;
	sc->lax = (k == F_TAG);
	if (scan_value(sc, 1) < 0)
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
	f->v[k] = (struct val){ (const char *)sc->s + start, sc->i - start,
				kind_of(sc->s[start]), sc->esc };
	return 0;
}

/* scan_object checks the request object at s[i] and finds its fields. */
static int scan_object(struct scan *sc, struct fields *f)
{
	sc->i++;
	skip_ws(sc);
	if (peek(sc) == '}') {
		sc->i++;
		return 0;
	}
	for (;;) {
		if (scan_member(sc, f) < 0)
			return -1;
		skip_ws(sc);
		if (peek(sc) == '}') {
			sc->i++;
			return 0;
		}
		if (peek(sc) != ',')
			return -1;
		sc->i++;
		skip_ws(sc);
	}
}

/* scan_line checks that line[0..len) is one JSON object (after an
 * optional byte order mark, with white space around) and finds its
 * fields. Returns 0, NOT_OBJECT for JSON that is no object, or NOT_JSON. */
static int scan_line(const char *line, size_t len, struct fields *f)
{
	struct scan sc = { .s = (const unsigned char *)line, .n = len };
	int shape = 0;

	/* As before: a mark is skipped when a value could follow it. */
	if (len >= 5 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		sc.i = 3;
	skip_ws(&sc);
	if (peek(&sc) == '{') {
		if (scan_object(&sc, f) < 0)
			return NOT_JSON;
	} else {
		if (scan_value(&sc, 0) < 0)
			return NOT_JSON;
		shape = NOT_OBJECT;
	}
	skip_ws(&sc);
	return sc.i == sc.n ? shape : NOT_JSON;
}

/* refuse_line answers a line scan_line refused: what the pre-scan finds,
 * else whether it was JSON at all. */
static int refuse_line(const char *line, size_t len, int shape, struct smm_reply *err)
{
	if (prescan(line, len, err) < 0)
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

static uint64_t digit_at(const char *ip, size_t il, const char *fp, size_t fl, size_t j)
{
	if (j < il)
		return (uint64_t)(ip[j] - '0');
	return j < il + fl ? (uint64_t)(fp[j - il] - '0') : 0;
}

/* exponent reads the digits of an exponent (sign first, if any) from
 * s[0..end), saturating far beyond any exponent that matters. */
static long long exponent(const char *s, const char *end)
{
	long long e = 0;
	bool neg = (*s == '-');

	for (s += (*s == '-' || *s == '+'); s < end; s++)
		if (e < 1000000000)
			e = e * 10 + (*s - '0');
	return neg ? -e : e;
}

/* number_uint reads the JSON number s[0..n) (one the scanner checked)
 * exactly. Returns 0 and its value when it is a whole number from 0 up
 * (-0, 16.0 and 1.6e1 included; values past SMM_PROTO_MAX_INT come out
 * as some larger value), or -1 when it has a fraction or is negative. */
static int number_uint(const char *s, size_t n, uint64_t *out)
{
	size_t at = (*s == '-'), il = 0, fl = 0, j;
	const char *ip = s + at, *fp;
	long long point;
	uint64_t v = 0;

	while (at + il < n && ip[il] >= '0' && ip[il] <= '9')
		il++;
	at += il;
	fp = s + at;
	if (at < n && s[at] == '.') {
		fp++;
		while (at + 1 + fl < n && fp[fl] >= '0' && fp[fl] <= '9')
			fl++;
		at += 1 + fl;
	}
	/* The value is 0.DIGITS times 10^point, DIGITS = integer part then fraction. */
	point = (long long)il + (at < n ? exponent(s + at + 1, s + n) : 0);
	for (j = point > 0 ? (size_t)point : 0; j < il + fl; j++)
		if (digit_at(ip, il, fp, fl, j) != 0)
			return -1;
	for (j = 0; (long long)j < point && v <= SMM_PROTO_MAX_INT; j++) {
		if (j >= il + fl && v == 0)
			break; /* only zeros remain: "0e999999999" */
		v = v * 10 + digit_at(ip, il, fp, fl, j);
	}
	if (*s == '-' && v != 0)
		return -1;
	*out = v;
	return 0;
}

/* get_uint reads integer field k into *out. A missing optional field
 * leaves *out alone. The value must be integral and within [min, max]. */
static int get_uint(const struct fields *f, enum field k, uint64_t min, uint64_t max,
		    int required, uint64_t *out, struct smm_reply *err)
{
	const char *name = known_fields[k].name;
	const struct val *v = field(f, k);
	char msg[SMM_PROTO_MAX_MESSAGE];
	uint64_t x = 0;

	if (v->kind == K_NONE) {
		if (!required)
			return 0;
		snprintf(msg, sizeof msg, "missing field \"%s\"", name);
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, msg);
	}
	if (v->kind != K_NUMBER || number_uint(v->p, v->n, &x) < 0 || x < min || x > max) {
		snprintf(msg, sizeof msg, "\"%s\" must be an integer from %llu to %llu",
			 name, (unsigned long long)min, (unsigned long long)max);
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, msg);
	}
	*out = x;
	return 0;
}

static int get_key(const struct fields *f, uint64_t *key, struct smm_reply *err)
{
	const struct val *v = field(f, F_KEY);
	char s[SMM_PROTO_KEY_HEX];

	if (v->kind == K_NONE)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "missing field \"key\"");
	if (v->kind != K_STRING || decode(v, s, sizeof s) != sizeof s ||
	    smm_key_parse(s, sizeof s, key) < 0)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "\"key\" must be a string of 16 hex digits");
	return 0;
}

static int get_char(const struct fields *f, char *out, struct smm_reply *err)
{
	const struct val *v = field(f, F_CHAR);
	char c = 0;

	if (v->kind == K_NONE)
		return 0;
	if (v->kind != K_STRING || decode(v, &c, 1) != 1 || c < 0x21 || c > 0x7e)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST,
				      "\"char\" must be one printable ASCII character other than space");
	*out = c;
	return 0;
}

static int get_token(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	const struct val *v = field(f, F_TOKEN);
	size_t n;

	if (v->kind == K_NONE)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "missing field \"token\"");
	if (v->kind != K_STRING)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "\"token\" must be a string");
	n = decode(v, req->token, SMM_PROTO_MAX_TOKEN);
	if (n > SMM_PROTO_MAX_TOKEN)
		return smm_reply_fail(err, SMM_ERR_FORBIDDEN, NULL);
	req->token[n] = '\0';
	req->token_len = n;
	return 0;
}

static int get_dump(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	enum kind b = field(f, F_BLOCKS)->kind;

	if (get_uint(f, F_OFFSET, 0, SMM_PROTO_MAX_INT, 0, &req->offset, err) < 0)
		return -1;
	req->has_length = (field(f, F_LENGTH)->kind != K_NONE);
	if (get_uint(f, F_LENGTH, 0, SMM_PROTO_MAX_INT, 0, &req->length, err) < 0)
		return -1;
	if (b != K_NONE && b != K_TRUE && b != K_FALSE)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "\"blocks\" must be true or false");
	req->blocks = (b == K_TRUE);
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
	const struct val *v = field(f, F_OP);
	char name[ECHO_OP_MAX];
	size_t len;

	if (v->kind == K_NONE)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "missing field \"op\"");
	if (v->kind != K_STRING)
		return smm_reply_fail(err, SMM_ERR_BAD_REQUEST, "\"op\" must be a string");
	len = decode(v, name, sizeof name);
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
	req->has_ttl = (field(f, F_TTL)->kind != K_NONE);
	return get_uint(f, F_TTL, min, SMM_PROTO_MAX_TTL, required, &req->ttl_ms, err);
}

static int get_scope(const struct fields *f, struct smm_request *req, struct smm_reply *err)
{
	const struct val *v = field(f, F_SCOPE);
	char s[sizeof "connection"];
	size_t n;

	if (v->kind == K_NONE)
		return 0;
	n = v->kind == K_STRING ? decode(v, s, sizeof s) : 0;
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
	if (field(f, F_TOKEN)->kind == K_NONE)
		return get_key(f, &req->key, err);
	if (field(f, F_KEY)->kind != K_NONE)
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
	const struct val *v = field(f, F_TAG);

	if (v->kind == K_NONE)
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
