/* cpus.h — CPU affinity, sized for any machine: counting the CPUs the
 * process may use, pinning the calling thread to one CPU, putting it back
 * on a saved set, and starting a thread on a saved set. The allocator
 * thread keeps to its event loop's CPU with these (--allocator-cpu), and
 * threads it starts must not inherit that pin. */
#ifndef SMM_CPUS_H
#define SMM_CPUS_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>

/* A set of CPUs, as large as the kernel's (more than CPU_SETSIZE when the
 * machine has more). Zero-initialise; free with smm_cpus_free. */
struct smm_cpus {
	cpu_set_t *set; /* NULL: none saved */
	size_t size;    /* bytes at set */
};

/* smm_cpus_save stores the calling thread's affinity in *c. Returns 0, or
 * -1 (c then empty) when it cannot be read or memory ran out. */
int smm_cpus_save(struct smm_cpus *c);

/* smm_cpus_count returns how many CPUs c holds (0 when empty). */
size_t smm_cpus_count(const struct smm_cpus *c);

/* smm_cpus_pin restricts the calling thread to cpu. Returns 0 or an error
 * number (EINVAL: cpu is not one the thread may use, as in a cpuset that
 * changed). */
int smm_cpus_pin(int cpu);

/* smm_cpus_restore puts the calling thread back on every CPU of c.
 * Returns 0 or an error number. */
int smm_cpus_restore(const struct smm_cpus *c);

/* smm_cpus_attr makes threads started with attr run on c's CPUs (nothing
 * when c is empty). Returns 0 or an error number. */
int smm_cpus_attr(pthread_attr_t *attr, const struct smm_cpus *c);

void smm_cpus_free(struct smm_cpus *c);

#endif
