/* port.h — where the allocator thread hands answered jobs back to one
 * event loop: the loop's reply queue and the eventfd registered in its
 * event_base. The loop says when it is about to sleep, and the eventfd is
 * written only then, at most once per sleep: a busy loop picks the replies
 * up on its own at the end of its round, and that costs no system call on
 * either side (Redis's beforeSleep; memcached's notify pipe is the model
 * for the rest). */
#ifndef SMM_PORT_H
#define SMM_PORT_H

#include "queue.h"

struct smm_port {
	struct smm_queue *replies; /* answered jobs, for the loop to take */
	int notify_fd;             /* eventfd in the loop's event_base */
	int sleeping;              /* atomic: the loop may be blocked waiting */
	int followed;              /* an allocator keeps to this loop's CPU: set before the loop runs */
	int cpu;                   /* atomic: the CPU of the loop's last round, -1 before */
};

/* smm_port_open makes p's replies queue and eventfd, with p not followed
 * and its loop's CPU not yet known. Returns 0, or -1 with errno set (what
 * was made stays, for smm_port_close). */
int smm_port_open(struct smm_port *p);

/* smm_port_close frees what smm_port_open made, and is safe on a port it
 * only partly made or one whose notify_fd is -1 and replies NULL. */
void smm_port_close(struct smm_port *p);

/* smm_port_hand_back moves every job of *batch to p's queue and empties
 * *batch; when p's loop said it sleeps, wakes it (once). Any thread; the
 * allocator thread in practice. */
void smm_port_hand_back(struct smm_port *p, struct smm_qlist *batch);

/* smm_port_poke writes p's eventfd whatever the loop is doing: for what
 * is not a reply (a connection handed over, a request to drain). Any
 * thread. */
void smm_port_poke(const struct smm_port *p);

/* smm_port_sleep tells the allocator that p's loop is about to block.
 * Returns 0, or 1 when replies are already queued: then the loop must not
 * block (the flag is cleared again). p's loop thread only. */
int smm_port_sleep(struct smm_port *p);

/* smm_port_awake tells the allocator that p's loop runs again and will
 * look at its queue before it next sleeps. p's loop thread only. */
void smm_port_awake(struct smm_port *p);

/* smm_port_note_cpu records the CPU p's loop runs on now, when p is
 * followed by an allocator thread that keeps to that CPU
 * (smm_allocator_start); else it does nothing. Cheap enough for every
 * round: glibc's sched_getcpu reads the CPU from memory (rseq). p's loop
 * thread only. */
void smm_port_note_cpu(struct smm_port *p);

#endif
