/* cli.c — the flag table, its parser and the --help it prints. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "num.h"
#include "token.h"

#define BIT(cmd) (1u << (cmd))
#define ONESHOT (BIT(SMM_CLI_PING) | BIT(SMM_CLI_MALLOC) | BIT(SMM_CLI_FILL) | \
		 BIT(SMM_CLI_FREE) | BIT(SMM_CLI_DUMP) | BIT(SMM_CLI_STATS) | BIT(SMM_CLI_RESET) | \
		 BIT(SMM_CLI_RENEW) | BIT(SMM_CLI_COMPACT))
#define BLOCK (BIT(SMM_CLI_FILL) | BIT(SMM_CLI_FREE) | BIT(SMM_CLI_RENEW))
#define NET (ONESHOT | BIT(SMM_CLI_DEMO) | BIT(SMM_CLI_LOAD) | BIT(SMM_CLI_WATCH))

/* Longest --timeout or --duration: a day is already more than any run needs. */
#define MAX_SECONDS 86400.0

enum kind { K_BOOL, K_STR, K_PORT, K_SECONDS, K_U64, K_ID, K_KEY, K_CHAR, K_RANGE, K_COUNT,
	    K_OP, K_COLOR, K_TTL, K_SCOPE };

/* One row per flag and the commands it means one thing for: a flag that
 * means something else to another command (--json, --size, --threads) has
 * a row for each, so every command's --help describes its own options
 * only. Adding an option to a command is adding a row. */
struct flag {
	const char *name, *meta, *help;
	enum kind kind;
	size_t off;
	unsigned cmds;     /* commands taking the flag with this meaning */
	unsigned required; /* commands that need it */
	uint64_t max;      /* K_COUNT: the largest value */
	char short_name;   /* -h, -V; 0 for none */
};

#define AT(field) offsetof(struct smm_cli, field)

