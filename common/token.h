/* token.h — where the admin token comes from, the same for server and
 * client: a file (its content without the trailing newline), else the
 * SMM_ADMIN_TOKEN environment variable. Never a command-line argument,
 * which `ps` shows to every user. */
#ifndef SMM_TOKEN_H
#define SMM_TOKEN_H

#include <stddef.h>

#include "proto.h"

/* smm_token_load reads the token from the file at path when path is
 * non-empty, else from $SMM_ADMIN_TOKEN. Returns 1 with the token in
 * out (NUL-terminated) and its length in *len; 0 when neither is set
 * (out empty); or -1 with a reason in err when the file cannot be read or
 * the token is empty or longer than SMM_PROTO_MAX_TOKEN. */
int smm_token_load(const char *path, char out[SMM_PROTO_MAX_TOKEN + 1], size_t *len,
		   char *err, size_t errlen);

#endif
