/* test_request.c — the request parser: every op, every field rule, and
 * every kind of malformed line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "request.h"

static int parse(const char *line, struct smm_request *req, struct smm_reply *err)
{
	memset(err, 0, sizeof *err);
	return smm_request_parse(line, strlen(line), req, err);
}

/* expect_error checks that line is refused with code and message text. */
static void expect_error(const char *line, enum smm_err code, const char *text)
{
	struct smm_request req;
	struct smm_reply err;

	assert_int_equal(parse(line, &req, &err), -1);
	assert_int_equal(err.err, code);
	if (text)
		assert_non_null(strstr(err.message, text));
	smm_request_clear(&req);
}

/* assert_tag checks that req's tag is exactly the bytes want. */
static void assert_tag(const struct smm_request *req, const char *want)
{
	assert_non_null(req->tag);
	assert_int_equal(req->tag_len, strlen(want));
	assert_memory_equal(req->tag, want, req->tag_len);
}

static void test_ping_and_tag(void **state)
{
	struct smm_request req;
	struct smm_reply err;

	(void)state;
	assert_int_equal(parse("{\"op\":\"ping\",\"tag\":{\"a\":[1,2]}}\r", &req, &err), 0);
	assert_int_equal(req.op, SMM_OP_PING);
	assert_tag(&req, "{\"a\":[1,2]}");
	smm_request_clear(&req);
	assert_null(req.tag);
}

static void test_parse_malloc(void **state)
{
	struct smm_request req;
	struct smm_reply err;

	(void)state;
	assert_int_equal(parse("{\"op\":\"malloc\",\"id\":7,\"size\":25,\"extra\":1}", &req, &err), 0);
	assert_int_equal(req.op, SMM_OP_MALLOC);
	assert_int_equal(req.id, 7);
	assert_int_equal(req.size, 25);
	smm_request_clear(&req);
	assert_int_equal(parse("{\"op\":\"my_malloc\",\"size\":9007199254740991}", &req, &err), 0);
	assert_int_equal(req.id, 0);
	assert_true(req.size == 9007199254740991ULL);
	smm_request_clear(&req);
}

static void test_fill_free_dump_reset(void **state)
{
	struct smm_request req;
	struct smm_reply err;

	(void)state;
	assert_int_equal(parse("{\"op\":\"fill\",\"addr\":5,\"key\":\"00112233445566FF\",\"char\":\"#\"}",
			       &req, &err), 0);
	assert_int_equal(req.addr, 5);
	assert_true(req.key == 0x00112233445566ffULL);
	assert_int_equal(req.fill_char, '#');
	smm_request_clear(&req);
	assert_int_equal(parse("{\"op\":\"free\",\"addr\":0,\"key\":\"0000000000000001\"}", &req, &err), 0);
	assert_int_equal(req.op, SMM_OP_FREE);
	smm_request_clear(&req);
	assert_int_equal(parse("{\"op\":\"dump\",\"offset\":10,\"length\":0,\"blocks\":true}", &req, &err), 0);
	assert_int_equal(req.offset, 10);
	assert_true(req.has_length);
	assert_int_equal(req.length, 0);
	assert_true(req.blocks);
	smm_request_clear(&req);
	assert_int_equal(parse("{\"op\":\"reset\",\"token\":\"s3cret\"}", &req, &err), 0);
	assert_string_equal(req.token, "s3cret");
	assert_int_equal(req.token_len, 6);
	smm_request_clear(&req);
}