static const struct flag flags[] = {
	{ "host", "HOST", "server address (default $SMM_HOST, else 127.0.0.1)", K_STR, AT(host), NET, 0, 0, 0 },
	{ "port", "PORT", "server port (default $SMM_PORT, else 7150)", K_PORT, AT(port), NET, 0, 0, 0 },
	{ "timeout", "SECONDS", "give up when the server makes no progress this long (default 5)", K_SECONDS, AT(timeout_ms), NET, 0, 0, 0 },
	{ "json", NULL, "print the server's reply line as it came (error replies too)", K_BOOL, AT(json), ONESHOT, 0, 0, 0 },
	{ "json", NULL, "print the summary as one JSON object", K_BOOL, AT(json), BIT(SMM_CLI_LOAD), 0, 0, 0 },
	{ "verbose", NULL, "print each request and reply line on stderr as it goes", K_BOOL, AT(verbose), ONESHOT | BIT(SMM_CLI_DEMO), 0, 0, 0 },
	{ "color", "WHEN", "colour the map: auto (on a terminal, unless $NO_COLOR is set), always or never (default auto)", K_COLOR, AT(color), BIT(SMM_CLI_DUMP) | BIT(SMM_CLI_DEMO) | BIT(SMM_CLI_WATCH), 0, 0, 0 },
	{ "id", "N", "owner id, 0..2147483647 (default 0)", K_ID, AT(id), BIT(SMM_CLI_MALLOC), 0, 0, 0 },
	{ "size", "N", "bytes to allocate; K, M, G, T suffixes are powers of 1024", K_RANGE, AT(size_min), BIT(SMM_CLI_MALLOC), BIT(SMM_CLI_MALLOC), 0, 0 },
	{ "size", "MIN-MAX", "block sizes, each drawn from MIN..MAX, or N for one size; K, M, G, T suffixes (default 1-16)", K_RANGE, AT(size_min), BIT(SMM_CLI_LOAD), 0, 0, 0 },
	{ "addr", "N", "the block's start address", K_U64, AT(addr), BLOCK, BLOCK, 0, 0 },
	{ "key", "HEX", "the block's key, 16 hex digits, as malloc printed it", K_KEY, AT(key), BIT(SMM_CLI_FILL) | BIT(SMM_CLI_RENEW), BIT(SMM_CLI_FILL) | BIT(SMM_CLI_RENEW), 0, 0 },
	{ "key", "HEX", "the block's key, 16 hex digits, as malloc printed it; without it, the operator's free by the admin token", K_KEY, AT(key), BIT(SMM_CLI_FREE), 0, 0, 0 },
	{ "ttl", "MS", "lease: the block is freed MS ms from now unless renewed", K_TTL, AT(ttl_ms), BIT(SMM_CLI_MALLOC), 0, 0, 0 },
	{ "ttl", "MS", "the lease now ends MS ms from now; 0 ends the lease (the block lives until freed)", K_TTL, AT(ttl_ms), BIT(SMM_CLI_RENEW), BIT(SMM_CLI_RENEW), 0, 0 },
	{ "ttl", "MS", "give every block a lease of MS ms", K_TTL, AT(ttl_ms), BIT(SMM_CLI_LOAD) | BIT(SMM_CLI_DEMO), 0, 0, 0 },
	{ "scope", "SCOPE", "connection (freed when this connection closes) or server (default)", K_SCOPE, AT(conn_scope), BIT(SMM_CLI_MALLOC), 0, 0, 0 },
	{ "char", "C", "character to write (default the owner's id character)", K_CHAR, AT(fill_char), BIT(SMM_CLI_FILL), 0, 0, 0 },
	{ "offset", "N", "first byte to show (default 0)", K_U64, AT(offset), BIT(SMM_CLI_DUMP), 0, 0, 0 },
	{ "length", "N", "bytes to show (default to the end)", K_U64, AT(length), BIT(SMM_CLI_DUMP), 0, 0, 0 },
	{ "raw", NULL, "the memory as one line, as the server sent it: no addresses, colour or legend", K_BOOL, AT(raw), BIT(SMM_CLI_DUMP), 0, 0, 0 },
	{ "blocks", NULL, "list the live blocks too", K_BOOL, AT(blocks), BIT(SMM_CLI_DUMP), 0, 0, 0 },
	{ "cells", "N", "a scaled map instead of every byte: N cells (1..16384), one character each, so any arena fits a screen", K_COUNT, AT(cells), BIT(SMM_CLI_DUMP), 0, SMM_PROTO_MAX_CELLS, 0 },
	{ "cells", "N", "cells in the scaled map, 1..16384 (default 1000)", K_COUNT, AT(cells), BIT(SMM_CLI_WATCH), 0, SMM_PROTO_MAX_CELLS, 0 },
	{ "interval", "SECONDS", "redraw every SECONDS (default 1)", K_SECONDS, AT(interval_ms), BIT(SMM_CLI_WATCH), 0, 0, 0 },
	{ "admin-token-file", "PATH", "file holding the admin token (default $SMM_ADMIN_TOKEN)", K_STR, AT(admin_token_file), BIT(SMM_CLI_RESET) | BIT(SMM_CLI_DEMO) | BIT(SMM_CLI_FREE) | BIT(SMM_CLI_COMPACT), 0, 0, 0 },
	{ "threads", "N", "request threads, ids 0..N-1 (default 10)", K_COUNT, AT(threads), BIT(SMM_CLI_DEMO), 0, SMM_CLI_MAX_THREADS, 0 },
	{ "threads", "N", "client threads, each running its share of the connections (default 2)", K_COUNT, AT(threads), BIT(SMM_CLI_LOAD), 0, SMM_CLI_MAX_THREADS, 0 },
	{ "seed", "N", "seed for the sizes the threads ask for: the same seed asks the same sizes", K_U64, AT(seed), BIT(SMM_CLI_DEMO), 0, 0, 0 },
	{ "reset", NULL, "free every block first (needs the admin token)", K_BOOL, AT(reset), BIT(SMM_CLI_DEMO), 0, 0, 0 },
	{ "connections", "N", "connections, spread over the threads (default 4)", K_COUNT, AT(connections), BIT(SMM_CLI_LOAD), 0, SMM_CLI_MAX_CONNECTIONS, 0 },
	{ "duration", "SECONDS", "run this long (default 5, unless --requests is given)", K_SECONDS, AT(duration_ms), BIT(SMM_CLI_LOAD), 0, 0, 0 },
	{ "requests", "N", "stop after about N requests, in whole units of work", K_U64, AT(requests), BIT(SMM_CLI_LOAD), 0, 0, 0 },
	{ "pipeline", "N", "requests in flight per connection (default 1)", K_COUNT, AT(pipeline), BIT(SMM_CLI_LOAD), 0, SMM_CLI_MAX_PIPELINE, 0 },
	{ "op", "OP", "malloc (malloc then free the same block, the default) or ping", K_OP, AT(op), BIT(SMM_CLI_LOAD), 0, 0, 0 },
	{ "help", NULL, "show this help and exit", K_BOOL, AT(help), ~0u, 0, 0, 'h' },
	{ "version", NULL, "show the version and exit", K_BOOL, AT(version), ~0u, 0, 0, 'V' },
};

