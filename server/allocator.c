/* allocator.c — the allocator thread's loop. */
#include "allocator.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "job.h"

struct smm_allocator {
	pthread_t thread;
	struct smm_arena *arena;
	struct smm_queue *requests, *replies;
	int notify_fd;
};

static void wake(int fd)
{
	uint64_t one = 1;

	/* eventfd writes only fail when the counter would overflow, and then
	 * the reader is already due to wake. */
	while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

/* Leases are expired between batches in slices of at most this many
 * blocks, and the requests that came meanwhile are served before the next
 * slice: a million leases ending together become a thousand slices of a
 * millisecond or less (test_leases measures the longest), so no client waits
 * behind a whole expiry wave. */
#define EXPIRE_SLICE 1024

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* next_batch expires a slice of ended leases, then takes the queued jobs:
 * at once when more leases are due, else waiting until the next lease ends
 * or a job comes. */
static void next_batch(struct smm_allocator *al, struct smm_qlist *batch)
{
	if (smm_arena_expire(al->arena, now_ms(), EXPIRE_SLICE) == EXPIRE_SLICE)
		smm_queue_pop_all(al->requests, 0, batch);
	else
		smm_queue_pop_until(al->requests, smm_arena_next_deadline(al->arena), batch);
}

static void *allocator_main(void *arg)
{
	struct smm_allocator *al = arg;
	int stop = 0;

	while (!stop) {
		struct smm_qlist batch;
		uint64_t now;
		next_batch(al, &batch);
		if (!batch.head)
			continue;
		now = now_ms();
		for (struct smm_qnode *n = batch.head; n; n = n->next) {
			struct smm_job *job = smm_job_of(n);
			if (job->req.op == SMM_OP_STOP)
				stop = 1;
			else
				smm_exec_run(al->arena, &job->req, now, &job->rep);
		}
		if (smm_queue_push(al->replies, &batch) == 1)
			wake(al->notify_fd);
	}
	return NULL;
}

struct smm_allocator *smm_allocator_start(struct smm_arena *arena,
					  struct smm_queue *requests,
					  struct smm_queue *replies, int notify_fd,
					  char *err, size_t errlen)
{
	struct smm_allocator *al = calloc(1, sizeof *al);
	sigset_t all, old;
	int rc;

	if (!al) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	al->arena = arena;
	al->requests = requests;
	al->replies = replies;
	al->notify_fd = notify_fd;
	/* Signals belong to the event loop: the thread starts with them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&al->thread, NULL, allocator_main, al);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start allocator thread: %s", strerror(rc));
		free(al);
		return NULL;
	}
	return al;
}

void smm_allocator_join(struct smm_allocator *al)
{
	pthread_join(al->thread, NULL);
	free(al);
}
