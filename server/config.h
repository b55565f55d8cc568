/* config.h — smm-server's settings: command-line flags, else SMM_*
 * environment variables (read only for settings no flag gave), else the
 * defaults. */
#ifndef SMM_CONFIG_H
#define SMM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "aof.h"
#include "log.h"
#include "policy.h"

/* The most event loops --io-threads may ask for: as many places as a job
 * can be handed back to (SMM_PORTS_MAX in job.h). */
#define SMM_CONFIG_MAX_IO_THREADS 64

/* --allocator-cpu: where the allocator thread may run. */
enum smm_config_cpu {
	SMM_CPU_AUTO, /* LOOP when no CPU is left for the allocator, else ANY */
	SMM_CPU_LOOP, /* on the CPU of the (one) event loop, following it */
	SMM_CPU_ANY,  /* wherever the scheduler puts it */
};

struct smm_config {
	char host[256];
	int port;
	int http_port; /* -1: no HTTP side port */
	uint64_t memory;
	const struct smm_policy_ops *policy;
	char filler;
	uint64_t align;
	char admin_token_file[4096];
	char aof[4096];                /* the log's path; empty: no log */
	enum smm_aof_fsync fsync;
	size_t aof_rewrite_min;        /* bytes the log must pass before a rewrite */
	char check_aof[4096];          /* --check-aof (no variable): check this log, exit */
	int fix;                       /* --fix: truncate a damaged log */
	size_t max_line, max_conns, queue_depth, max_output;
	size_t io_threads;             /* event loops, 1 .. SMM_CONFIG_MAX_IO_THREADS */
	enum smm_config_cpu allocator_cpu;
	uint64_t default_ttl, max_ttl; /* ms; 0: none */
	int idle_timeout;
	int drain_timeout;
	enum smm_log_level log_level;
	int log_json;
	int help, version; /* --help / --version asked */
};

/* smm_config_parse fills *cfg from argv, then from the environment for
 * the settings no flag gave (a flag's variable is not read at all), the
 * defaults for the rest. Returns 0, or -1 with a one-line reason in err (cfg then
 * partly filled; the caller should exit with status 2). */
int smm_config_parse(struct smm_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* smm_config_usage writes the --help text to out. */
void smm_config_usage(FILE *out);

#endif