#define NFLAGS (sizeof flags / sizeof flags[0])

static const struct {
	const char *name, *args, *brief, *more;
} cmds[SMM_CLI_NCMDS] = {
	[SMM_CLI_NONE] = { "", "COMMAND [OPTION]...", "Talk to an smm-server: the seed's demo, single requests and load runs.", NULL },
	[SMM_CLI_PING] = { "ping", "[OPTION]...", "Check that the server answers.", NULL },
	[SMM_CLI_MALLOC] = { "malloc", "--size N [--id N] [--ttl MS] [--scope SCOPE] [OPTION]...", "Allocate a block (the seed's my_malloc).", "Prints its address, size, owner id and key; fill and free need the key.\nA block with --scope connection is freed as soon as this command exits." },
	[SMM_CLI_FILL] = { "fill", "--addr N --key HEX [--char C] [OPTION]...", "Write a character into every byte of a block.", NULL },
	[SMM_CLI_FREE] = { "free", "--addr N [--key HEX | --admin-token-file PATH] [OPTION]...", "Free a block.", "Without --key it is the operator's free, by the admin token." },
	[SMM_CLI_DUMP] = { "dump", "[--offset N] [--length N] [--raw] [--blocks] [OPTION]...", "Show the memory.", "Rows of 50 bytes led by the address of the first. Bytes of a live block that\nstill hold the filler (allocated, never filled) show as ':', explained by a\nline under the map. One colour per owner with --color." },
	[SMM_CLI_STATS] = { "stats", "[OPTION]...", "Show the server's counters.", NULL },
	[SMM_CLI_RESET] = { "reset", "[--admin-token-file PATH] [OPTION]...", "Free every block (admin).", NULL },
	[SMM_CLI_RENEW] = { "renew", "--addr N --key HEX --ttl MS [OPTION]...", "Move a block's lease to end MS ms from now.", NULL },
	[SMM_CLI_COMPACT] = { "compact", "[--admin-token-file PATH] [OPTION]...", "Rewrite the server's log now (admin).", "The server writes one record per live block to a new log while it serves,\nthen puts it in the old one's place; stats counts finished rewrites in\naof_rewrites." },
	[SMM_CLI_DEMO] = { "demo", "[--threads N] [--seed N] [--reset] [--ttl MS] [OPTION]...", "The seed's program over TCP.", "N threads each send {\"op\":\"my_malloc\",...} for a random block at once, then\nfill it with their id, or print 'Thread <id>: Not enough memory'; then the\nmemory and each thread's thread_message (its address, or -1). --seed repeats\nthe sizes; which threads are denied depends on the order the requests reach\nthe server. Exit 0 however many were denied." },
	[SMM_CLI_LOAD] = { "load", "[--connections C] [--threads T] [--duration S | --requests N] [--pipeline P] [OPTION]...", "Load run: requests/s, latency percentiles, errors.", "Each unit of work is malloc then free of the same block (or one ping). A\nprogress line a second on stderr when it is a terminal; --json for scripts.\nInterrupted (Ctrl-C, or the server went away), it prints the summary of what\nit measured so far, marked interrupted, and exits 130 or 2." },
	[SMM_CLI_WATCH] = { "watch", "[--interval S] [--cells N] [OPTION]...", "Redraw the scaled memory map and the counters until Ctrl-C.", "Like watch(1) or top: on a terminal the screen is redrawn in place each round;\notherwise each round is printed as plain lines. Ctrl-C ends it with status 0." },
};

