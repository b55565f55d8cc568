/* pool.h — a per-thread cache of freed small blocks, so that the request
 * path in steady state does not reach malloc: main installs it as
 * libevent's allocator (evbuffer chains are freed when drained and made
 * again on the next read or reply). The request parser allocates
 * nothing (proto/request.c), so cJSON, which the server no longer calls,
 * needs no hook. */
#ifndef SMM_POOL_H
#define SMM_POOL_H

#include <stddef.h>

/* smm_pool_malloc, smm_pool_realloc and smm_pool_free behave as malloc,
 * realloc and free (NULL when memory ran out; realloc then leaves the
 * block alone). A block must be released with smm_pool_free or
 * smm_pool_realloc, never free. Blocks up to 64 KiB freed on a thread are
 * kept for that thread's next allocation of the same size class, up to
 * 1 MiB per class; larger ones go straight to malloc. Any thread; the
 * cache is the calling thread's own, so no lock is taken. */
void *smm_pool_malloc(size_t n);
void *smm_pool_realloc(void *p, size_t n);
void smm_pool_free(void *p);

/* smm_pool_drain frees the blocks the calling thread's cache holds: call it
 * on a thread's way out, so nothing it cached is lost. */
void smm_pool_drain(void);

#endif
