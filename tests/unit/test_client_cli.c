/* test_client_cli.c — smm-client's command line (defaults, environment,
 * which command takes which flag, bad values), the text renderings and
 * the demo's sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "demo.h"
#include "render.h"

static struct smm_cli cli;
static char err[512];

/* parse runs smm_cli_parse on a NULL-terminated list of words. */
static int parse(const char *first, ...)
{
	char *argv[32] = { "smm-client" };
	int argc = 1;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	err[0] = '\0';
	return smm_cli_parse(&cli, argc, argv, err, sizeof err);
}

static void expect_error(const char *want, int rc)
{
	assert_int_equal(rc, -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static int clean_env(void **state)
{
	(void)state;
	unsetenv("SMM_HOST");
	unsetenv("SMM_PORT");
	unsetenv("SMM_ADMIN_TOKEN");
	return 0;
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("ping", NULL), 0);
	assert_int_equal(cli.cmd, SMM_CLI_PING);
	assert_string_equal(cli.host, "127.0.0.1");
	assert_int_equal(cli.port, 7150);
	assert_int_equal(cli.timeout_ms, 5000);
	assert_int_equal(parse("demo", NULL), 0);
	assert_int_equal(cli.threads, 10);
	assert_false(cli.has_seed);
	assert_int_equal(parse("load", NULL), 0);
	assert_int_equal(cli.threads, 2);
	assert_int_equal(cli.connections, 4);
	assert_int_equal(cli.pipeline, 1);
	assert_int_equal(cli.duration_ms, 5000);
	assert_int_equal(cli.op, SMM_OP_MALLOC);
	assert_int_equal(parse("dump", NULL), 0);
	assert_true(cli.length == SMM_CLIENT_TO_END);
}

static void test_environment_then_flags(void **state)
{
	(void)state;
	setenv("SMM_HOST", "example.org", 1);
	setenv("SMM_PORT", "9000", 1);
	assert_int_equal(parse("stats", NULL), 0);
	assert_string_equal(cli.host, "example.org");
	assert_int_equal(cli.port, 9000);
	assert_int_equal(parse("--port", "9001", "stats", "--host", "h", NULL), 0);
	assert_string_equal(cli.host, "h");
	assert_int_equal(cli.port, 9001);
	setenv("SMM_PORT", "http", 1);
	expect_error("SMM_PORT: invalid value 'http'", parse("stats", NULL));
	/* A flag wins, and its variable is then not read at all. */
	assert_int_equal(parse("stats", "--port", "9002", NULL), 0);
	assert_int_equal(cli.port, 9002);
	clean_env(NULL);
}

static void test_size_suffixes(void **state)
{
	(void)state;
	assert_int_equal(parse("malloc", "--size", "900M", NULL), 0);
	assert_true(cli.size_min == 900ull << 20 && cli.size_max == 900ull << 20);
	assert_int_equal(parse("malloc", "--size", "2k", NULL), 0);
	assert_int_equal(cli.size_min, 2048);
	assert_int_equal(parse("load", "--size", "1K-1M", NULL), 0);
	assert_true(cli.size_min == 1024 && cli.size_max == 1u << 20);
	assert_int_equal(parse("malloc", "--size", "3G", NULL), 0);
	assert_true(cli.size_min == 3ull << 30);
	expect_error("--size: invalid value '1X'", parse("malloc", "--size", "1X", NULL));
	expect_error("--size: invalid value '1MB'", parse("malloc", "--size", "1MB", NULL));
	expect_error("--size: invalid value '8192T'", parse("malloc", "--size", "8192T", NULL));
	/* Other counts stay plain numbers. */
	expect_error("--id: invalid value '1K'", parse("malloc", "--size", "1", "--id", "1K", NULL));
}

static void test_color_flag(void **state)
{
	(void)state;
	assert_int_equal(parse("dump", NULL), 0);
	assert_int_equal(cli.color, SMM_CLI_COLOR_AUTO);
	assert_int_equal(parse("dump", "--color", "always", NULL), 0);
	assert_int_equal(cli.color, SMM_CLI_COLOR_ALWAYS);
	assert_int_equal(parse("demo", "--color=never", NULL), 0);
	assert_int_equal(cli.color, SMM_CLI_COLOR_NEVER);
	expect_error("--color: invalid value 'yes'", parse("dump", "--color", "yes", NULL));
	expect_error("stats does not take --color", parse("stats", "--color", "always", NULL));
}

static void test_help_words(void **state)
{
	(void)state;
	assert_int_equal(parse("-h", NULL), 0);
	assert_true(cli.help);
	assert_int_equal(cli.cmd, SMM_CLI_NONE);
	assert_int_equal(parse("help", NULL), 0);
	assert_true(cli.help);
	assert_int_equal(cli.cmd, SMM_CLI_NONE);
	assert_int_equal(parse("help", "load", NULL), 0);
	assert_true(cli.help);
	assert_int_equal(cli.cmd, SMM_CLI_LOAD);
	assert_int_equal(parse("malloc", "-h", NULL), 0);
	assert_true(cli.help);
	assert_int_equal(cli.cmd, SMM_CLI_MALLOC);
	assert_int_equal(parse("-V", NULL), 0);
	assert_true(cli.version);
	expect_error("unknown command 'pong'", parse("help", "pong", NULL));
	expect_error("unexpected argument 'x'", parse("help", "dump", "x", NULL));
}

static void test_command_flags(void **state)
{
	(void)state;
	assert_int_equal(parse("malloc", "--size", "10", "--id", "3", "--json", NULL), 0);
	assert_int_equal(cli.size_min, 10);
	assert_int_equal(cli.id, 3);
	assert_true(cli.json);
	assert_int_equal(parse("fill", "--addr", "5", "--key", "00000000000000AB", "--char", "#",
			       NULL), 0);
	assert_int_equal(cli.addr, 5);
	assert_int_equal(cli.key, 0xab);
	assert_int_equal(cli.fill_char, '#');
	assert_int_equal(parse("load", "--size", "3-9", "--requests", "100", "--op", "malloc",
			       "--timeout", "0.25", NULL), 0);
	assert_int_equal(cli.size_min, 3);
	assert_int_equal(cli.size_max, 9);
	assert_int_equal(cli.requests, 100);
	assert_int_equal(cli.duration_ms, 0);
	assert_int_equal(cli.timeout_ms, 250);
	assert_int_equal(parse("load", "--connections", "1", "--threads", "8", NULL), 0);
	assert_int_equal(cli.threads, 1); /* no idle threads */
	assert_int_equal(parse("demo", "--seed", "0", "--reset", NULL), 0);
	assert_true(cli.has_seed);
	assert_true(cli.reset);
}

static void test_bad_usage(void **state)
{
	(void)state;
	expect_error("no command given", parse(NULL));
	expect_error("unknown command 'pong'", parse("pong", NULL));
	expect_error("unexpected argument 'x'", parse("ping", "x", NULL));
	expect_error("unknown option '--bogus'", parse("ping", "--bogus", NULL));
	expect_error("missing value for option '--port'", parse("ping", "--port", NULL));
	expect_error("ping does not take --size", parse("ping", "--size", "1", NULL));
	expect_error("demo does not take --json", parse("demo", "--json", NULL));
	expect_error("malloc needs --size", parse("malloc", NULL));
	expect_error("free needs --addr", parse("free", "--key", "0000000000000000", NULL));
	expect_error("fill needs --key", parse("fill", "--addr", "0", NULL));
	expect_error("--key: invalid value '123'", parse("free", "--addr", "0", "--key", "123", NULL));
	expect_error("--port: invalid value '0'", parse("ping", "--port", "0", NULL));
	expect_error("--port: invalid value '65536'", parse("ping", "--port", "65536", NULL));
	expect_error("--timeout: invalid value '0'", parse("ping", "--timeout", "0", NULL));
	expect_error("--timeout: invalid value '-1'", parse("ping", "--timeout", "-1", NULL));
	expect_error("--id: invalid value '2147483648'", parse("malloc", "--size", "1", "--id",
							       "2147483648", NULL));
	expect_error("--size: invalid value '0'", parse("malloc", "--size", "0", NULL));
	expect_error("--size: invalid value '9-3'", parse("load", "--size", "9-3", NULL));
	expect_error("malloc takes one --size", parse("malloc", "--size", "1-3", NULL));
	expect_error("--char: invalid value ' '", parse("fill", "--addr", "0", "--key",
							 "0000000000000000", "--char", " ", NULL));
	expect_error("--op: invalid value 'free'", parse("load", "--op", "free", NULL));
	expect_error("not both", parse("load", "--duration", "1", "--requests", "5", NULL));
	expect_error("--threads: invalid value '0'", parse("demo", "--threads", "0", NULL));
	expect_error("--pipeline: invalid value '65537'", parse("load", "--pipeline", "65537", NULL));
	expect_error("--op ping takes no --size", parse("load", "--op", "ping", "--size", "2", NULL));
	assert_int_equal(cli.cmd, SMM_CLI_LOAD); /* known, so main can point at load --help */
}

static void test_help_and_version(void **state)
{
	(void)state;
	assert_int_equal(parse("--help", NULL), 0);
	assert_true(cli.help);
	assert_int_equal(cli.cmd, SMM_CLI_NONE);
	assert_int_equal(parse("malloc", "--help", NULL), 0); /* --size not needed for help */
	assert_int_equal(cli.cmd, SMM_CLI_MALLOC);
	assert_int_equal(parse("--version", NULL), 0);
	assert_true(cli.version);
}

/* usage_of returns the help text for cmd; the caller frees it. */
static char *usage_of(enum smm_cli_cmd cmd)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	smm_cli_usage(cmd, f);
	fclose(f);
	return text;
}

