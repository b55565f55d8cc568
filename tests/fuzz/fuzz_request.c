/* fuzz_request.c — libFuzzer harness for the protocol codec: every input is
 * one request line for smm_request_parse; the result (request or error) is
 * formatted with smm_reply_format and must be one valid JSON object line,
 * and an accepted request must survive smm_request_format and a re-parse
 * unchanged. Differential: the scanner must agree with the pre-scanner
 * reference (request_ref.c) on every input, but for the differences
 * request_ref.h allows. Any broken invariant calls abort(), which
 * libFuzzer reports. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "request.h"
#include "request_ref.h"

#define CHECK(cond)                                                                 \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,  \
				__LINE__, #cond);                                   \
			abort();                                                    \
		}                                                                   \
	} while (0)

/* check_line: out holds exactly one "\n"-terminated JSON object whose "ok"
 * says ok, and whose "error" (when not ok) names err. */
static void check_line(const struct smm_buf *out, int ok, enum smm_err err)
{
	cJSON *obj, *v;

	CHECK(!out->oom);
	CHECK(out->len >= 3 && out->data[out->len - 1] == '\n');
	CHECK(memchr(out->data, '\n', out->len - 1) == NULL);
	obj = cJSON_ParseWithLength(out->data, out->len - 1);
	CHECK(obj && cJSON_IsObject(obj));
	v = cJSON_GetObjectItemCaseSensitive(obj, "ok");
	CHECK(cJSON_IsBool(v) && cJSON_IsTrue(v) == ok);
	if (!ok) {
		v = cJSON_GetObjectItemCaseSensitive(obj, "error");
		CHECK(cJSON_IsString(v) && strcmp(v->valuestring, smm_err_name(err)) == 0);
		v = cJSON_GetObjectItemCaseSensitive(obj, "message");
		CHECK(cJSON_IsString(v) && v->valuestring[0] != '\0');
	}
	cJSON_Delete(obj);
}

/* same_request: the fields op uses are equal (my_malloc formats as malloc). */
static int same_request(const struct smm_request *a, const struct smm_request *b)
{
	if (a->op != b->op || (a->tag == NULL) != (b->tag == NULL) ||
	    (a->tag && (a->tag_len != b->tag_len || memcmp(a->tag, b->tag, a->tag_len) != 0)))
		return 0;
	switch (a->op) {
	case SMM_OP_MALLOC:
		return a->id == b->id && a->size == b->size && a->has_ttl == b->has_ttl &&
		       a->ttl_ms == b->ttl_ms && a->conn_scope == b->conn_scope;
	case SMM_OP_FILL:
		if (a->fill_char != b->fill_char)
			return 0;
		__attribute__((fallthrough));
	case SMM_OP_RENEW:
		if (a->ttl_ms != b->ttl_ms || a->has_ttl != b->has_ttl)
			return 0;
		__attribute__((fallthrough));
	case SMM_OP_FREE:
		if (a->has_token != b->has_token ||
		    (a->has_token && (a->token_len != b->token_len ||
				      memcmp(a->token, b->token, a->token_len) != 0)))
			return 0;
		return a->addr == b->addr && (a->has_token || a->key == b->key);
	case SMM_OP_DUMP:
		return a->offset == b->offset && a->has_length == b->has_length &&
		       (!a->has_length || a->length == b->length) && a->blocks == b->blocks;
	case SMM_OP_RESET:
		return a->token_len == b->token_len &&
		       memcmp(a->token, b->token, a->token_len) == 0;
	default:
		return 1;
	}
}

/* check_request: the parser kept every field within its documented range. */
static void check_request(const struct smm_request *req)
{
	CHECK(req->op <= SMM_OP_RENEW);
	CHECK(req->ttl_ms <= SMM_PROTO_MAX_TTL && (req->has_ttl || req->ttl_ms == 0));
	if (req->op == SMM_OP_MALLOC && req->has_ttl)
		CHECK(req->ttl_ms >= 1);
	if (req->op == SMM_OP_RENEW)
		CHECK(req->has_ttl);
	CHECK(!req->conn_scope || req->op == SMM_OP_MALLOC);
	CHECK(!req->has_token || req->op == SMM_OP_FREE);
	CHECK(req->id >= 0 && req->id <= SMM_PROTO_MAX_ID);
	CHECK(req->size <= SMM_PROTO_MAX_INT && req->addr <= SMM_PROTO_MAX_INT);
	CHECK(req->offset <= SMM_PROTO_MAX_INT && req->length <= SMM_PROTO_MAX_INT);
	if (req->op == SMM_OP_MALLOC)
		CHECK(req->size >= 1);
	if (req->fill_char)
		CHECK(req->fill_char >= 0x21 && req->fill_char <= 0x7e);
	CHECK(req->token_len <= SMM_PROTO_MAX_TOKEN && req->token[req->token_len] == '\0');
	if (req->tag)
		CHECK(req->tag_len <= SMM_PROTO_MAX_TAG);
}

/* check_tag: the tag is a slice of the line that, read alone, is the same
 * JSON value cJSON finds under "tag" in the whole line. */
static void check_tag(const char *line, size_t n, const struct smm_request *req)
{
	cJSON *whole, *alone;
	char *a, *b;

	if (!req->tag)
		return;
	CHECK(req->tag >= line && req->tag + req->tag_len <= line + n);
	CHECK(req->tag_len <= SMM_PROTO_MAX_TAG);
	whole = cJSON_ParseWithLength(line, n);
	alone = cJSON_ParseWithLength(req->tag, req->tag_len);
	CHECK(whole && alone);
	/* Printed, not cJSON_Compare: that looks members up by name, so two
	 * equal objects with a duplicate member compare unequal. */
	a = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(whole, "tag"));
	b = cJSON_PrintUnformatted(alone);
	CHECK(a && b && strcmp(a, b) == 0);
	cJSON_free(a);
	cJSON_free(b);
	cJSON_Delete(whole);
	cJSON_Delete(alone);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smm_request req, again;
	struct smm_reply err, ok = { 0 };
	struct smm_buf out, line;
	const char *diff;
	char *copy;

	/* An exact-size heap copy, so ASan sees any read past the line. */
	copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	memset(&err, 0, sizeof err);
	smm_buf_init(&out);
	smm_buf_init(&line);
	diff = smm_request_ref_diff(copy, size);
	if (diff) {
		fprintf(stderr, "scanner and reference disagree: %s\n", diff);
		abort();
	}
	if (smm_request_parse(copy, size, &req, &err) < 0) {
		CHECK(err.err > SMM_ERR_NONE && err.err < SMM_ERR_COUNT);
		CHECK(memchr(err.message, '\0', sizeof err.message) && err.message[0]);
		check_tag(copy, size, &req);
		smm_reply_format(req.op, req.tag, req.tag_len, &err, &out);
		check_line(&out, 0, err.err);
		goto out;
	}
	check_request(&req);
	check_tag(copy, size, &req);
	smm_reply_format(req.op, req.tag, req.tag_len, &ok, &out);
	check_line(&out, 1, SMM_ERR_NONE);

	/* Round trip: what a client would send for req parses back to req. */
	smm_request_format(&req, &line);
	CHECK(!line.oom && line.len > 0 && line.data[line.len - 1] == '\n');
	memset(&err, 0, sizeof err);
	CHECK(smm_request_parse(line.data, line.len - 1, &again, &err) == 0);
	CHECK(same_request(&req, &again));
	smm_request_clear(&again);
out:
	smm_request_clear(&req);
	smm_buf_free(&out);
	smm_buf_free(&line);
	free(copy);
	return 0;
}
