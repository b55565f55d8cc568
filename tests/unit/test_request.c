/* test_request.c — the request parser: every op, every field rule, and
 * every kind of malformed line; every branch of the scanner, and the
 * scanner against the pre-scanner reference (tests/fuzz/request_ref.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "request_ref.h"

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

/* expect_same checks that the scanner and the reference agree on line. */
static void expect_same(const char *line, size_t len)
{
	const char *diff = smm_request_ref_diff(line, len);

	if (diff)
		fail_msg("%s on %.*s", diff, (int)len, line);
}

/* parse_ok parses line, which must be accepted (and agree with the reference). */
static void parse_ok(const char *line, struct smm_request *req)
{
	struct smm_reply err;

	expect_same(line, strlen(line));
	if (parse(line, req, &err) != 0)
		fail_msg("refused (%s) %s", err.message, line);
}

/* expect_strict: the reference (cJSON) took line, the scanner refuses it
 * as not JSON: the RFC 8259 forms PROTOCOL.md documents. */
static void expect_strict(const char *line)
{
	struct smm_request req;
	struct smm_reply err = { 0 };

	if (smm_request_ref_parse(line, strlen(line), &req, &err) != 0 &&
	    err.err == SMM_ERR_BAD_JSON)
		fail_msg("the reference refuses %s as JSON (%s)", line, err.message);
	expect_error(line, SMM_ERR_BAD_JSON, "request is not valid JSON");
	expect_same(line, strlen(line));
}

static void test_escapes(void **state)
{
	struct smm_request req;

	(void)state;
	/* Names may be escaped too. */
	parse_ok("{\"\\u006fp\":\"\\u0070ing\"}", &req);
	assert_int_equal(req.op, SMM_OP_PING);
	parse_ok("{\"op\":\"fill\",\"\\u0061ddr\":1,\"k\\u0065y\":\"\\u0030123456789abcdeF\",\"ch\\u0061r\":\"\\/\"}",
		 &req);
	assert_true(req.addr == 1 && req.key == 0x0123456789abcdefULL && req.fill_char == '/');
	/* Every short escape, and \u of one, two, three and four UTF-8 bytes
	 * (the last a surrogate pair). */
	parse_ok("{\"op\":\"reset\",\"token\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"}",
		 &req);
	assert_int_equal(req.token_len, 8 + 1 + 2 + 3 + 4);
	assert_memory_equal(req.token, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 19);
	assert_int_equal(req.token[19], '\0');
	/* Raw UTF-8 is kept as it came. */
	parse_ok("{\"op\":\"reset\",\"token\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", &req);
	assert_int_equal(req.token_len, 6);
	/* A token of 256 bytes once decoded is read; 257 is forbidden. */
	char line[2000];
	int n = sprintf(line, "{\"op\":\"reset\",\"token\":\"");
	for (int i = 0; i < 255; i++)
		n += sprintf(line + n, "\\u0061");
	strcpy(line + n, "b\"}");
	parse_ok(line, &req);
	assert_int_equal(req.token_len, 256);
	assert_int_equal(req.token[255], 'b');
	strcpy(line + n, "bc\"}");
	expect_error(line, SMM_ERR_FORBIDDEN, NULL);
	expect_same(line, strlen(line));
	/* Refused: unknown escapes, lone or reversed surrogates, a high one
	 * followed by no low one, a backslash at the end. */
	const char *bad[] = {
		"{\"op\":\"p\\ing\"}", "{\"op\":\"ping\",\"x\":\"\\ud800\"}",
		"{\"op\":\"ping\",\"x\":\"\\udc00\\ud800\"}", "{\"op\":\"ping\",\"x\":\"\\ud800\\u0041\"}",
		"{\"op\":\"ping\",\"x\":\"\\ud800x\"}", "{\"\\ud800\":1,\"op\":\"ping\"}",
		"{\"op\":\"ping\",\"x\":\"\\", "{\"op\":\"ping\",\"x\":\"\\u00",
		"{\"op\":\"ping\",\"x\":\"\\ud800\\", "{\"op\":\"ping\",\"x\":\"\\ud800\\ud",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		expect_error(bad[i], SMM_ERR_BAD_JSON, NULL);
		expect_same(bad[i], strlen(bad[i]));
	}
	/* An escaped op name is still an op; an unknown one is echoed decoded. */
	struct smm_reply err;
	assert_int_equal(parse("{\"op\":\"\\u0078\\u00e9\"}", &req, &err), -1);
	assert_non_null(strstr(err.message, "unknown op \"x\xc3\xa9\""));
	expect_same("{\"op\":\"\\u0078\\u00e9\"}", strlen("{\"op\":\"\\u0078\\u00e9\"}"));
}

