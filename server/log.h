/* log.h — one line per event on a stream: time, level, message; plain
 * text for people or JSON for log collectors. */
#ifndef SMM_LOG_H
#define SMM_LOG_H

#include <stdio.h>

enum smm_log_level { SMM_LOG_DEBUG, SMM_LOG_INFO, SMM_LOG_WARN, SMM_LOG_ERROR };

struct smm_log {
	enum smm_log_level level; /* lines below this level are dropped */
	int json;                 /* 1: one JSON object per line */
	FILE *out;                /* stderr in the server */
};

/* smm_log_level_parse sets *level from "debug", "info", "warn" or
 * "error". Returns 0, or -1 for any other name (nothing set). */
int smm_log_level_parse(const char *name, enum smm_log_level *level);

/* smm_log_write formats one message at level and writes it as one line,
 * in one write, so lines from several threads never interleave. */
void smm_log_write(const struct smm_log *log, enum smm_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
