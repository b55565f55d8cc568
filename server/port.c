/* port.c — handing answered jobs back to an event loop, waking it only
 * when it sleeps.
 *
 * Why no reply is ever stranded: the loop stores sleeping = 1 and then
 * reads its queue's length under the queue's lock; the allocator pushes
 * under that lock and then reads sleeping. Whichever takes the lock second
 * sees the other's write: either the loop sees the replies and does not
 * block, or the allocator sees the flag and writes the eventfd. */
#include "port.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int smm_port_open(struct smm_port *p)
{
	*p = (struct smm_port){ .replies = smm_queue_new(0), .notify_fd = -1, .cpu = -1 };
	if (!p->replies)
		return -1;
	p->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return p->notify_fd >= 0 ? 0 : -1;
}

void smm_port_close(struct smm_port *p)
{
	smm_queue_destroy(p->replies);
	if (p->notify_fd >= 0)
		close(p->notify_fd);
	p->replies = NULL;
	p->notify_fd = -1;
}

void smm_port_poke(const struct smm_port *p)
{
	uint64_t one = 1;

	/* eventfd writes only fail when the counter would overflow, and then
	 * the reader is already due to wake. */
	while (write(p->notify_fd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

void smm_port_hand_back(struct smm_port *p, struct smm_qlist *batch)
{
	if (batch->n == 0)
		return;
	smm_queue_push(p->replies, batch); /* unbounded: cannot fail */
	/* The plain load first keeps a busy loop's flag line unwritten. */
	if (__atomic_load_n(&p->sleeping, __ATOMIC_ACQUIRE) &&
	    __atomic_exchange_n(&p->sleeping, 0, __ATOMIC_ACQ_REL))
		smm_port_poke(p);
}

int smm_port_sleep(struct smm_port *p)
{
	__atomic_store_n(&p->sleeping, 1, __ATOMIC_SEQ_CST);
	if (smm_queue_length(p->replies) == 0)
		return 0;
	smm_port_awake(p);
	return 1;
}

void smm_port_awake(struct smm_port *p)
{
	if (__atomic_load_n(&p->sleeping, __ATOMIC_RELAXED))
		__atomic_store_n(&p->sleeping, 0, __ATOMIC_RELAXED);
}

void smm_port_note_cpu(struct smm_port *p)
{
	int cpu;

	if (!p->followed)
		return;
	cpu = sched_getcpu();
	/* Stored only on a change: the allocator reads this line per batch. */
	if (cpu >= 0 && cpu != __atomic_load_n(&p->cpu, __ATOMIC_RELAXED))
		__atomic_store_n(&p->cpu, cpu, __ATOMIC_RELAXED);
}