static void test_nested_values(void **state)
{
	struct smm_request req;
	char line[300];
	size_t n;

	(void)state;
	parse_ok("{\"x\":{\"op\":\"free\",\"a\":[{},[],[[{\"b\":null}]],\"]\"]},\"op\":\"ping\","
		 "\"tag\":{\"k\":[true,false,null,-1.5e-3,{\"z\":{}}]},\"y\":[ ]}", &req);
	assert_tag(&req, "{\"k\":[true,false,null,-1.5e-3,{\"z\":{}}]}");
	parse_ok("{ \"op\" : \"ping\" , \"tag\" : [ 1 , { \"a\" : \"b\" } ] }", &req);
	assert_tag(&req, "[ 1 , { \"a\" : \"b\" } ]");
	/* 32 levels, the request object included, are allowed; 33 are not. */
	for (int depth = 31; depth <= 32; depth++) {
		n = (size_t)sprintf(line, "{\"op\":\"ping\",\"tag\":");
		for (int i = 0; i < depth; i++)
			n += (size_t)sprintf(line + n, "%s", i % 2 ? "[" : "{\"a\":");
		line[n++] = '0';
		for (int i = depth - 1; i >= 0; i--)
			line[n++] = i % 2 ? ']' : '}';
		strcpy(line + n, "}");
		expect_same(line, strlen(line));
		if (depth == 31)
			parse_ok(line, &req);
		else
			expect_error(line, SMM_ERR_BAD_JSON, "nested");
	}
	/* Broken containers inside unknown members and tags. */
	const char *bad[] = {
		"{\"op\":\"ping\",\"x\":[1,]}", "{\"op\":\"ping\",\"x\":{\"a\":1,}}",
		"{\"op\":\"ping\",\"x\":{\"a\"}}", "{\"op\":\"ping\",\"x\":{1:2}}",
		"{\"op\":\"ping\",\"x\":[1 2]}", "{\"op\":\"ping\",\"x\":[1}", "{\"op\":\"ping\",\"x\":{]}",
		"{\"op\":\"ping\",\"tag\":[tru]}", "{\"op\":\"ping\",\"x\":nul}", "{\"op\":\"ping\",}",
		"{\"op\":\"ping\" \"x\":1}", "{\"op\" \"ping\"}", "{,}", "{\"op\":}", "{\"op\":\"ping\"}}",
		"", " ", "\xef\xbb\xbf", "{\"op\":\"ping\"}\x0c",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		expect_error(bad[i], SMM_ERR_BAD_JSON, "not valid JSON");
		expect_same(bad[i], strlen(bad[i]));
	}
	/* JSON, but not an object. */
	const char *other[] = { "[{\"op\":\"ping\"}]", " \"op\" ", "null", "-0.5e+7", "[[[]]]", "\xef\xbb\xbf 1" };
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		expect_error(other[i], SMM_ERR_BAD_JSON, "not a JSON object");
		expect_same(other[i], strlen(other[i]));
	}
	/* A byte order mark and JSON white space around the object are fine. */
	parse_ok("\xef\xbb\xbf\r\n\t {\"op\":\"ping\"}\t \n", &req);
}

static void test_numbers(void **state)
{
	static const struct { const char *text; uint64_t size; } ok[] = {
		{ "16", 16 }, { "16.0", 16 }, { "1.6e1", 16 }, { "1.6E+1", 16 }, { "160e-1", 16 },
		{ "0.016e3", 16 }, { "16.000e0", 16 }, { "1e15", 1000000000000000ULL },
		{ "9007199254740991", 9007199254740991ULL }, { "9007199254740991.000", 9007199254740991ULL },
		{ "90071992547409910e-1", 9007199254740991ULL }, { "0.9007199254740991e16", 9007199254740991ULL },
	};
	static const char *const refused[] = {
		"0", "-1", "-0.5", "1.5", "9007199254740992", "1e16", "1e400", "18446744073709551617",
		"1e-1", "0.5e0", "1.0000001", "-1e999", "\"16\"", "true", "null", "[16]", "{}",
	};
	struct smm_request req;
	char line[128];

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		sprintf(line, "{\"op\":\"malloc\",\"size\":%s}", ok[i].text);
		parse_ok(line, &req);
		assert_true(req.size == ok[i].size);
	}
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		sprintf(line, "{\"op\":\"malloc\",\"size\":%s}", refused[i]);
		expect_error(line, SMM_ERR_BAD_REQUEST, "\"size\" must be an integer from 1 to");
		expect_same(line, strlen(line));
	}
	/* -0 and 0e999999999 are 0; a long exponent of zeros costs nothing. */
	parse_ok("{\"op\":\"dump\",\"offset\":-0,\"length\":0e999999999}", &req);
	assert_true(req.offset == 0 && req.has_length && req.length == 0);
	parse_ok("{\"op\":\"malloc\",\"size\":1,\"id\":2147483647.0}", &req);
	assert_int_equal(req.id, 2147483647);
}

