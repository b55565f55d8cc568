/* config.h — smm-server's settings: defaults, SMM_* environment variables
 * and command-line flags, in that order of precedence (a flag wins). */
#ifndef SMM_CONFIG_H
#define SMM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "policy.h"

struct smm_config {
	char host[256];
	int port;
	uint64_t memory;
	const struct smm_policy_ops *policy;
	char filler;
	uint64_t align;
	char admin_token_file[4096];
	size_t max_line, max_conns, queue_depth, max_output;
	int idle_timeout;
	int drain_timeout;
	enum smm_log_level log_level;
	int log_json;
	int help, version; /* --help / --version asked */
};

/* smm_config_parse fills *cfg from the defaults, then the environment,
 * then argv. Returns 0, or -1 with a one-line reason in err (cfg then
 * partly filled; the caller should exit with status 2). */
int smm_config_parse(struct smm_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* smm_config_usage writes the --help text to out. */
void smm_config_usage(FILE *out);

/* smm_config_admin_token loads the admin token: the content of
 * admin_token_file without its trailing newline, else $SMM_ADMIN_TOKEN,
 * else none (*token = NULL, reset always forbidden). Returns 0, or -1
 * with a reason in err. *token is malloc'd; the caller frees it. */
int smm_config_admin_token(const struct smm_config *cfg, char **token, size_t *len,
			   char *err, size_t errlen);

#endif
