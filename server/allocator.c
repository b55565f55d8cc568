/* allocator.c — the allocator thread's loop. */
#include "allocator.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void *allocator_main(void *arg)
{
	struct smm_allocator *al = arg;
	int stop = 0;

	while (!stop) {
		struct smm_qlist batch;
		smm_queue_pop_all(al->requests, 1, &batch);
		for (struct smm_qnode *n = batch.head; n; n = n->next) {
			struct smm_job *job = smm_job_of(n);
			if (job->req.op == SMM_OP_STOP)
				stop = 1;
			else
				smm_exec_run(al->arena, &job->req, &job->rep);
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
