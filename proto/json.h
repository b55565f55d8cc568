/* json.h — a scanner for JSON text in place, written for the request
 * path (proto/request.c): it checks values against RFC 8259 without
 * building anything, decodes a string when asked, and reads an integer
 * exactly from its digits. No allocation, no recursion, no locale, no
 * state outside the caller's struct smm_json_scan: any thread. */
#ifndef SMM_JSON_H
#define SMM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* What a JSON value is; SMM_JSON_NONE stands for no value at all. */
enum smm_json_kind {
	SMM_JSON_NONE, SMM_JSON_STRING, SMM_JSON_NUMBER, SMM_JSON_TRUE, SMM_JSON_FALSE,
	SMM_JSON_NULL, SMM_JSON_OBJECT, SMM_JSON_ARRAY
};

/* One value as a scan found it: its raw bytes (a string's with its
 * quotes), borrowed from the text scanned. */
struct smm_json_val {
	const char *p;
	size_t n;
	enum smm_json_kind kind;
	bool esc; /* a string holding a backslash: decode it before reading */
};

/* A position in the text s[0..n). The caller sets s, n and i, and lax
 * where it wants the old parser's leniency: raw control bytes (all but
 * NUL) taken as white space and as string bytes, as cJSON took them. */
struct smm_json_scan {
	const unsigned char *s;
	size_t i, n;
	bool lax;
	bool esc; /* set by smm_json_string: the string held a backslash */
};

/* smm_json_peek returns the byte at the position, or -1 at the end. */
static inline int smm_json_peek(const struct smm_json_scan *sc)
{
	return sc->i < sc->n ? sc->s[sc->i] : -1;
}

/* smm_json_skip_ws moves past JSON white space (space, tab, LF, CR). */
void smm_json_skip_ws(struct smm_json_scan *sc);

/* smm_json_string checks the string literal at the position (which must
 * be its opening quote) and moves past it; sets sc->esc. Escapes must be
 * JSON's, \u0000 is refused (it would cut a decoded string short), a
 * surrogate must come as a high-low pair, and the bytes must be UTF-8.
 * Returns 0, or -1 (the position is then somewhere inside). */
int smm_json_string(struct smm_json_scan *sc);

/* smm_json_colon moves past white space, a ":" and white space: from the
 * end of a member's name to its value. Returns 0, or -1. */
int smm_json_colon(struct smm_json_scan *sc);

/* smm_json_value checks the value at the position, containers and all,
 * and moves past it. depth containers are open around it already; more
 * than SMM_PROTO_MAX_DEPTH in all is refused. Returns 0, or -1. */
int smm_json_value(struct smm_json_scan *sc, int depth);

/* smm_json_kind_of returns the kind of value that starts with byte c
 * (any other byte is taken as a number's start: check it with
 * smm_json_value). */
enum smm_json_kind smm_json_kind_of(int c);

/* smm_json_decode copies the text of string value v (one smm_json_string
 * accepted), quotes off and escapes decoded to UTF-8, to out[0..cap).
 * Returns its whole decoded length, which may exceed cap: out then holds
 * its first cap bytes. */
size_t smm_json_decode(const struct smm_json_val *v, char *out, size_t cap);

/* smm_json_uint reads the number s[0..n) (one smm_json_value accepted)
 * exactly. Returns 0 and its value when it is a whole number from 0 up
 * (-0, 16.0 and 1.6e1 included; a value past SMM_PROTO_MAX_INT comes out
 * as some larger value), or -1 when it has a fraction or is negative. */
int smm_json_uint(const char *s, size_t n, uint64_t *out);

/* smm_json_prescan is the check that ran before cJSON in the old request
 * parser: no NUL (raw or \u0000), valid UTF-8, four hex digits after each
 * \u, nesting within SMM_PROTO_MAX_DEPTH. Returns 0, or fills err
 * (bad_json, with the message replies have always given) and returns -1.
 * The request parser runs it only on lines it refused, to say why. */
int smm_json_prescan(const char *line, size_t len, struct smm_reply *err);

#endif
