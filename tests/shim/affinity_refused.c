/* affinity_refused.c — an LD_PRELOAD shim whose pthread_setaffinity_np
 * always fails, as it does when a container's cpuset no longer holds the
 * CPU asked for: test_placement checks that the allocator thread then
 * runs anywhere and the server goes on serving. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>

int pthread_setaffinity_np(pthread_t thread, size_t size, const cpu_set_t *set)
{
	(void)thread, (void)size, (void)set;
	return EINVAL;
}
