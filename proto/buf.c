/* buf.c — growable byte buffer; grows geometrically so appends are
 * amortised O(1). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void smm_buf_init(struct smm_buf *b)
{
	memset(b, 0, sizeof *b);
}

void smm_buf_init_fixed(struct smm_buf *b, char *mem, size_t cap)
{
	*b = (struct smm_buf){ .data = mem, .cap = cap, .fixed = 1 };
	mem[0] = '\0';
}

void smm_buf_free(struct smm_buf *b)
{
	if (!b->fixed)
		free(b->data);
	smm_buf_init(b);
}

void smm_buf_reset(struct smm_buf *b)
{
	b->len = 0;
	b->oom = 0;
}

int smm_buf_reserve(struct smm_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (b->cap - b->len > n)
		return 0;
	if (b->fixed) {
		b->oom = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= n)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void smm_buf_add(struct smm_buf *b, const void *p, size_t n)
{
	if (smm_buf_reserve(b, n) < 0)
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void smm_buf_adds(struct smm_buf *b, const char *s)
{
	smm_buf_add(b, s, strlen(s));
}

void smm_buf_addc(struct smm_buf *b, char c)
{
	smm_buf_add(b, &c, 1);
}

void smm_buf_addu(struct smm_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof tmp;

	do
		tmp[--i] = (char)('0' + v % 10);
	while (v /= 10);
	smm_buf_add(b, tmp + i, sizeof tmp - i);
}

void smm_buf_addi(struct smm_buf *b, int64_t v)
{
	if (v < 0) {
		smm_buf_addc(b, '-');
		smm_buf_addu(b, (uint64_t)0 - (uint64_t)v);
	} else {
		smm_buf_addu(b, (uint64_t)v);
	}
}

void smm_buf_addf(struct smm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	/* Format once into the room already there; only a miss formats twice. */
	va_start(ap, fmt);
	n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n >= 0 && b->data && (size_t)n < b->cap - b->len) {
		b->len += (size_t)n;
		return;
	}
	if (b->data)
		b->data[b->len] = '\0'; /* the miss wrote past len */
	if (n < 0 || smm_buf_reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void smm_buf_add_json_string(struct smm_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	/* Worst case every byte becomes \u00XX: reserve once, not per byte. */
	if (smm_buf_reserve(b, n + 2) < 0)
		return;
	smm_buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		smm_buf_add(b, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			smm_buf_add(b, esc, 2);
		} else {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			smm_buf_add(b, esc, 6);
		}
	}
	smm_buf_add(b, s + run, n - run);
	smm_buf_addc(b, '"');
}
