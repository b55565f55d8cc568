/* affinity_refused.c — an LD_PRELOAD shim for test_placement: it refuses
 * to pin a thread to a single CPU, as the kernel does when a container's
 * cpuset no longer holds that CPU, after letting SMM_AFFINITY_ALLOW such
 * pins through (default 0). Wider masks (putting a thread back on its
 * CPUs) always pass. Each single-CPU request appends a byte to the file
 * SMM_AFFINITY_CALLS, when set, so a test can see that one was made. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*setaffinity_fn)(pthread_t, size_t, const cpu_set_t *);

static void count_call(void)
{
	const char *path = getenv("SMM_AFFINITY_CALLS");
	int fd;

	if (!path || (fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
		return;
	if (write(fd, "x", 1) < 0)
		abort(); /* the test would miscount */
	close(fd);
}

int pthread_setaffinity_np(pthread_t thread, size_t size, const cpu_set_t *set)
{
	static int allowed = -1; /* only the allocator thread pins: no lock */
	setaffinity_fn real = (setaffinity_fn)dlsym(RTLD_NEXT, "pthread_setaffinity_np");

	if (!real)
		return ENOSYS;
	if (CPU_COUNT_S(size, set) != 1)
		return real(thread, size, set);
	count_call();
	if (allowed < 0)
		allowed = getenv("SMM_AFFINITY_ALLOW") ? atoi(getenv("SMM_AFFINITY_ALLOW")) : 0;
	if (allowed == 0)
		return EINVAL;
	allowed--;
	return real(thread, size, set);
}