static void test_usage_lists_only_own_flags(void **state)
{
	char *text;

	(void)state;
	text = usage_of(SMM_CLI_MALLOC);
	assert_non_null(strstr(text, "Usage: smm-client malloc --size N"));
	assert_non_null(strstr(text, "--id N"));
	assert_non_null(strstr(text, "--timeout SECONDS"));
	assert_null(strstr(text, "--pipeline"));
	assert_null(strstr(text, "load"));    /* --size's meaning for load is load's */
	assert_null(strstr(text, "summary"));
	free(text);
	text = usage_of(SMM_CLI_PING);
	assert_non_null(strstr(text, "--json "));
	assert_null(strstr(text, "summary")); /* --json's meaning for load */
	free(text);
	text = usage_of(SMM_CLI_LOAD);
	assert_non_null(strstr(text, "--size MIN-MAX"));
	assert_non_null(strstr(text, "summary as one JSON object"));
	assert_null(strstr(text, "reply line"));
	assert_null(strstr(text, "ids 0..N-1"));
	free(text);
	text = usage_of(SMM_CLI_NONE);
	for (int c = SMM_CLI_PING; c < SMM_CLI_NCMDS; c++)
		assert_non_null(strstr(text, smm_cli_cmd_name((enum smm_cli_cmd)c)));
	free(text);
}

