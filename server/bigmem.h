/* bigmem.h — heap memory for the allocator core's large tables, backed by
 * transparent huge pages where the kernel allows: a table of millions of
 * entries probed at random then costs a cache miss per probe, not a cache
 * miss and a page-table walk. */
#ifndef SMM_BIGMEM_H
#define SMM_BIGMEM_H

#include <stddef.h>

/* Tables this big or bigger ask for huge pages. */
#define SMM_BIGMEM_HUGE ((size_t)2 << 20)

/* smm_bigmem_alloc returns n bytes (n >= 1), zeroed when zero is nonzero,
 * or NULL when memory ran out. From SMM_BIGMEM_HUGE up the block starts on
 * a huge-page boundary and is advised for huge pages. The caller owns it
 * and releases it with free(). Any thread. */
void *smm_bigmem_alloc(size_t n, int zero);

#endif
