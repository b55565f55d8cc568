/* cpus.c — CPU affinity with sets sized at run time (CPU_ALLOC), so a
 * kernel with more than CPU_SETSIZE CPU ids is read and pinned right. */
#include "cpus.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* The largest set tried before giving up: 2^20 CPU ids. */
#define CPUS_MAX (1 << 20)

int smm_cpus_save(struct smm_cpus *c)
{
	long conf = sysconf(_SC_NPROCESSORS_CONF);
	int n = conf > CPU_SETSIZE ? (int)conf : CPU_SETSIZE;

	/* sched_getaffinity refuses a set smaller than the kernel's mask, whose
	 * size it does not tell: grow until it fits. */
	for (; n <= CPUS_MAX; n *= 2) {
		c->set = CPU_ALLOC(n);
		c->size = CPU_ALLOC_SIZE(n);
		if (!c->set)
			break;
		if (sched_getaffinity(0, c->size, c->set) == 0)
			return 0;
		CPU_FREE(c->set);
		if (errno != EINVAL)
			break;
	}
	c->set = NULL;
	c->size = 0;
	return -1;
}

size_t smm_cpus_count(const struct smm_cpus *c)
{
	return c->set ? (size_t)CPU_COUNT_S(c->size, c->set) : 0;
}

int smm_cpus_pin(int cpu)
{
	size_t size;
	cpu_set_t *set;
	int rc;

	if (cpu < 0 || cpu >= CPUS_MAX)
		return EINVAL;
	set = CPU_ALLOC(cpu + 1);
	if (!set)
		return ENOMEM;
	size = CPU_ALLOC_SIZE(cpu + 1);
	CPU_ZERO_S(size, set);
	CPU_SET_S((size_t)cpu, size, set);
	rc = pthread_setaffinity_np(pthread_self(), size, set);
	CPU_FREE(set);
	return rc;
}

int smm_cpus_restore(const struct smm_cpus *c)
{
	return c->set ? pthread_setaffinity_np(pthread_self(), c->size, c->set) : EINVAL;
}

int smm_cpus_attr(pthread_attr_t *attr, const struct smm_cpus *c)
{
	return c->set ? pthread_attr_setaffinity_np(attr, c->size, c->set) : 0;
}

void smm_cpus_free(struct smm_cpus *c)
{
	if (c->set)
		CPU_FREE(c->set);
	c->set = NULL;
	c->size = 0;
}
