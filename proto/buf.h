/* buf.h — a growable byte buffer for building protocol lines. */
#ifndef SMM_BUF_H
#define SMM_BUF_H

#include <stddef.h>
#include <stdint.h>

/* A buffer of len bytes at data (capacity cap). Zero-initialise it, or
 * use smm_buf_init; release with smm_buf_free. Not thread-safe: one owner. */
struct smm_buf {
	char *data;
	size_t len, cap;
	int oom;   /* set when an allocation failed; appends then do nothing */
	int fixed; /* data is the caller's memory and never grows (smm_buf_init_fixed) */
};

/* smm_buf_init empties b without allocating. */
void smm_buf_init(struct smm_buf *b);

/* smm_buf_init_fixed makes b write into the caller's mem[0..cap), which
 * it never frees nor grows: an append that does not fit sets b->oom. So a
 * reply can be formatted straight into space reserved in an output buffer
 * without a heap allocation or a copy. cap must be at least 1 (for the NUL). */
void smm_buf_init_fixed(struct smm_buf *b, char *mem, size_t cap);

/* smm_buf_free releases b's storage and empties it. */
void smm_buf_free(struct smm_buf *b);

/* smm_buf_reset empties b, keeping its storage for reuse. */
void smm_buf_reset(struct smm_buf *b);

/* smm_buf_reserve makes room for n more bytes. Returns 0, or -1 (and sets
 * b->oom) when memory ran out; b's contents are unchanged either way. */
int smm_buf_reserve(struct smm_buf *b, size_t n);

/* smm_buf_add appends n bytes of p. On allocation failure b->oom is set. */
void smm_buf_add(struct smm_buf *b, const void *p, size_t n);

/* smm_buf_adds appends the NUL-terminated string s. */
void smm_buf_adds(struct smm_buf *b, const char *s);

/* smm_buf_addc appends one byte. */
void smm_buf_addc(struct smm_buf *b, char c);

/* smm_buf_addu and smm_buf_addi append an integer in decimal, without
 * going through printf (they run several times per reply). */
void smm_buf_addu(struct smm_buf *b, uint64_t v);
void smm_buf_addi(struct smm_buf *b, int64_t v);

/* smm_buf_addf appends printf-formatted text. */
void smm_buf_addf(struct smm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* smm_buf_add_json_string appends s[0..n) as a JSON string literal with
 * quotes, escaping '"', '\\' and control bytes. */
void smm_buf_add_json_string(struct smm_buf *b, const char *s, size_t n);

#endif
