/* config.c — one table describes every setting: its flag, its environment
 * variable, how to read it and its help line, so the three never disagree. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "proto.h"

enum kind { K_STR, K_PORT, K_BYTES, K_COUNT, K_SECONDS, K_POLICY, K_CHAR, K_POW2,
	    K_LEVEL, K_FORMAT, K_MS, K_FSYNC, K_CPU };

struct setting {
	const char *flag, *env, *meta, *help;
	enum kind kind;
	size_t off;
};

#define AT(field) offsetof(struct smm_config, field)

static const struct setting settings[] = {
	{ "host", "SMM_HOST", "HOST", "address to listen on (default 127.0.0.1)", K_STR, AT(host) },
	{ "port", "SMM_PORT", "PORT", "TCP port, 0 picks a free one (default 7150)", K_PORT, AT(port) },
	{ "http-port", "SMM_HTTP_PORT", "PORT", "HTTP port for /metrics, /healthz and the memory map page, 0 picks a free one (default off)", K_PORT, AT(http_port) },
	{ "memory", "SMM_MEMORY", "BYTES", "arena size; K, M, G, T suffixes are powers of 1024 (default 150)", K_BYTES, AT(memory) },
	{ "policy", "SMM_POLICY", "NAME", "placement policy (default bump)", K_POLICY, AT(policy) },
	{ "align", "SMM_ALIGN", "N", "start every block at a multiple of N, a power of two (default 1)", K_POW2, AT(align) },
	{ "filler", "SMM_FILLER", "CHAR", "character shown for free bytes (default .)", K_CHAR, AT(filler) },
	{ "admin-token-file", "SMM_ADMIN_TOKEN_FILE", "PATH", "file holding the admin token for reset (else $SMM_ADMIN_TOKEN)", K_STR, AT(admin_token_file) },
	{ "max-line", "SMM_MAX_LINE", "BYTES", "longest request line (default 65536)", K_BYTES, AT(max_line) },
	{ "max-conns", "SMM_MAX_CONNS", "N", "most open connections; more get a busy error (default 1000)", K_COUNT, AT(max_conns) },
	{ "queue-depth", "SMM_QUEUE_DEPTH", "N", "requests in flight before reading pauses (default 65536)", K_COUNT, AT(queue_depth) },
	{ "io-threads", "SMM_IO_THREADS", "N", "event loops serving connections, each on its own thread, 1 to 64 (default 1)", K_COUNT, AT(io_threads) },
	{ "allocator-cpu", "SMM_ALLOCATOR_CPU", "WHERE", "allocator thread's CPU: loop (the event loop's), any, or auto: loop with one loop and no CPU spare (default auto)", K_CPU, AT(allocator_cpu) },
	{ "max-output", "SMM_MAX_OUTPUT", "BYTES", "unread reply bytes per connection before reading pauses (default 1M)", K_BYTES, AT(max_output) },
	{ "idle-timeout", "SMM_IDLE_TIMEOUT", "SECONDS", "close connections idle this long, 0 never (default 0)", K_SECONDS, AT(idle_timeout) },
	{ "default-ttl", "SMM_DEFAULT_TTL", "MS", "lease a malloc without ttl_ms gets, 0 none (default 0)", K_MS, AT(default_ttl) },
	{ "max-ttl", "SMM_MAX_TTL", "MS", "longest lease a client may ask for, 0 no cap (default 0)", K_MS, AT(max_ttl) },
	{ "drain-timeout", "SMM_DRAIN_TIMEOUT", "SECONDS", "on SIGTERM, wait this long for owed replies (default 10)", K_SECONDS, AT(drain_timeout) },
	{ "aof", "SMM_AOF", "FILE", "log every change to FILE and replay it at start (default none)", K_STR, AT(aof) },
	{ "fsync", "SMM_FSYNC", "WHEN", "sync the log: always (each batch), everysec or no (default everysec)", K_FSYNC, AT(fsync) },
	{ "aof-rewrite-min", "SMM_AOF_REWRITE_MIN", "BYTES", "rewrite the log once past this and twice its last rewritten size (default 64M)", K_BYTES, AT(aof_rewrite_min) },
	{ "log-level", "SMM_LOG_LEVEL", "LEVEL", "debug, info, warn or error (default info)", K_LEVEL, AT(log_level) },
	{ "log-format", "SMM_LOG_FORMAT", "FORMAT", "text or json (default text)", K_FORMAT, AT(log_json) },
};

#define NSETTINGS (sizeof settings / sizeof settings[0])

static void set_defaults(struct smm_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	strcpy(cfg->host, "127.0.0.1");
	cfg->port = 7150;
	cfg->http_port = -1;
	cfg->memory = 150;
	cfg->policy = smm_policy_find("bump");
	cfg->align = 1;
	cfg->filler = '.';
	cfg->max_line = SMM_PROTO_DEFAULT_MAX_LINE;
	cfg->max_conns = 1000;
	cfg->queue_depth = 65536;
	cfg->io_threads = 1;
	cfg->max_output = 1024 * 1024;
	cfg->drain_timeout = 10;
	cfg->log_level = SMM_LOG_INFO;
	cfg->fsync = SMM_AOF_EVERYSEC;
	cfg->aof_rewrite_min = (size_t)64 * 1024 * 1024;
}

static int set_number(const struct setting *s, void *field, const char *v)
{
	uint64_t n;

	if (smm_num_parse(v, s->kind == K_BYTES, &n) < 0)
		return -1;
	switch (s->kind) {
	case K_PORT:
		if (n > 65535)
			return -1;
		*(int *)field = (int)n;
		return 0;
	case K_SECONDS:
		if (n > 86400 * 365)
			return -1;
		*(int *)field = (int)n;
		return 0;
	case K_POW2:
		if (n == 0 || (n & (n - 1)))
			return -1;
		*(uint64_t *)field = n;
		return 0;
	case K_MS:
		if (n > SMM_PROTO_MAX_TTL)
			return -1;
		*(uint64_t *)field = n;
		return 0;
	case K_BYTES:
		if (n == 0)
			return -1;
		/* fall through */
	default:
		if (s->off == AT(memory) || s->off == AT(align))
			*(uint64_t *)field = n;
		else
			*(size_t *)field = (size_t)n;
		return 0;
	}
}

