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

#include "aofrec.h"
#include "cpus.h"
#include "exec.h"
#include "job.h"

struct smm_allocator {
	pthread_t thread;
	struct smm_arena *arena;
	struct smm_queue *requests;
	struct smm_port *home;
	struct smm_aof *aof;   /* NULL: no log */
	const struct smm_cpus *cpus; /* the server's CPUs, for after a refused move */
	int follow;            /* home->followed, unless there are no cpus to go back to */
	int cpu;               /* the one CPU it is pinned to, -1: none */
	int refused;           /* the CPU a move to was refused, -1: none */
	uint64_t moves;        /* moves made (stats' allocator_moves) */
	uint64_t clock_offset; /* wall-clock minus monotonic ms, at start */
};

/* Leases are expired between batches in slices of at most this many
 * blocks, and the requests that came meanwhile are served before the next
 * slice: a million leases ending together become a thousand slices of a
 * millisecond or less (test_leases measures the longest), so no client waits
 * behind a whole expiry wave. */
#define EXPIRE_SLICE 1024

static uint64_t clock_ms(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* now_ms is the arena's clock: monotonic, so a clock step moves no
 * deadline, but counted from the wall-clock time at start, so the log's
 * lease ends are wall-clock times that mean the same after a restart. */
static uint64_t now_ms(const struct smm_allocator *al)
{
	return clock_ms(CLOCK_MONOTONIC) + al->clock_offset;
}

/* While the log cannot be written, the thread wakes this often to retry. */
#define AOF_RETRY_MS 200
/* While a rewrite is under way, it wakes this often to see if it is done. */
#define AOF_REWRITE_POLL_MS 10

/* wait_until is the monotonic time to wait for jobs until: the next
 * lease's end, or the next retry of a failed log. */
static uint64_t wait_until(struct smm_allocator *al)
{
	uint64_t next = smm_arena_next_deadline(al->arena), retry;
	char why[8];

	if (next != SMM_LEASES_NEVER)
		next = next > al->clock_offset ? next - al->clock_offset : 0;
	if (al->aof && !smm_aof_writable(al->aof, why, sizeof why)) {
		retry = clock_ms(CLOCK_MONOTONIC) + AOF_RETRY_MS;
		next = retry < next ? retry : next;
	}
	if (al->aof && smm_aof_rewriting(al->aof)) {
		retry = clock_ms(CLOCK_MONOTONIC) + AOF_REWRITE_POLL_MS;
		next = retry < next ? retry : next;
	}
	return next;
}

/* expire frees a slice of ended leases, logging it. Returns how many. */
static size_t expire(struct smm_allocator *al)
{
	uint64_t now = now_ms(al);
	size_t n = smm_arena_expire(al->arena, now, EXPIRE_SLICE);

	if (n && al->aof)
		smm_aof_add(al->aof, &(struct smm_aofrec){ .type = SMM_AOFREC_EXPIRE, .now = now,
							   .count = n });
	return n;
}

/* next_batch expires a slice of ended leases, then takes the queued jobs:
 * at once when more leases are due, else waiting until the next lease ends
 * or a job comes. */
static void next_batch(struct smm_allocator *al, struct smm_qlist *batch)
{
	if (expire(al) == EXPIRE_SLICE)
		smm_queue_pop_all(al->requests, 0, batch);
	else
		smm_queue_pop_until(al->requests, wait_until(al), batch);
}

static int changes_state(enum smm_op op)
{
	return op == SMM_OP_MALLOC || op == SMM_OP_FILL || op == SMM_OP_FREE ||
	       op == SMM_OP_RENEW || op == SMM_OP_RESET;
}

/* compact starts a rewrite of the log (the event loop checked the token). */
static void compact(struct smm_allocator *al, struct smm_reply *rep)
{
	char why[SMM_PROTO_MAX_MESSAGE];

	memset(rep, 0, sizeof *rep);
	if (!al->aof)
		smm_reply_fail(rep, SMM_ERR_BAD_REQUEST, "this server keeps no log (see --aof)");
	else if (smm_aof_compact(al->aof, al->arena, why, sizeof why) < 0)
		smm_reply_fail(rep, SMM_ERR_UNAVAILABLE, why);
}

/* run answers one job; with a log, a change is refused while the log
 * cannot be written, else recorded. A closed connection's release cannot
 * be refused: it is recorded and written in order with the rest. */
static void run(struct smm_allocator *al, struct smm_job *job, uint64_t now)
{
	struct smm_aofrec r;
	char why[SMM_PROTO_MAX_MESSAGE];

	if (job->req.op == SMM_OP_COMPACT) {
		compact(al, &job->rep);
		return;
	}
	if (al->aof && changes_state(job->req.op) &&
	    !smm_aof_writable(al->aof, why, sizeof why)) {
		memset(&job->rep, 0, sizeof job->rep);
		smm_reply_fail(&job->rep, SMM_ERR_UNAVAILABLE, why);
		return;
	}
	smm_exec_run(al->arena, &job->req, now, &job->rep);
	if (job->req.op == SMM_OP_STATS) {
		job->rep.stats.allocator_moves = al->moves;
		if (al->aof)
			smm_aof_stats(al->aof, &job->rep.stats);
	} else if (al->aof && smm_aofrec_of_request(&job->req, &job->rep, now, &r)) {
		smm_aof_add(al->aof, &r);
	}
}

/* commit writes the batch's records before its replies go out; when that
 * fails, no change of the batch is acknowledged (its records stay queued
 * and are written, in order, once the log works again). */
static void commit(struct smm_allocator *al, struct smm_qlist *batch)
{
	if (!al->aof || smm_aof_commit(al->aof) == 0)
		return;
	for (struct smm_qnode *n = batch->head; n; n = n->next) {
		struct smm_job *job = smm_job_of(n);
		if (changes_state(job->req.op) && job->rep.err == SMM_ERR_NONE) {
			smm_reply_clear(&job->rep);
			smm_reply_fail(&job->rep, SMM_ERR_UNAVAILABLE, smm_aof_reason(al->aof));
		}
	}
}

/* hand_back splits an answered batch by the loop each job came from and
 * gives each loop its part in one push, waking it at most once (and only
 * when it sleeps), however many of its jobs it holds. */
static void hand_back(struct smm_allocator *al, struct smm_qlist *batch)
{
	struct smm_port *ports[SMM_PORTS_MAX + 1];
	struct smm_qlist parts[SMM_PORTS_MAX + 1];
	size_t nports = 1; /* ports[0]: home, for jobs with no port */
	struct smm_qnode *n;

	ports[0] = al->home;
	parts[0] = (struct smm_qlist){ 0 };
	while ((n = smm_qlist_shift(batch))) {
		struct smm_port *p = smm_job_of(n)->port;
		size_t i = 0;
		if (p)
			for (i = 1; i < nports && ports[i] != p; i++)
				;
		if (i == nports) {
			ports[nports] = p;
			parts[nports++] = (struct smm_qlist){ 0 };
		}
		smm_qlist_append(&parts[i], n);
	}
	for (size_t i = 0; i < nports; i++)
		smm_port_hand_back(ports[i], &parts[i]);
}

/* follow_loop keeps this thread on the CPU home's loop last ran on: it
 * moves when the loop has moved, or when its pin was lost (taskset -a, a
 * cpuset rewritten). It moves at once. A loop with little to do hops
 * between CPUs and is chased (allocator_moves counts it: about 1,000 a
 * second under one client's back-to-back mallocs, for about 10 µs on
 * their p99), but waiting 20 ms before a move left a busy loop's
 * allocator on the client's CPU for that long whenever the loop moved,
 * and vs-redis's p99 went over Redis's in 3 runs of 5 (bench/README.md).
 * A refused move (a cpuset that no longer holds that CPU) puts it back on
 * every CPU it started with, and is not tried again until the loop is
 * seen on another CPU. */
static void follow_loop(struct smm_allocator *al)
{
	int cpu = __atomic_load_n(&al->home->cpu, __ATOMIC_RELAXED);

	if (cpu < 0 || cpu == al->refused || (cpu == al->cpu && sched_getcpu() == cpu))
		return;
	if (smm_cpus_pin(cpu) == 0) {
		al->cpu = cpu;
		al->refused = -1;
		al->moves++;
		return;
	}
	al->refused = cpu;
	if (al->cpu >= 0)
		smm_cpus_restore(al->cpus); /* if this fails too, stay put */
	al->cpu = -1;
}

static void *allocator_main(void *arg)
{
	struct smm_allocator *al = arg;
	int stop = 0;

	pthread_setname_np(pthread_self(), "smm-allocator"); /* for top -H and bench/server.py */

	while (!stop) {
		struct smm_qlist batch;
		uint64_t now;
		next_batch(al, &batch);
		if (al->follow && batch.head)
			follow_loop(al);
		now = now_ms(al);
		for (struct smm_qnode *n = batch.head; n; n = n->next) {
			struct smm_job *job = smm_job_of(n);
			if (job->req.op == SMM_OP_STOP)
				stop = 1;
			else
				run(al, job, now);
		}
		commit(al, &batch);
		if (al->aof)
			smm_aof_tick(al->aof, al->arena);
		if (!batch.head)
			continue;
		hand_back(al, &batch);
	}
	return NULL;
}

struct smm_allocator *smm_allocator_start(struct smm_arena *arena,
					  struct smm_queue *requests,
					  struct smm_port *home, struct smm_aof *aof,
					  const struct smm_cpus *cpus, char *err, size_t errlen)
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
	al->home = home;
	al->cpus = cpus;
	/* Without the server's CPUs it could not be put back after a refused
	 * move: then it does not move at all. */
	al->follow = home->followed && cpus->set;
	al->cpu = -1;
	al->refused = -1;
	al->aof = aof;
	al->clock_offset = clock_ms(CLOCK_REALTIME) - clock_ms(CLOCK_MONOTONIC);
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
