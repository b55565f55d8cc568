/* json.c — JSON checked in place: the scanner under smm_request_parse.
 *
 * It exists because cJSON, on the request path, built a tree through
 * malloc for every line (issue 12). Here a value is checked in one pass
 * and only located: containers are tracked in a bit stack instead of by
 * recursion, so depth costs nothing and cannot overflow; strings are
 * decoded, and numbers read, only when a caller asks for a field it needs.
 * Numbers are read from their digits (no strtod, no locale), so a number
 * is an integer exactly when its digits say so. */
#include "json.h"

#include <string.h>

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

int smm_json_prescan(const char *line, size_t len, struct smm_reply *err)
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

void smm_json_skip_ws(struct smm_json_scan *sc)
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
static int scan_escape(struct smm_json_scan *sc)
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
	if (cp <= 0 || (cp >= 0xdc00 && cp <= 0xdfff))
		return -1;
	sc->i += 6;
	if (cp < 0xd800 || cp > 0xdbff)
		return 0;
	if (sc->i + 1 >= sc->n || s[sc->i] != '\\' || s[sc->i + 1] != 'u')
		return -1;
	low = hex4(s + sc->i + 2, sc->n - sc->i - 2);
	if (low < 0xdc00 || low > 0xdfff)
		return -1;
	sc->i += 6;
	return 0;
}

int smm_json_string(struct smm_json_scan *sc)
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
static size_t digits(struct smm_json_scan *sc)
{
	size_t from = sc->i;

	while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
		sc->i++;
	return sc->i - from;
}

/* scan_number checks RFC 8259's number grammar: no leading zeros ("01"),
 * a digit on both sides of a point ("1.", "-.5"); cJSON took these. */
static int scan_number(struct smm_json_scan *sc)
{
	if (smm_json_peek(sc) == '-')
		sc->i++;
	if (smm_json_peek(sc) == '0')
		sc->i++;
	else if (digits(sc) == 0)
		return -1;
	if (smm_json_peek(sc) == '.') {
		sc->i++;
		if (digits(sc) == 0)
			return -1;
	}
	if (smm_json_peek(sc) == 'e' || smm_json_peek(sc) == 'E') {
		sc->i++;
		if (smm_json_peek(sc) == '+' || smm_json_peek(sc) == '-')
			sc->i++;
		if (digits(sc) == 0)
			return -1;
	}
	return 0;
}

static int scan_word(struct smm_json_scan *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->n - sc->i < n || memcmp(sc->s + sc->i, word, n) != 0)
		return -1;
	sc->i += n;
	return 0;
}

enum smm_json_kind smm_json_kind_of(int c)
{
	switch (c) {
	case '"': return SMM_JSON_STRING;
	case 't': return SMM_JSON_TRUE;
	case 'f': return SMM_JSON_FALSE;
	case 'n': return SMM_JSON_NULL;
	case '{': return SMM_JSON_OBJECT;
	case '[': return SMM_JSON_ARRAY;
	default: return SMM_JSON_NUMBER;
	}
}

/* scan_scalar checks the string, number or literal at s[i]; 0 or -1. */
static int scan_scalar(struct smm_json_scan *sc)
{
	switch (smm_json_kind_of(smm_json_peek(sc))) {
	case SMM_JSON_STRING: return smm_json_string(sc);
	case SMM_JSON_TRUE: return scan_word(sc, "true");
	case SMM_JSON_FALSE: return scan_word(sc, "false");
	case SMM_JSON_NULL: return scan_word(sc, "null");
	default: return scan_number(sc);
	}
}

int smm_json_colon(struct smm_json_scan *sc)
{
	smm_json_skip_ws(sc);
	if (smm_json_peek(sc) != ':')
		return -1;
	sc->i++;
	smm_json_skip_ws(sc);
	return 0;
}

/* scan_name checks a member's name and the ":" after it. */
static int scan_name(struct smm_json_scan *sc)
{
	if (smm_json_peek(sc) != '"' || smm_json_string(sc) < 0)
		return -1;
	return smm_json_colon(sc);
}

/* The containers open inside the value smm_json_value checks: bit k of
 * objects says whether level k from the innermost is an object. */
struct nest {
	uint64_t objects;
	int level, depth; /* depth: levels open around the whole value */
};
_Static_assert(SMM_PROTO_MAX_DEPTH <= 64, "struct nest keeps a bit per level in 64");

/* open_container enters the object or array at s[i]. Returns 1 when a
 * value follows inside it, 0 when it was empty (a whole value), -1. */
static int open_container(struct smm_json_scan *sc, struct nest *st)
{
	bool obj = smm_json_peek(sc) == '{';

	if (st->depth + st->level >= SMM_PROTO_MAX_DEPTH)
		return -1;
	st->objects = st->objects << 1 | obj;
	st->level++;
	sc->i++;
	smm_json_skip_ws(sc);
	if (smm_json_peek(sc) == (obj ? '}' : ']')) {
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
static int after_value(struct smm_json_scan *sc, struct nest *st)
{
	while (st->level > 0) {
		bool obj = st->objects & 1;
		smm_json_skip_ws(sc);
		if (smm_json_peek(sc) == ',') {
			sc->i++;
			smm_json_skip_ws(sc);
			return obj && scan_name(sc) < 0 ? -1 : 1;
		}
		if (smm_json_peek(sc) != (obj ? '}' : ']'))
			return -1;
		sc->i++;
		st->level--;
		st->objects >>= 1;
	}
	return 0;
}

int smm_json_value(struct smm_json_scan *sc, int depth)
{
	struct nest st = { 0, 0, depth };

	for (;;) {
		int c = smm_json_peek(sc);
		int r = c == '{' || c == '[' ? open_container(sc, &st) : scan_scalar(sc);
		if (r == 0)
			r = after_value(sc, &st);
		if (r <= 0)
			return r;
	}
}

/* utf8_put writes the UTF-8 bytes of code point cp in out; their count. */
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

size_t smm_json_decode(const struct smm_json_val *v, char *out, size_t cap)
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

/* digit_at returns digit j of a number's digits, those of its integer
 * part ip[0..il) then of its fraction fp[0..fl), and 0 past them. */
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

int smm_json_uint(const char *s, size_t n, uint64_t *out)
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

