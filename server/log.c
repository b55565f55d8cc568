/* log.c — timestamped log lines. */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "buf.h"

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int smm_log_level_parse(const char *name, enum smm_log_level *level)
{
	for (int i = 0; i <= SMM_LOG_ERROR; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level = (enum smm_log_level)i;
			return 0;
		}
	}
	return -1;
}

void smm_log_write(const struct smm_log *log, enum smm_log_level level, const char *fmt, ...)
{
	char when[40], msg[1024];
	struct timeval tv;
	struct tm tm;
	struct smm_buf line;
	va_list ap;

	if (level < log->level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	smm_buf_init(&line);
	if (log->json) {
		smm_buf_addf(&line, "{\"time\":\"%s.%03dZ\",\"level\":\"%s\",\"msg\":", when,
			     (int)(tv.tv_usec / 1000), level_names[level]);
		smm_buf_add_json_string(&line, msg, strlen(msg));
		smm_buf_adds(&line, "}\n");
	} else {
		smm_buf_addf(&line, "%s.%03dZ %-5s %s\n", when, (int)(tv.tv_usec / 1000),
			     level_names[level], msg);
	}
	if (!line.oom) {
		fwrite(line.data, 1, line.len, log->out);
		fflush(log->out);
	}
	smm_buf_free(&line);
}