const char *smm_cli_cmd_name(enum smm_cli_cmd cmd)
{
	return (unsigned)cmd < SMM_CLI_NCMDS ? cmds[cmd].name : "";
}

static void set_defaults(struct smm_cli *cli)
{
	memset(cli, 0, sizeof *cli);
	strcpy(cli->host, SMM_CLI_DEFAULT_HOST);
	cli->port = SMM_CLI_DEFAULT_PORT;
	cli->timeout_ms = SMM_CLIENT_DEFAULT_TIMEOUT_MS;
	cli->length = SMM_CLIENT_TO_END;
	cli->size_min = 1;
	cli->size_max = 16;
	cli->connections = 4;
	cli->pipeline = 1;
	cli->op = SMM_OP_MALLOC;
	cli->interval_ms = 1000;
}

/* parse_u64 reads a decimal number, with K/M/G/T suffixes when asked,
 * that fits the protocol's integers. */
static int parse_u64(const char *s, bool suffixes, uint64_t *out)
{
	uint64_t v;

	if (smm_num_parse(s, suffixes, &v) < 0 || v > SMM_PROTO_MAX_INT)
		return -1;
	*out = v;
	return 0;
}

/* parse_range reads MIN-MAX or N (then MIN = MAX = N), suffixes allowed. */
static int parse_range(const char *s, uint64_t *lo, uint64_t *hi)
{
	char first[32];
	const char *dash = strchr(s, '-');
	size_t n = dash ? (size_t)(dash - s) : strlen(s);

	if (n >= sizeof first)
		return -1;
	memcpy(first, s, n);
	first[n] = '\0';
	if (parse_u64(first, true, lo) < 0 ||
	    (dash ? parse_u64(dash + 1, true, hi) : parse_u64(first, true, hi)) < 0)
		return -1;
	return *lo >= 1 && *lo <= *hi ? 0 : -1;
}

static int parse_seconds(const char *s, int *ms)
{
	char *end;
	double v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > MAX_SECONDS)
		return -1;
	*ms = (int)ceil(v * 1000.0);
	return 0;
}

static int parse_color(const char *v, enum smm_cli_color *out)
{
	static const char *const names[] = {
		[SMM_CLI_COLOR_AUTO] = "auto", [SMM_CLI_COLOR_ALWAYS] = "always",
		[SMM_CLI_COLOR_NEVER] = "never",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = (enum smm_cli_color)i;
			return 0;
		}
	}
	return -1;
}