static int apply(struct smm_config *cfg, const struct setting *s, const char *v)
{
	void *field = (char *)cfg + s->off;

	switch (s->kind) {
	case K_STR:
		/* Every string setting but the host is a path of this size. */
		if (strlen(v) >= (s->off == AT(host) ? sizeof cfg->host : sizeof cfg->aof))
			return -1;
		strcpy(field, v);
		return 0;
	case K_POLICY:
		cfg->policy = smm_policy_find(v);
		return cfg->policy ? 0 : -1;
	case K_CHAR:
		if (strlen(v) != 1 || v[0] < 0x21 || v[0] > 0x7e)
			return -1;
		cfg->filler = v[0];
		return 0;
	case K_LEVEL:
		return smm_log_level_parse(v, &cfg->log_level);
	case K_FSYNC:
		return smm_aof_fsync_parse(v, &cfg->fsync);
	case K_CPU:
		if (!strcmp(v, "auto") || !strcmp(v, "loop") || !strcmp(v, "any")) {
			cfg->allocator_cpu = !strcmp(v, "loop") ? SMM_CPU_LOOP
					     : !strcmp(v, "any") ? SMM_CPU_ANY : SMM_CPU_AUTO;
			return 0;
		}
		return -1;
	case K_FORMAT:
		if (strcmp(v, "text") && strcmp(v, "json"))
			return -1;
		cfg->log_json = strcmp(v, "json") == 0;
		return 0;
	default:
		return set_number(s, field, v);
	}
}

static int bad_value(const struct setting *s, const char *where, const char *v,
		     char *err, size_t errlen)
{
	if (s->kind == K_POLICY)
		snprintf(err, errlen, "%s: unknown policy '%s' (choose from %s)", where, v,
			 smm_policy_names());
	else
		snprintf(err, errlen, "%s: invalid value '%s' (expected %s: %s)", where, v,
			 s->meta, s->help);
	return -1;
}

/* parse_env applies the environment to the settings no flag gave (bit i
 * of given set: settings[i] came from a flag, which wins). */
static int parse_env(struct smm_config *cfg, uint32_t given, char *err, size_t errlen)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *v = getenv(settings[i].env);
		if (!(given & 1u << i) && v && *v && apply(cfg, &settings[i], v) < 0)
			return bad_value(&settings[i], settings[i].env, v, err, errlen);
	}
	return 0;
}

static int bad_path(char *err, size_t errlen)
{
	snprintf(err, errlen, "--check-aof: path too long");
	return -1;
}