/* RFC 8259 strictness, where cJSON was laxer (PROTOCOL.md, Framing). */
static void test_rfc_strict(void **state)
{
	static const char *const forms[] = { "01", "-01", "00", "1.", "-1.", "1.e5", "-.5", "007.5" };
	char line[128];

	(void)state;
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		sprintf(line, "{\"op\":\"malloc\",\"size\":%s}", forms[i]);
		expect_strict(line);
		sprintf(line, "{\"op\":\"ping\",\"tag\":[%s]}", forms[i]);
		expect_strict(line);
		sprintf(line, "{\"op\":\"ping\",\"other\":%s}", forms[i]);
		expect_strict(line);
	}
	/* Raw control bytes: as white space, or inside strings, outside a tag. */
	expect_strict("{\"op\":\x01\"ping\"}");
	expect_strict("\x0b{\"op\":\"ping\"}");
	expect_strict("{\"op\":\"reset\",\"token\":\"a\tb\"}");
	expect_strict("{\"op\":\"ping\",\"x\":\"\x1f\"}");
	expect_strict("{\"op\":\"ping\",\"tag\"\x02:1}");
	/* Forms cJSON refused too stay refused. */
	expect_error("{\"op\":\"malloc\",\"size\":+1}", SMM_ERR_BAD_JSON, "not valid JSON");
	expect_error("{\"op\":\"malloc\",\"size\":.5}", SMM_ERR_BAD_JSON, "not valid JSON");
	expect_error("{\"op\":\"malloc\",\"size\":1e}", SMM_ERR_BAD_JSON, "not valid JSON");
	expect_error("{\"op\":\"malloc\",\"size\":-}", SMM_ERR_BAD_JSON, "not valid JSON");
	expect_error("{\"op\":\"malloc\",\"size\":1e+}", SMM_ERR_BAD_JSON, "not valid JSON");
}

/* Numbers read exactly, however long (the reference's other deviation). */
static void test_exact_and_long_numbers(void **state)
{
	struct smm_request req;
	struct smm_reply err;
	char line[200];

	(void)state;
	/* A fraction that a double rounds to a whole number is still a fraction. */
	const char *inexact[] = { "1.00000000000000001", "5000000000000000.5", "1e-400" };
	for (size_t i = 0; i < sizeof inexact / sizeof inexact[0]; i++) {
		sprintf(line, "{\"op\":\"dump\",\"offset\":%s}", inexact[i]);
		assert_int_equal(smm_request_ref_parse(line, strlen(line), &req, &err), 0);
		expect_error(line, SMM_ERR_BAD_REQUEST, "\"offset\" must be an integer");
		expect_same(line, strlen(line));
	}
	/* Numbers of any length are read whole. */
	sprintf(line, "{\"op\":\"ping\",\"tag\":%s1}", "1234567890123456789012345678901234567890123456789012345678901234");
	parse_ok(line, &req);
	assert_int_equal(req.tag_len, 65);
	sprintf(line, "{\"op\":\"malloc\",\"size\":1.%s}", "000000000000000000000000000000000000000000000000000000000000000000");
	parse_ok(line, &req);
	assert_int_equal(req.size, 1);
}

static void test_duplicates(void **state)
{
	(void)state;
	expect_error("{\"op\":\"ping\",\"\\u006fp\":\"ping\"}", SMM_ERR_BAD_REQUEST, "duplicate field \"op\"");
	expect_error("{\"op\":\"ping\",\"tag\":1,\"tag\":2}", SMM_ERR_BAD_REQUEST, "duplicate field \"tag\"");
	/* The first known name met twice is the one named. */
	expect_error("{\"op\":\"malloc\",\"size\":1,\"id\":1,\"id\":2,\"size\":3}", SMM_ERR_BAD_REQUEST,
		     "duplicate field \"id\"");
	struct smm_request req;
	parse_ok("{\"op\":\"ping\",\"x\":1,\"x\":2,\"Op\":3,\"opx\":4,\"o\":5,\"\":6}", &req);
	const char *twice = "{\"op\":\"ping\",\"tag\":{\"a\":1,\"a\":2},\"tag\":3}";
	expect_error(twice, SMM_ERR_BAD_REQUEST, "duplicate field \"tag\"");
	expect_same(twice, strlen(twice));
}