static int apply(struct smm_cli *cli, const struct flag *f, const char *v)
{
	void *field = (char *)cli + f->off;
	uint64_t n;

	switch (f->kind) {
	case K_BOOL:
		*(bool *)field = true;
		return 0;
	case K_STR:
		if (strlen(v) >= (f->off == AT(host) ? sizeof cli->host : sizeof cli->admin_token_file) || !*v)
			return -1;
		strcpy(field, v);
		return 0;
	case K_PORT:
		if (parse_u64(v, false, &n) < 0 || n < 1 || n > 65535)
			return -1;
		*(int *)field = (int)n;
		return 0;
	case K_SECONDS:
		return parse_seconds(v, field);
	case K_U64:
		return parse_u64(v, false, field);
	case K_ID:
		if (parse_u64(v, false, &n) < 0 || n > SMM_PROTO_MAX_ID)
			return -1;
		*(int64_t *)field = (int64_t)n;
		return 0;
	case K_KEY:
		return smm_key_parse(v, strlen(v), field);
	case K_CHAR:
		if (strlen(v) != 1 || v[0] < 0x21 || v[0] > 0x7e)
			return -1;
		*(char *)field = v[0];
		return 0;
	case K_RANGE:
		return parse_range(v, &cli->size_min, &cli->size_max);
	case K_COUNT:
		if (parse_u64(v, false, &n) < 0 || n < 1 || n > f->max)
			return -1;
		*(int *)field = (int)n;
		return 0;
	case K_OP:
		if (strcmp(v, "malloc") && strcmp(v, "ping"))
			return -1;
		cli->op = strcmp(v, "ping") ? SMM_OP_MALLOC : SMM_OP_PING;
		return 0;
	case K_COLOR:
		return parse_color(v, &cli->color);
	case K_TTL:
		if (parse_u64(v, false, &n) < 0 || n > SMM_PROTO_MAX_TTL)
			return -1;
		cli->ttl_ms = n;
		cli->has_ttl = true;
		return 0;
	case K_SCOPE:
		if (strcmp(v, "connection") && strcmp(v, "server"))
			return -1;
		cli->conn_scope = strcmp(v, "connection") == 0;
		return 0;
	}
	return -1;
}

/* first_row returns the index of the first row named name: the one index
 * that stands for the flag in getopt and in seen[]. */
static size_t first_row(const char *name)
{
	size_t i = 0;

	while (i < NFLAGS && strcmp(flags[i].name, name) != 0)
		i++;
	return i;
}

/* row_for returns the row of flag i (a first row) that cmd takes, or -1. */
static long row_for(size_t i, enum smm_cli_cmd cmd)
{
	for (size_t j = i; j < NFLAGS; j++)
		if (strcmp(flags[j].name, flags[i].name) == 0 && (flags[j].cmds & BIT(cmd)))
			return (long)j;
	return -1;
}

static int bad_value(const struct flag *f, const char *where, const char *v, char *err,
		     size_t errlen)
{
	snprintf(err, errlen, "%s: invalid value '%s' (expected %s: %s)", where, v,
		 f->meta, f->help);
	return -1;
}

/* parse_env reads SMM_HOST and SMM_PORT for the settings no flag gave: a
 * flag wins, and its variable is then not read at all. */
static int parse_env(struct smm_cli *cli, const bool *seen, char *err, size_t errlen)
{
	static const struct { const char *env, *flag; } envs[] = {
		{ "SMM_HOST", "host" }, { "SMM_PORT", "port" },
	};

	for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
		size_t row = first_row(envs[i].flag);
		const char *v = seen[row] ? NULL : getenv(envs[i].env);
		if (v && *v && apply(cli, &flags[row], v) < 0)
			return bad_value(&flags[row], envs[i].env, v, err, errlen);
	}
	return 0;
}

static enum smm_cli_cmd find_cmd(const char *word)
{
	for (int i = SMM_CLI_NONE + 1; i < SMM_CLI_NCMDS; i++)
		if (strcmp(cmds[i].name, word) == 0)
			return (enum smm_cli_cmd)i;
	return SMM_CLI_NONE;
}

/* check_flags refuses flags the command does not take and reports a
 * missing required one, in table order. */