static int parse_flags(struct smm_config *cfg, int argc, char **argv, uint32_t *given,
		       char *err, size_t errlen)
{
	struct option opts[NSETTINGS + 5];
	char where[64];
	int c, idx;

	for (size_t i = 0; i < NSETTINGS; i++)
		opts[i] = (struct option){ settings[i].flag, required_argument, NULL, (int)i };
	opts[NSETTINGS] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[NSETTINGS + 1] = (struct option){ "version", no_argument, NULL, 'V' };
	opts[NSETTINGS + 2] = (struct option){ "check-aof", required_argument, NULL, 'C' };
	opts[NSETTINGS + 3] = (struct option){ "fix", no_argument, NULL, 'F' };
	opts[NSETTINGS + 4] = (struct option){ 0 };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", opts, &idx)) != -1) {
		if (c == 'C' || c == 'F') {
			if (c == 'F')
				cfg->fix = 1;
			else if (snprintf(cfg->check_aof, sizeof cfg->check_aof, "%s", optarg) >=
				 (int)sizeof cfg->check_aof)
				return bad_path(err, errlen);
		} else if (c == 'h' || c == 'V') {
			*(c == 'h' ? &cfg->help : &cfg->version) = 1;
		} else if (c == '?' || c == ':') {
			snprintf(err, errlen, "%s option '%s'",
				 c == '?' ? "unknown" : "missing value for", argv[optind - 1]);
			return -1;
		} else {
			snprintf(where, sizeof where, "--%s", settings[c].flag);
			*given |= 1u << c;
			if (apply(cfg, &settings[c], optarg) < 0)
				return bad_value(&settings[c], where, optarg, err, errlen);
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

int smm_config_parse(struct smm_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	uint32_t given = 0;

	_Static_assert(NSETTINGS <= 32, "one bit per setting in 'given'");
	set_defaults(cfg);
	if (parse_flags(cfg, argc, argv, &given, err, errlen) < 0 ||
	    parse_env(cfg, given, err, errlen) < 0)
		return -1;
	if (cfg->fix && !cfg->check_aof[0]) {
		snprintf(err, errlen, "--fix goes with --check-aof FILE");
		return -1;
	}
	if (cfg->queue_depth == 0) {
		snprintf(err, errlen, "--queue-depth must be at least 1");
		return -1;
	}
	if (cfg->io_threads < 1 || cfg->io_threads > SMM_CONFIG_MAX_IO_THREADS) {
		snprintf(err, errlen, "--io-threads must be from 1 to %d", SMM_CONFIG_MAX_IO_THREADS);
		return -1;
	}
	if (cfg->allocator_cpu == SMM_CPU_LOOP && cfg->io_threads > 1) {
		snprintf(err, errlen, "--allocator-cpu loop goes with --io-threads 1");
		return -1;
	}
	if (cfg->max_ttl && cfg->default_ttl > cfg->max_ttl) {
		snprintf(err, errlen, "--default-ttl %llu is over --max-ttl %llu",
			 (unsigned long long)cfg->default_ttl, (unsigned long long)cfg->max_ttl);
		return -1;
	}
	return 0;
}

void smm_config_usage(FILE *out)
{
	fputs("Usage: smm-server [OPTION]...\n"
	      "Serve a shared memory arena over TCP (newline-delimited JSON, see PROTOCOL.md).\n\n",
	      out);
	for (size_t i = 0; i < NSETTINGS; i++) {
		char left[64];
		snprintf(left, sizeof left, "--%s %s", settings[i].flag, settings[i].meta);
		fprintf(out, "  %-28s %s\n  %-28s   env %s\n", left, settings[i].help, "",
			settings[i].env);
	}
	fprintf(out, "  %-28s %s\n  %-28s %s\n  %-28s %s\n  %-28s %s\n\nPolicies: %s.\n"
		"The admin token may also come from $SMM_ADMIN_TOKEN. A flag wins over its\n"
		"environment variable, which is then not read.\n"
		"SIGINT/SIGTERM: stop accepting, answer what is queued, exit 0.\n",
		"--check-aof=FILE", "say what the log FILE holds and where it is damaged; exit",
		"--fix", "with --check-aof: cut a damaged log to its last good record",
		"-h, --help", "show this help and exit", "-V, --version", "show the version and exit",
		smm_policy_names());
}