/* map: a window like dump's, cut into 1..16384 cells; round trip. */
static void test_map(void **state)
{
	struct smm_request req;
	struct smm_reply err;
	struct smm_buf b = { 0 };

	(void)state;
	assert_int_equal(parse("{\"op\":\"map\",\"cells\":16384,\"offset\":5,\"length\":9,\"blocks\":true}",
			       &req, &err), 0);
	assert_int_equal(req.op, SMM_OP_MAP);
	assert_int_equal(req.cells, 16384);
	assert_int_equal(req.offset, 5);
	assert_true(req.has_length && req.length == 9 && req.blocks);
	smm_request_format(&req, &b);
	assert_string_equal(b.data, "{\"op\":\"map\",\"offset\":5,\"length\":9,\"blocks\":true,\"cells\":16384}\n");
	smm_buf_free(&b);
	smm_request_clear(&req);
	expect_error("{\"op\":\"map\"}", SMM_ERR_BAD_REQUEST, "\"cells\"");
	expect_error("{\"op\":\"map\",\"cells\":0}", SMM_ERR_BAD_REQUEST, "\"cells\"");
	expect_error("{\"op\":\"map\",\"cells\":16385}", SMM_ERR_BAD_REQUEST, "\"cells\"");
	expect_error("{\"op\":\"map\",\"cells\":\"9\"}", SMM_ERR_BAD_REQUEST, "\"cells\"");
	expect_error("{\"op\":\"map\",\"cells\":9,\"blocks\":1}", SMM_ERR_BAD_REQUEST, "\"blocks\"");
}

static void test_bad_json(void **state)
{
	(void)state;
	expect_error("hello", SMM_ERR_BAD_JSON, NULL);
	expect_error("[1,2]", SMM_ERR_BAD_JSON, "not a JSON object");
	expect_error("42", SMM_ERR_BAD_JSON, "not a JSON object");
	expect_error("{\"op\":\"ping\"} trailing", SMM_ERR_BAD_JSON, NULL);
	expect_error("{\"op\":\"ping\"", SMM_ERR_BAD_JSON, NULL);
	expect_error("{\"op\":\"p\xff\"}", SMM_ERR_BAD_JSON, "UTF-8");
	expect_error("{\"op\":\"\xc0\xaf\"}", SMM_ERR_BAD_JSON, "UTF-8"); /* overlong '/' */
	expect_error("{\"op\":\"\xed\xa0\x80\"}", SMM_ERR_BAD_JSON, "UTF-8"); /* surrogate */
}

static void test_nul_byte(void **state)
{
	struct smm_request req;
	struct smm_reply err = { 0 };
	const char line[] = "{\"op\":\"ping\"}\0";

	(void)state;
	assert_int_equal(smm_request_parse(line, sizeof line - 1, &req, &err), -1);
	assert_int_equal(err.err, SMM_ERR_BAD_JSON);
	assert_non_null(strstr(err.message, "NUL"));
}

static void test_escaped_nul(void **state)
{
	(void)state;
	expect_error("{\"op\":\"reset\",\"token\":\"s3cret\\u0000junk\"}", SMM_ERR_BAD_JSON, "NUL");
	expect_error("{\"op\":\"ping\\u0000junk\"}", SMM_ERR_BAD_JSON, "NUL");
	expect_error("{\"op\":\"ping\",\"tag\":\"a\\u0000b\"}", SMM_ERR_BAD_JSON, "NUL");
	/* cJSON decodes a \u without four hex digits as NUL: refused too. */
	expect_error("{\"op\":\"ping\\uZZZZjunk\"}", SMM_ERR_BAD_JSON, "four hex digits");
	expect_error("{\"\\uuuuu\":1,\"op\":\"ping\"}", SMM_ERR_BAD_JSON, "four hex digits");
	expect_error("{\"op\":\"ping\",\"tag\":\"\\u12\"}", SMM_ERR_BAD_JSON, "four hex digits");
	/* An escaped backslash before u0000 is text, not an escape. */
	struct smm_request req;
	struct smm_reply err;
	assert_int_equal(parse("{\"op\":\"ping\",\"tag\":\"\\\\u0000\"}", &req, &err), 0);
	assert_tag(&req, "\"\\\\u0000\"");
	smm_request_clear(&req);
}

static void test_depth(void **state)
{
	char line[300];
	size_t n = 0;

	(void)state;
	n += (size_t)sprintf(line, "{\"op\":\"ping\",\"tag\":");
	for (int i = 0; i < 40; i++)
		line[n++] = '[';
	for (int i = 0; i < 40; i++)
		line[n++] = ']';
	strcpy(line + n, "}");
	expect_error(line, SMM_ERR_BAD_JSON, "nested");
	/* Brackets inside strings are not nesting. */
	struct smm_request req;
	struct smm_reply err;
	assert_int_equal(parse("{\"op\":\"ping\",\"tag\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"}",
			       &req, &err), 0);
	smm_request_clear(&req);
}