static int check_flags(const struct smm_cli *cli, const bool *seen, char *err, size_t errlen)
{
	unsigned bit = BIT(cli->cmd);

	for (size_t i = 0; i < NFLAGS; i++) {
		if (seen[i] && row_for(i, cli->cmd) < 0) {
			snprintf(err, errlen, "%s%s does not take --%s",
				 cli->cmd ? "" : "no command given: ", smm_cli_cmd_name(cli->cmd),
				 flags[i].name);
			return -1;
		}
	}
	if (cli->help || cli->version)
		return 0;
	for (size_t i = 0; i < NFLAGS; i++) {
		if (!seen[first_row(flags[i].name)] && (flags[i].required & bit)) {
			snprintf(err, errlen, "%s needs --%s", smm_cli_cmd_name(cli->cmd),
				 flags[i].name);
			return -1;
		}
	}
	return 0;
}

/* finish applies the rules that tie flags together. */
static int finish(struct smm_cli *cli, const bool *seen, char *err, size_t errlen)
{
	cli->has_seed = seen[first_row("seed")];
	cli->has_key = seen[first_row("key")];
	if (cli->has_ttl && cli->ttl_ms == 0 && cli->cmd != SMM_CLI_RENEW) {
		snprintf(err, errlen, "--ttl must be at least 1 (only renew takes 0)");
		return -1;
	}
	if (cli->cmd == SMM_CLI_MALLOC && cli->size_min != cli->size_max) {
		snprintf(err, errlen, "malloc takes one --size, not a range");
		return -1;
	}
	if (!seen[first_row("threads")])
		cli->threads = cli->cmd == SMM_CLI_DEMO ? SMM_CLI_DEMO_THREADS : 2;
	if (cli->cmd != SMM_CLI_LOAD)
		return 0;
	if (seen[first_row("duration")] && seen[first_row("requests")]) {
		snprintf(err, errlen, "load takes --duration or --requests, not both");
		return -1;
	}
	if (seen[first_row("requests")] && cli->requests == 0) {
		snprintf(err, errlen, "--requests must be at least 1");
		return -1;
	}
	if (!seen[first_row("duration")] && !seen[first_row("requests")])
		cli->duration_ms = 5000;
	if (cli->threads > cli->connections)
		cli->threads = cli->connections;
	if (cli->op == SMM_OP_PING && seen[first_row("size")]) {
		snprintf(err, errlen, "--op ping takes no --size");
		return -1;
	}
	return 0;
}

/* short_row returns the row of the flag whose short name is c (getopt
 * hands those back as the letter; long ones as their row). */
static size_t short_row(int c)
{
	size_t i = 0;

	while (i + 1 < NFLAGS && flags[i].short_name != c)
		i++;
	return i;
}

/* read_flags runs getopt_long over argv, marking each flag seen and
 * applying it with the meaning the command (guessed early) gives it. */
static int read_flags(struct smm_cli *cli, int argc, char **argv, bool *seen, char *err,
		      size_t errlen)
{
	struct option opts[NFLAGS + 1];
	char shorts[2 * NFLAGS + 2] = ":", where[64];
	size_t n = 0, ns = 1;
	int c, idx;

	for (size_t i = 0; i < NFLAGS; i++) {
		if (first_row(flags[i].name) != i)
			continue;
		opts[n++] = (struct option){ flags[i].name,
					     flags[i].kind == K_BOOL ? no_argument : required_argument,
					     NULL, (int)i };
		if (flags[i].short_name)
			shorts[ns++] = flags[i].short_name;
	}
	opts[n] = (struct option){ 0 };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, opts, &idx)) != -1) {
		long row;
		if (c == '?' || c == ':') {
			snprintf(err, errlen, "%s option '%s'",
				 c == '?' ? "unknown" : "missing value for", argv[optind - 1]);
			return -1;
		}
		if (c >= (int)NFLAGS)
			c = (int)short_row(c);
		seen[c] = true;
		row = row_for((size_t)c, cli->cmd);
		snprintf(where, sizeof where, "--%s", flags[c].name);
		if (apply(cli, &flags[row < 0 ? c : row], optarg) < 0)
			return bad_value(&flags[row < 0 ? c : row], where, optarg, err, errlen);
	}
	return 0;
}

