/* request.h — one request line to a typed request and back. All of the
 * protocol's input validation lives in smm_request_parse. */
#ifndef SMM_REQUEST_H
#define SMM_REQUEST_H

#include "buf.h"
#include "proto.h"

/* smm_request_parse reads one request line (line[0..len), without its
 * "\n"; a trailing "\r" is ignored) into *req, which it zeroes first.
 * Returns 0 on success. On error returns -1 and fills err->err and
 * err->message; *req then holds only the tag, if one was read, so the
 * error reply can echo it. Either way req->tag points into line (the raw
 * bytes of the tag's value, as sent): copy them before line goes. The
 * line must be RFC 8259 JSON (PROTOCOL.md). Allocates nothing.
 * Thread-safe: no shared state. */
int smm_request_parse(const char *line, size_t len, struct smm_request *req,
		      struct smm_reply *err);

/* smm_request_format appends req as one wire line ending in "\n" to out,
 * writing only the fields req->op uses (and req->tag, if set, verbatim).
 * Used by clients. On allocation failure out->oom is set. */
void smm_request_format(const struct smm_request *req, struct smm_buf *out);

#endif
