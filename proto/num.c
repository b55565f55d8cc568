/* num.c — decimal numbers with optional binary-unit suffixes. */
#include "num.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int smm_num_parse(const char *s, bool suffixes, uint64_t *out)
{
	static const char units[] = "KMGT";
	char *end;
	unsigned long long v;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (suffixes && *end) {
		const char *u = strchr(units, *end & ~0x20);
		if (!u || !*u || end[1])
			return -1;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (v > (UINT64_MAX >> shift))
			return -1;
	}
	if (*end)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}
