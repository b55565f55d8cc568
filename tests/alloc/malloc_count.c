/* malloc_count.c — LD_PRELOAD object for test_alloc_count: counts every
 * malloc, calloc, realloc and aligned allocation the process makes, in a
 * counter kept in the file named by SMM_MALLOC_COUNT_FILE (mapped shared),
 * so the test reads it while the server runs. Frees are not counted. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

/* The mapped counter; NULL until the constructor ran (or without the file). */
static uint64_t *counter;

__attribute__((constructor)) static void open_counter(void)
{
	const char *path = getenv("SMM_MALLOC_COUNT_FILE");
	int fd;
	void *p;

	if (!path || (fd = open(path, O_RDWR)) < 0)
		return;
	p = mmap(NULL, sizeof *counter, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p != MAP_FAILED)
		counter = p;
}

static void count(void)
{
	if (counter)
		__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	count();
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	count();
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	count();
	return __libc_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	count();
	p = __libc_memalign(align, n);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	count();
	return __libc_memalign(align, n);
}
