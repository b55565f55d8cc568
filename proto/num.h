/* num.h — numbers on command lines and in environment variables: one
 * reader for smm-server's settings and smm-client's flags, so "64M" means
 * the same to both. Pure: no I/O, no state; any thread. */
#ifndef SMM_NUM_H
#define SMM_NUM_H

#include <stdbool.h>
#include <stdint.h>

/* smm_num_parse reads s, a plain decimal number (digits only: no sign, no
 * spaces), into *out. With suffixes, one final K, M, G or T (either case)
 * multiplies it by 1024, 1024^2, 1024^3 or 1024^4. Returns 0, or -1 when
 * s is not such a number or its value does not fit in 64 bits; *out is
 * then unchanged. */
int smm_num_parse(const char *s, bool suffixes, uint64_t *out);

#endif