static void test_admin_token(void **state)
{
	char token[SMM_PROTO_MAX_TOKEN + 1];
	char path[] = "/tmp/smm-token-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	(void)state;
	assert_non_null(f);
	fputs("from-file\n", f);
	fclose(f);
	assert_int_equal(parse("reset", NULL), 0);
	expect_error("no admin token", smm_cli_admin_token(&cli, token, err, sizeof err));
	setenv("SMM_ADMIN_TOKEN", "from-env", 1);
	assert_int_equal(smm_cli_admin_token(&cli, token, err, sizeof err), 0);
	assert_string_equal(token, "from-env");
	assert_int_equal(parse("reset", "--admin-token-file", path, NULL), 0);
	assert_int_equal(smm_cli_admin_token(&cli, token, err, sizeof err), 0);
	assert_string_equal(token, "from-file");
	unlink(path);
	expect_error("cannot read admin token file", smm_cli_admin_token(&cli, token, err, sizeof err));
	clean_env(NULL);
}

static void test_render_memory(void **state)
{
	struct smm_block_info b = { .addr = 2, .size = 3, .id = 1 };
	struct smm_reply rep = { .memory_size = 60, .offset = 0, .length = 60, .has_blocks = true,
				 .blocks = &b, .nblocks = 1 };
	char mem[61], *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	memset(mem, '.', 60);
	memcpy(mem + 2, "111", 3);
	mem[60] = '\0';
	rep.memory = mem;
	f = open_memstream(&text, &len);
	smm_render_memory(f, &rep, false);
	fclose(f);
	assert_string_equal(text, " 0  ..111.............................................\n"
				  "50  ..........\n");
	free(text);
	f = open_memstream(&text, &len);
	smm_render_memory(f, &rep, true);
	fclose(f);
	assert_non_null(strstr(text, " 0  ..\033[32m111\033[0m...."));
	free(text);
}

