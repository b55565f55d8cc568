/* request_ref.h — the pre-scanner reference parser (cJSON based) and the
 * differential check of proto/request.c's scanner against it. Test code
 * only: fuzz_request, test_request and the parse benchmark link it.
 *
 * The scanner must agree with the reference on accept/reject, on the error
 * code and message, and on every field of struct smm_request, except in
 * two documented cases where the reference is not RFC 8259 or not exact:
 *  1. the scanner says bad_json "request is not valid JSON" and the line
 *     holds a number form RFC 8259 refuses ("01", "1.", "-.5"), or a raw
 *     control byte that is not JSON white space (outside the tag's value,
 *     where the reference's own check applies);
 *  2. the scanner says "... must be an integer ..." and the line holds a
 *     number that is not an integer as written but becomes one as a double
 *     (1.00000000000000001, 1e-400, 5000000000000000.5). */
#ifndef SMM_REQUEST_REF_H
#define SMM_REQUEST_REF_H

#include "request.h"

/* smm_request_ref_parse is smm_request_parse before issue 12: the same
 * contract (request.h), cJSON inside. */
int smm_request_ref_parse(const char *line, size_t len, struct smm_request *req,
			  struct smm_reply *err);

/* smm_request_ref_diff parses line[0..len) with both parsers and returns
 * NULL when they agree (or differ only as the two cases above allow),
 * else a static string naming the first disagreement. Any thread. */
const char *smm_request_ref_diff(const char *line, size_t len);

#endif
