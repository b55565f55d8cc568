/* queue.c — batch-moving FIFO under one mutex; a condition variable wakes a
 * waiting consumer, signalled only when one is actually waiting and has
 * not been signalled already: a futex wake-up costs a system call, and a
 * producer pushing several batches before the consumer runs needs one. */
#include "queue.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct smm_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	struct smm_qlist items;
	size_t capacity;
	int waiting;   /* consumers blocked in pop_all */
	int signalled; /* a wake-up is on its way to them */
	size_t queued; /* items.n, also read without the lock (atomically) to spin on */
	uint64_t spin_ns; /* smm_queue_set_spin */
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* spin_for_items returns once q has items or its spin time passed. */
static void spin_for_items(struct smm_queue *q)
{
	uint64_t end;

	if (!q->spin_ns)
		return;
	end = now_ns() + q->spin_ns;

	for (unsigned i = 1; __atomic_load_n(&q->queued, __ATOMIC_RELAXED) == 0; i++) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause(); /* let the sibling hyperthread run */
#endif
		if (i % 64 == 0 && now_ns() >= end)
			return;
	}
}


void smm_qlist_append(struct smm_qlist *l, struct smm_qnode *node)
{
	node->next = NULL;
	if (l->tail)
		l->tail->next = node;
	else
		l->head = node;
	l->tail = node;
	l->n++;
}

struct smm_qnode *smm_qlist_shift(struct smm_qlist *l)
{
	struct smm_qnode *node = l->head;

	if (!node)
		return NULL;
	l->head = node->next;
	if (!l->head)
		l->tail = NULL;
	l->n--;
	node->next = NULL;
	return node;
}

struct smm_queue *smm_queue_new(size_t capacity)
{
	struct smm_queue *q = calloc(1, sizeof *q);
	pthread_condattr_t attr;
	int rc;

	if (!q)
		return NULL;
	if (pthread_mutex_init(&q->lock, NULL) != 0) {
		free(q);
		return NULL;
	}
	/* Timed waits count on the monotonic clock, which the wall clock's
	 * jumps do not move. */
	rc = pthread_condattr_init(&attr);
	if (rc == 0) {
		rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		if (rc == 0)
			rc = pthread_cond_init(&q->nonempty, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (rc != 0) {
		pthread_mutex_destroy(&q->lock);
		free(q);
		return NULL;
	}
	q->capacity = capacity;
	return q;
}

void smm_queue_set_spin(struct smm_queue *q, uint64_t ns)
{
	q->spin_ns = ns;
}

void smm_queue_destroy(struct smm_queue *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int smm_queue_push(struct smm_queue *q, struct smm_qlist *batch)
{
	int was_empty, wake;

	if (batch->n == 0)
		return 0;
	pthread_mutex_lock(&q->lock);
	if (q->capacity && q->items.n + batch->n > q->capacity) {
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	was_empty = q->items.n == 0;
	if (q->items.tail)
		q->items.tail->next = batch->head;
	else
		q->items.head = batch->head;
	q->items.tail = batch->tail;
	q->items.n += batch->n;
	__atomic_store_n(&q->queued, q->items.n, __ATOMIC_RELAXED);
	wake = q->waiting && !q->signalled;
	if (wake)
		q->signalled = 1;
	pthread_mutex_unlock(&q->lock);
	/* Signalled after the unlock: a consumer woken while the lock is still
	 * held runs, finds it taken and sleeps again on the mutex, which costs
	 * two more context switches and a second futex wake-up. */
	if (wake)
		pthread_cond_signal(&q->nonempty);
	*batch = (struct smm_qlist){ 0 };
	return was_empty;
}

void smm_queue_pop_all(struct smm_queue *q, int wait, struct smm_qlist *out)
{
	if (wait)
		spin_for_items(q);
	pthread_mutex_lock(&q->lock);
	while (wait && q->items.n == 0) {
		q->waiting++;
		pthread_cond_wait(&q->nonempty, &q->lock);
		q->waiting--;
		q->signalled = 0;
	}
	*out = q->items;
	q->items = (struct smm_qlist){ 0 };
	__atomic_store_n(&q->queued, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&q->lock);
}

void smm_queue_pop_until(struct smm_queue *q, uint64_t deadline_ms, struct smm_qlist *out)
{
	struct timespec until = { .tv_sec = (time_t)(deadline_ms / 1000),
				  .tv_nsec = (long)(deadline_ms % 1000) * 1000000 };

	if (deadline_ms == UINT64_MAX) {
		smm_queue_pop_all(q, 1, out);
		return;
	}
	spin_for_items(q);
	pthread_mutex_lock(&q->lock);
	while (q->items.n == 0) {
		int rc;
		q->waiting++;
		rc = pthread_cond_timedwait(&q->nonempty, &q->lock, &until);
		q->waiting--;
		q->signalled = 0;
		if (rc != 0) /* ETIMEDOUT: the deadline came */
			break;
	}
	*out = q->items;
	q->items = (struct smm_qlist){ 0 };
	__atomic_store_n(&q->queued, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&q->lock);
}

size_t smm_queue_length(struct smm_queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->items.n;
	pthread_mutex_unlock(&q->lock);
	return n;
}