static void test_bad_request(void **state)
{
	(void)state;
	expect_error("{}", SMM_ERR_BAD_REQUEST, "missing field \"op\"");
	expect_error("{\"op\":3}", SMM_ERR_BAD_REQUEST, "\"op\" must be a string");
	expect_error("{\"op\":\"malloc\"}", SMM_ERR_BAD_REQUEST, "missing field \"size\"");
	expect_error("{\"op\":\"malloc\",\"size\":0}", SMM_ERR_BAD_REQUEST, "\"size\"");
	expect_error("{\"op\":\"malloc\",\"size\":-3}", SMM_ERR_BAD_REQUEST, "\"size\"");
	expect_error("{\"op\":\"malloc\",\"size\":2.5}", SMM_ERR_BAD_REQUEST, "\"size\"");
	expect_error("{\"op\":\"malloc\",\"size\":\"ten\"}", SMM_ERR_BAD_REQUEST, "\"size\"");
	expect_error("{\"op\":\"malloc\",\"size\":1e300}", SMM_ERR_BAD_REQUEST, "\"size\"");
	expect_error("{\"op\":\"malloc\",\"size\":18446744073709551616}", SMM_ERR_BAD_REQUEST, "\"size\"");
	expect_error("{\"op\":\"malloc\",\"size\":9007199254740992}", SMM_ERR_BAD_REQUEST, "\"size\"");
	expect_error("{\"op\":\"malloc\",\"size\":1,\"id\":2147483648}", SMM_ERR_BAD_REQUEST, "\"id\"");
	expect_error("{\"op\":\"malloc\",\"size\":1,\"id\":-1}", SMM_ERR_BAD_REQUEST, "\"id\"");
	expect_error("{\"op\":\"malloc\",\"size\":1,\"size\":2}", SMM_ERR_BAD_REQUEST, "duplicate");
	expect_error("{\"op\":\"fill\",\"addr\":0}", SMM_ERR_BAD_REQUEST, "missing field \"key\"");
	expect_error("{\"op\":\"fill\",\"key\":\"0000000000000000\"}", SMM_ERR_BAD_REQUEST, "\"addr\"");
	expect_error("{\"op\":\"free\",\"addr\":0,\"key\":\"abc\"}", SMM_ERR_BAD_REQUEST, "16 hex");
	expect_error("{\"op\":\"free\",\"addr\":0,\"key\":\"000000000000000g\"}", SMM_ERR_BAD_REQUEST, "16 hex");
	expect_error("{\"op\":\"free\",\"addr\":0,\"key\":12}", SMM_ERR_BAD_REQUEST, "16 hex");
	expect_error("{\"op\":\"fill\",\"addr\":0,\"key\":\"0000000000000000\",\"char\":\" \"}",
		     SMM_ERR_BAD_REQUEST, "\"char\"");
	expect_error("{\"op\":\"fill\",\"addr\":0,\"key\":\"0000000000000000\",\"char\":\"ab\"}",
		     SMM_ERR_BAD_REQUEST, "\"char\"");
	expect_error("{\"op\":\"dump\",\"blocks\":1}", SMM_ERR_BAD_REQUEST, "\"blocks\"");
	expect_error("{\"op\":\"dump\",\"offset\":-1}", SMM_ERR_BAD_REQUEST, "\"offset\"");
	expect_error("{\"op\":\"reset\"}", SMM_ERR_BAD_REQUEST, "missing field \"token\"");
	expect_error("{\"op\":\"reset\",\"token\":5}", SMM_ERR_BAD_REQUEST, "\"token\"");
}

