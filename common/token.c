/* token.c — load the admin token from a file or the environment. */
#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t read_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		snprintf(err, errlen, "cannot read admin token file %s: %s", path, strerror(errno));
		return (size_t)-1;
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	return n;
}

int smm_token_load(const char *path, char out[SMM_PROTO_MAX_TOKEN + 1], size_t *len,
		   char *err, size_t errlen)
{
	/* Room for one byte too many, and a CRLF, so "too long" is seen. */
	char buf[SMM_PROTO_MAX_TOKEN + 3];
	const char *env = getenv("SMM_ADMIN_TOKEN");
	size_t n;

	out[0] = '\0';
	*len = 0;
	if (path && *path) {
		n = read_file(path, buf, sizeof buf, err, errlen);
		if (n == (size_t)-1)
			return -1;
	} else if (env && *env) {
		n = strnlen(env, SMM_PROTO_MAX_TOKEN + 1);
		memcpy(buf, env, n);
	} else {
		return 0;
	}
	if (n == 0 || n > SMM_PROTO_MAX_TOKEN) {
		snprintf(err, errlen, "the admin token must be 1 to %d bytes", SMM_PROTO_MAX_TOKEN);
		return -1;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
	*len = n;
	return 1;
}