/* read_words reads what follows the flags: COMMAND, or help [COMMAND]. */
static int read_words(struct smm_cli *cli, int argc, char **argv, char *err, size_t errlen)
{
	int at = optind;

	cli->cmd = SMM_CLI_NONE;
	if (at < argc && strcmp(argv[at], "help") == 0) {
		cli->help = true;
		at++;
	}
	if (at < argc) {
		cli->cmd = find_cmd(argv[at]);
		if (cli->cmd == SMM_CLI_NONE) {
			snprintf(err, errlen, "unknown command '%s'", argv[at]);
			return -1;
		}
		if (at + 1 < argc) {
			snprintf(err, errlen, "unexpected argument '%s'", argv[at + 1]);
			return -1;
		}
	} else if (!cli->help && !cli->version) {
		snprintf(err, errlen, "no command given");
		return -1;
	}
	return 0;
}

int smm_cli_parse(struct smm_cli *cli, int argc, char **argv, char *err, size_t errlen)
{
	bool seen[NFLAGS] = { false };

	_Static_assert(NFLAGS < ':', "getopt's ':', '?' and letters must not collide with rows");
	set_defaults(cli);
	/* Known early, so that an error can point at the command's --help. */
	for (int i = 1; i < argc && cli->cmd == SMM_CLI_NONE; i++)
		cli->cmd = find_cmd(argv[i]);
	if (read_flags(cli, argc, argv, seen, err, errlen) < 0 ||
	    read_words(cli, argc, argv, err, errlen) < 0 ||
	    parse_env(cli, seen, err, errlen) < 0 || check_flags(cli, seen, err, errlen) < 0)
		return -1;
	return cli->help || cli->version ? 0 : finish(cli, seen, err, errlen);
}

void smm_cli_usage(enum smm_cli_cmd cmd, FILE *out)
{
	unsigned bit = BIT(cmd);

	fprintf(out, "Usage: smm-client %s%s%s\n%s\n%s%s\n", cmds[cmd].name, cmd ? " " : "",
		cmds[cmd].args, cmds[cmd].brief, cmds[cmd].more ? cmds[cmd].more : "",
		cmds[cmd].more ? "\n" : "");
	if (cmd == SMM_CLI_NONE) {
		fputs("Commands:\n", out);
		for (int i = SMM_CLI_NONE + 1; i < SMM_CLI_NCMDS; i++)
			fprintf(out, "  %-8s %s\n", cmds[i].name, cmds[i].brief);
		fputs("\nRun 'smm-client COMMAND --help' (or 'smm-client help COMMAND') for a\n"
		      "command's options.\n\n", out);
	}
	fputs("Options:\n", out);
	for (size_t i = 0; i < NFLAGS; i++) {
		char left[64];
		if (!(flags[i].cmds & bit))
			continue;
		snprintf(left, sizeof left, "%s%c%s--%s%s%s", flags[i].short_name ? "-" : "",
			 flags[i].short_name ? flags[i].short_name : ' ',
			 flags[i].short_name ? ", " : "   ", flags[i].name,
			 flags[i].meta ? " " : "", flags[i].meta ? flags[i].meta : "");
		fprintf(out, "  %-28s %s\n", left, flags[i].help);
	}
	fputs("\nExit status: 0 success, 1 the server answered with an error,\n"
	      "2 server unreachable, timed out, or bad usage", out);
	fputs(cmd == SMM_CLI_LOAD ? " (or lost mid-run),\n130 interrupted (SIGINT).\n" : ".\n", out);
}

int smm_cli_admin_token(const struct smm_cli *cli, char token[SMM_PROTO_MAX_TOKEN + 1],
			char *err, size_t errlen)
{
	size_t len;
	int rc = smm_token_load(cli->admin_token_file, token, &len, err, errlen);

	if (rc == 0)
		snprintf(err, errlen, "no admin token: give --admin-token-file or set SMM_ADMIN_TOKEN");
	return rc > 0 ? 0 : -1;
}
