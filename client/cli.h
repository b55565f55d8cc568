/* cli.h — smm-client's command line: one table of flags says which
 * commands take each flag, how to read it and its help line, so parsing,
 * checking and --help never disagree. Pure: no I/O but the admin token
 * file, no threads. */
#ifndef SMM_CLI_H
#define SMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

/* Default server address when neither flags nor SMM_HOST/SMM_PORT say. */
#define SMM_CLI_DEFAULT_HOST "127.0.0.1"
#define SMM_CLI_DEFAULT_PORT 7150
/* The seed ran ten request threads. */
#define SMM_CLI_DEMO_THREADS 10
/* More threads than this would only measure the scheduler. */
#define SMM_CLI_MAX_THREADS 1024
/* Beyond this a load run meets the server's own connection limit first. */
#define SMM_CLI_MAX_CONNECTIONS 10000
/* Cells of watch's map when --cells does not say: 20 rows of 50. */
#define SMM_CLI_WATCH_CELLS 1000
/* Requests in flight per connection; more only grows the server's queue. */
#define SMM_CLI_MAX_PIPELINE 65536

enum smm_cli_cmd {
	SMM_CLI_NONE, /* no command given: only --help or --version make sense */
	SMM_CLI_PING,
	SMM_CLI_MALLOC,
	SMM_CLI_FILL,
	SMM_CLI_FREE,
	SMM_CLI_DUMP,
	SMM_CLI_STATS,
	SMM_CLI_RESET,
	SMM_CLI_RENEW,
	SMM_CLI_COMPACT,
	SMM_CLI_DEMO,
	SMM_CLI_LOAD,
	SMM_CLI_WATCH,
	SMM_CLI_NCMDS
};

/* --color: when the map is drawn in colour. */
enum smm_cli_color {
	SMM_CLI_COLOR_AUTO,   /* when stdout is a terminal and $NO_COLOR is unset or empty */
	SMM_CLI_COLOR_ALWAYS, /* for watch(1), less -R */
	SMM_CLI_COLOR_NEVER,
};

/* Everything the command line (and SMM_HOST, SMM_PORT) said. */
struct smm_cli {
	enum smm_cli_cmd cmd;
	bool help, version, json;
	bool verbose;             /* one-shot commands, demo: show the wire traffic */
	enum smm_cli_color color; /* dump, demo, watch */
	char host[256];
	int port;
	int timeout_ms;
	/* one-shot commands */
	int64_t id;
	uint64_t size_min, size_max; /* malloc: equal; load: the range */
	uint64_t addr, key;
	bool has_key;        /* free without --key is the operator's, by admin token */
	uint64_t ttl_ms;     /* malloc, renew, load, demo: the lease; has_ttl says if given */
	bool has_ttl;
	bool conn_scope;     /* malloc --scope connection */
	char fill_char;      /* 0: the owner's id character */
	uint64_t offset, length; /* dump; length SMM_CLIENT_TO_END when absent */
	bool raw, blocks;
	int cells;           /* dump, watch: a scaled map of this many cells; 0: none */
	/* watch */
	int interval_ms;
	char admin_token_file[1024];
	/* demo */
	int threads;
	bool has_seed, reset;
	uint64_t seed;
	/* load */
	int connections, pipeline;
	int duration_ms;   /* 0 when --requests bounds the run instead */
	uint64_t requests; /* 0 when --duration bounds the run */
	enum smm_op op;    /* SMM_OP_MALLOC (malloc then free) or SMM_OP_PING */
};

/* smm_cli_parse reads argv (argv[0] is the program) into *cli after
 * filling in the defaults; SMM_HOST and SMM_PORT are read only for what no
 * --host or --port gave. "help [COMMAND]", -h and --help ask for help;
 * -V and --version for the version. Returns 0, or -1 with one
 * line in err for an unknown command or flag, a flag the command does not
 * take, a bad value or a missing required flag; cli->cmd then names the
 * command the words seem to ask for, for pointing at its --help.
 * Uses getopt_long, so it is not thread-safe: main thread only. */
int smm_cli_parse(struct smm_cli *cli, int argc, char **argv, char *err, size_t errlen);

/* smm_cli_usage writes the help for cmd (SMM_CLI_NONE: the overview). */
void smm_cli_usage(enum smm_cli_cmd cmd, FILE *out);

/* smm_cli_cmd_name returns the command's word ("malloc"). Static storage. */
const char *smm_cli_cmd_name(enum smm_cli_cmd cmd);

/* smm_cli_admin_token reads the admin token from cli->admin_token_file
 * (one line; a final newline is dropped) or else $SMM_ADMIN_TOKEN into
 * token (NUL-terminated). Returns 0, or -1 with one line in err when
 * neither gives a non-empty token of at most SMM_PROTO_MAX_TOKEN bytes. */
int smm_cli_admin_token(const struct smm_cli *cli, char token[SMM_PROTO_MAX_TOKEN + 1],
			char *err, size_t errlen);

#endif
