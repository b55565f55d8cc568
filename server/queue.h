/* queue.h — the shared request queue: a locked FIFO of intrusive nodes that
 * moves whole batches, so a producer takes the lock once per batch and the
 * consumer once per wake-up. Used both ways: event loop -> allocator
 * (requests) and allocator -> event loop (answered requests). */
#ifndef SMM_QUEUE_H
#define SMM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/* Embed one in each queued item; recover the item with container_of. */
struct smm_qnode {
	struct smm_qnode *next;
};

/* A batch being built by one thread, outside any lock. Zero-initialise. */
struct smm_qlist {
	struct smm_qnode *head, *tail;
	size_t n;
};

/* smm_qlist_append adds node at the tail of l. */
void smm_qlist_append(struct smm_qlist *l, struct smm_qnode *node);

/* smm_qlist_shift removes and returns l's head, or NULL when l is empty. */
struct smm_qnode *smm_qlist_shift(struct smm_qlist *l);

struct smm_queue; /* opaque */

/* smm_queue_new returns an empty queue holding at most capacity nodes
 * (0: no bound), or NULL when memory ran out. Release with smm_queue_destroy,
 * which frees only the queue, never the nodes, and only once every thread
 * that pushes to it has returned from its last push (a push wakes the
 * consumer after it has let go of the queue's lock). */
struct smm_queue *smm_queue_new(size_t capacity);
void smm_queue_destroy(struct smm_queue *q);

/* smm_queue_set_spin makes a consumer about to sleep on an empty q watch
 * it for ns nanoseconds first (0, the default: sleep at once). In a busy
 * pipeline the next batch often comes sooner than a futex sleep and
 * wake-up take, but the watching costs a CPU: worth it only when the
 * consumer has one to itself. Call before q is shared. */
void smm_queue_set_spin(struct smm_queue *q, uint64_t ns);

/* smm_queue_push moves every node of *batch to q's tail in one step and
 * empties *batch. Returns 1 when q was empty before (the consumer may need
 * waking), 0 when not, or -1 when the batch would exceed the capacity
 * (nothing moved). Any thread. */
int smm_queue_push(struct smm_queue *q, struct smm_qlist *batch);

/* smm_queue_pop_all moves every queued node, in FIFO order, to *out (which
 * must be empty). With wait set it blocks until there is at least one.
 * Any thread. */
void smm_queue_pop_all(struct smm_queue *q, int wait, struct smm_qlist *out);

/* smm_queue_pop_until is smm_queue_pop_all with waiting, but returns
 * with *out empty once CLOCK_MONOTONIC reaches deadline_ms milliseconds
 * (UINT64_MAX: wait as long as it takes). Any thread. */
void smm_queue_pop_until(struct smm_queue *q, uint64_t deadline_ms, struct smm_qlist *out);

/* smm_queue_length returns the number of queued nodes (a snapshot). */
size_t smm_queue_length(struct smm_queue *q);

#endif