static void test_tag_raw_bytes(void **state)
{
	struct smm_request req;
	struct smm_reply err;

	(void)state;
	/* Kept as the bytes that came: no double rounding, spaces inside kept. */
	assert_int_equal(parse("{\"op\":\"ping\",\"tag\":12345678901234567890}", &req, &err), 0);
	assert_tag(&req, "12345678901234567890");
	assert_int_equal(parse("{ \"t\\u0061g\" : { \"a\" : [1, \"}\"] } , \"op\":\"ping\"}", &req, &err), 0);
	assert_tag(&req, "{ \"a\" : [1, \"}\"] }");
	assert_int_equal(parse("{\"tag\":true\t,\"op\":\"ping\"}", &req, &err), 0);
	assert_tag(&req, "true");
	/* A raw control byte inside the tag is refused, between tokens too. */
	expect_error("{\"op\":\"ping\",\"tag\":\"a\x01\"}", SMM_ERR_BAD_REQUEST, "control");
	expect_error("{\"op\":\"ping\",\"tag\":[1,\x02 2]}", SMM_ERR_BAD_REQUEST, "control");
	/* Tab between tokens is JSON white space: kept. */
	assert_int_equal(parse("{\"op\":\"ping\",\"tag\":[1,\t2]}", &req, &err), 0);
	assert_tag(&req, "[1,\t2]");
}

static void test_unknown_op_keeps_tag(void **state)
{
	struct smm_request req;
	struct smm_reply err;

	(void)state;
	assert_int_equal(parse("{\"op\":\"explode\",\"tag\":\"t1\"}", &req, &err), -1);
	assert_int_equal(err.err, SMM_ERR_UNKNOWN_OP);
	assert_tag(&req, "\"t1\"");
	smm_request_clear(&req);
	/* A field error after op and id were read leaves only the tag. */
	assert_int_equal(parse("{\"op\":\"malloc\",\"id\":5,\"size\":0,\"tag\":2}", &req, &err), -1);
	assert_int_equal(req.op, 0);
	assert_int_equal(req.id, 0);
	assert_tag(&req, "2");
	smm_request_clear(&req);
}

static void test_huge_tag(void **state)
{
	char line[2200];

	(void)state;
	strcpy(line, "{\"op\":\"ping\",\"tag\":\"");
	memset(line + strlen(line), 'x', 1100);
	strcpy(line + 20 + 1100, "\"}");
	expect_error(line, SMM_ERR_BAD_REQUEST, "tag");
}

static void test_format_roundtrip(void **state)
{
	struct smm_request in = { .op = SMM_OP_FILL, .addr = 12, .key = 0xabcdef, .fill_char = '"' };
	struct smm_request out;
	struct smm_reply err;
	struct smm_buf b = { 0 };

	(void)state;
	smm_request_format(&in, &b);
	assert_int_equal(b.data[b.len - 1], '\n');
	assert_int_equal(smm_request_parse(b.data, b.len - 1, &out, &err), 0);
	assert_int_equal(out.op, SMM_OP_FILL);
	assert_int_equal(out.addr, 12);
	assert_true(out.key == 0xabcdef);
	assert_int_equal(out.fill_char, '"');
	smm_request_clear(&out);
	/* The seed's name goes out as it came in. */
	in = (struct smm_request){ .op = SMM_OP_MALLOC, .id = 3, .size = 7, .my_malloc = true };
	smm_buf_reset(&b);
	smm_request_format(&in, &b);
	assert_int_equal(b.len, strlen("{\"op\":\"my_malloc\",\"id\":3,\"size\":7}\n"));
	assert_memory_equal(b.data, "{\"op\":\"my_malloc\",\"id\":3,\"size\":7}\n", b.len);
	assert_int_equal(smm_request_parse(b.data, b.len - 1, &out, &err), 0);
	assert_true(out.op == SMM_OP_MALLOC && out.my_malloc && out.size == 7);
	smm_request_clear(&out);
	smm_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_and_tag),
		cmocka_unit_test(test_parse_malloc),
		cmocka_unit_test(test_fill_free_dump_reset),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_escaped_nul),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_bad_request),
		cmocka_unit_test(test_tag_raw_bytes),
		cmocka_unit_test(test_unknown_op_keeps_tag),
		cmocka_unit_test(test_huge_tag),
		cmocka_unit_test(test_format_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