/* Every prefix of a valid line is refused as JSON, and agrees with the reference. */
static void test_truncated(void **state)
{
	static const char *const lines[] = {
		"{\"op\":\"malloc\",\"id\":7,\"size\":1.5e1,\"ttl_ms\":100,\"scope\":\"connection\"}",
		"{\"op\":\"fill\",\"addr\":0,\"key\":\"0123456789abcdef\",\"char\":\"\\u0023\",\"tag\":[\"\\ud83d\\ude00\",{\"a\":null}]}",
		"{\"op\":\"reset\",\"token\":\"\\\"x\xc3\xa9\",\"x\":[true,false,-0.0E-0]}",
	};
	struct smm_request req;
	struct smm_reply err;

	(void)state;
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		size_t len = strlen(lines[i]);
		parse_ok(lines[i], &req);
		for (size_t n = 0; n < len; n++) {
			char *copy = malloc(n ? n : 1); /* exact size: a sanitizer sees any overread */
			memcpy(copy, lines[i], n);
			memset(&err, 0, sizeof err);
			assert_int_equal(smm_request_parse(copy, n, &req, &err), -1);
			assert_int_equal(err.err, SMM_ERR_BAD_JSON);
			expect_same(copy, n);
			free(copy);
		}
	}
}

/* Leases, scope and the operator's free: the readers the other tests miss. */
static void test_leases_scope_token(void **state)
{
	struct smm_request req;
	static const char *const refused[] = {
		"{\"op\":\"malloc\",\"size\":1,\"scope\":\"session\"}",
		"{\"op\":\"malloc\",\"size\":1,\"scope\":5}",
		"{\"op\":\"malloc\",\"size\":1,\"scope\":\"connectionx\"}",
		"{\"op\":\"malloc\",\"size\":1,\"ttl_ms\":0}",
		"{\"op\":\"renew\",\"addr\":0,\"key\":\"0123456789abcdef\"}",
		"{\"op\":\"free\",\"key\":\"0123456789abcdef\"}",
		"{\"op\":\"free\",\"addr\":0,\"key\":\"0123456789abcdef\",\"token\":\"t\"}",
		"{\"op\":\"free\",\"addr\":0,\"token\":7}",
		"{\"op\":\"dump\",\"length\":-1}",
		"{\"op\":\"dump\",\"blocks\":null}",
		"{\"op\":\"fill\",\"addr\":0,\"key\":\"0123456789abcdef\",\"char\":7}",
		"{\"op\":\"fill\",\"addr\":0,\"key\":\"0123456789abcdef\",\"char\":\"\\u00e9\"}",
		"{\"op\":\"free\",\"addr\":0,\"key\":\"0123456789abcdef0\"}",
	};

	(void)state;
	parse_ok("{\"op\":\"malloc\",\"size\":1,\"ttl_ms\":2592000000,\"scope\":\"c\\u006fnnection\"}", &req);
	assert_true(req.has_ttl && req.ttl_ms == 2592000000ULL && req.conn_scope);
	parse_ok("{\"op\":\"malloc\",\"size\":1,\"scope\":\"server\"}", &req);
	assert_false(req.conn_scope);
	parse_ok("{\"op\":\"renew\",\"addr\":4,\"key\":\"0123456789abcdef\",\"ttl_ms\":0}", &req);
	assert_true(req.op == SMM_OP_RENEW && req.has_ttl && req.ttl_ms == 0);
	parse_ok("{\"op\":\"free\",\"addr\":4,\"token\":\"s3cret\"}", &req);
	assert_true(req.has_token && req.token_len == 6 && req.addr == 4);
	parse_ok("{\"op\":\"compact\",\"token\":\"\"}", &req);
	assert_true(req.op == SMM_OP_COMPACT && req.token_len == 0);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		struct smm_reply err;
		assert_int_equal(parse(refused[i], &req, &err), -1);
		assert_int_equal(err.err, SMM_ERR_BAD_REQUEST);
		expect_same(refused[i], strlen(refused[i]));
	}
	/* Bad UTF-8 inside strings: a bad continuation byte, a cut sequence. */
	expect_error("{\"op\":\"\xc3\x28\"}", SMM_ERR_BAD_JSON, "UTF-8");
	expect_error("{\"op\":\"ping\",\"x\":\"\xe2\x82\"}", SMM_ERR_BAD_JSON, "UTF-8");
	expect_error("{\"op\":\"ping\",\"x\":\"\xf0\x9f\x98", SMM_ERR_BAD_JSON, "UTF-8");
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
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_nested_values),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_rfc_strict),
		cmocka_unit_test(test_exact_and_long_numbers),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_leases_scope_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