/* A block allocated but never filled still holds the filler: shown as
 * ':' with a legend, in reverse video on a terminal; free bytes stay '.'. */
static void test_render_unfilled(void **state)
{
	struct smm_block_info b[] = { { .addr = 0, .size = 2, .id = 1 },
				      { .addr = 2, .size = 3, .id = 2 } };
	struct smm_reply rep = { .memory_size = 8, .offset = 0, .length = 8, .has_blocks = true,
				 .blocks = b, .nblocks = 2 };
	char mem[] = "11.__...", *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	rep.memory = mem;
	f = open_memstream(&text, &len);
	smm_render_memory(f, &rep, false);
	fclose(f);
	assert_string_equal(text, "0  11:__...\n(: allocated, not yet filled; . free)\n");
	free(text);
	f = open_memstream(&text, &len);
	smm_render_memory(f, &rep, true);
	fclose(f);
	assert_non_null(strstr(text, "\033[32m11\033[0m\033[33m\033[7m:\033[0m\033[33m__\033[0m..."));
	free(text);
	/* A server whose filler is ':' gets '_' for unfilled bytes. */
	memcpy(mem, "1:::::::", 8);
	b[1].size = 1;
	f = open_memstream(&text, &len);
	smm_render_memory(f, &rep, false);
	fclose(f);
	assert_string_equal(text, "0  1__:::::\n(_ allocated, not yet filled; : free)\n");
	free(text);
}

static void test_demo_sizes(void **state)
{
	(void)state;
	for (int id = 0; id < 1000; id++) {
		uint64_t s = smm_demo_size(42, id, 150);
		assert_true(s >= 1 && s <= 25);
		assert_int_equal(s, smm_demo_size(42, id, 150));
		assert_int_equal(smm_demo_size(42, id, 5), 1);
	}
	assert_true(smm_demo_size(1, 0, 150) != smm_demo_size(2, 0, 150) ||
		    smm_demo_size(1, 1, 150) != smm_demo_size(2, 1, 150));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clean_env),
		cmocka_unit_test_setup(test_environment_then_flags, clean_env),
		cmocka_unit_test_setup(test_command_flags, clean_env),
		cmocka_unit_test_setup(test_size_suffixes, clean_env),
		cmocka_unit_test_setup(test_color_flag, clean_env),
		cmocka_unit_test_setup(test_help_words, clean_env),
		cmocka_unit_test_setup(test_bad_usage, clean_env),
		cmocka_unit_test_setup(test_help_and_version, clean_env),
		cmocka_unit_test_setup(test_usage_lists_only_own_flags, clean_env),
		cmocka_unit_test_setup(test_admin_token, clean_env),
		cmocka_unit_test_setup(test_render_memory, clean_env),
		cmocka_unit_test_setup(test_render_unfilled, clean_env),
		cmocka_unit_test_setup(test_demo_sizes, clean_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
