/* proto.c — names, defaults and small helpers shared by both directions of
 * the smm wire protocol. */
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const err_names[SMM_ERR_COUNT] = {
	"none", "bad_json", "bad_request", "unknown_op", "no_memory",
	"bad_addr", "forbidden", "too_large", "busy", "unavailable",
};

/* Default human text for each code, used when the caller gives none. */
static const char *const err_texts[SMM_ERR_COUNT] = {
	"ok",
	"request is not a JSON object",
	"invalid request",
	"unknown op",
	"Not enough memory",
	"no block starts at that address",
	"wrong key or token",
	"line too long",
	"server busy",
	"the server cannot write its log; changes are refused until it can",
};

static const char *const op_names[] = {
	"ping", "malloc", "fill", "free", "dump", "stats", "reset", "renew", "map", "compact", "stop",
	"release",
};

const char *smm_err_name(enum smm_err err)
{
	if ((unsigned)err >= SMM_ERR_COUNT)
		return "unknown";
	return err_names[err];
}

enum smm_err smm_err_from_name(const char *name)
{
	for (int i = 0; i < SMM_ERR_COUNT; i++)
		if (strcmp(err_names[i], name) == 0)
			return (enum smm_err)i;
	return SMM_ERR_COUNT;
}

const char *smm_op_name(enum smm_op op)
{
	if ((unsigned)op >= sizeof op_names / sizeof op_names[0])
		return "unknown";
	return op_names[op];
}

void smm_request_clear(struct smm_request *req)
{
	memset(req, 0, sizeof *req);
}

void smm_reply_clear(struct smm_reply *rep)
{
	free(rep->memory);
	free(rep->blocks);
	free(rep->cells);
	memset(rep, 0, sizeof *rep);
}

bool smm_reply_owns(const struct smm_reply *rep)
{
	return rep->memory || rep->blocks || rep->cells;
}

int smm_reply_fail(struct smm_reply *rep, enum smm_err err, const char *msg)
{
	rep->err = err;
	if (!msg && (unsigned)err < SMM_ERR_COUNT)
		msg = err_texts[err];
	snprintf(rep->message, sizeof rep->message, "%s", msg ? msg : "error");
	return -1;
}

char smm_id_char(int64_t id)
{
	static const char digits[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	int64_t r = id % 62;

	return digits[r < 0 ? r + 62 : r];
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int smm_key_parse(const char *s, size_t len, uint64_t *key)
{
	uint64_t k = 0;

	if (len != SMM_PROTO_KEY_HEX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = hex_value(s[i]);
		if (v < 0)
			return -1;
		k = k << 4 | (uint64_t)v;
	}
	*key = k;
	return 0;
}

void smm_key_format(uint64_t key, char out[SMM_PROTO_KEY_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = SMM_PROTO_KEY_HEX - 1; i >= 0; i--) {
		out[i] = hex[key & 0xf];
		key >>= 4;
	}
	out[SMM_PROTO_KEY_HEX] = '\0';
}
