/* test_client_threads.c — libsmmclient from many threads at once, each on
 * several connections of its own: malloc, fill, dump, free and pipelined
 * batches, checking every reply. Run against a real server by
 * tests/e2e/test_client_lib.py (usage: test_client_threads PORT); built
 * with -DSMM_SANITIZE=thread it is the library's ThreadSanitizer test.
 * Exit status 0 when every check passed, 1 with the first failure on
 * stderr. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define THREADS 16
#define CONNS 4     /* per thread */
#define ROUNDS 25   /* per connection */
#define BATCH 32    /* requests per pipelined batch */
/* Sanitized builds run several times slower. */
#define TIMEOUT_MS 30000

static int port;
static atomic_int failures;

struct worker {
	int id;
	pthread_t thread;
	char why[256];
};

static int check(struct worker *w, int ok, const char *what, const struct smm_reply *rep)
{
	if (ok)
		return 0;
	if (!w->why[0])
		snprintf(w->why, sizeof w->why, "thread %d: %s (%s)", w->id, what,
			 rep ? rep->message : "");
	return -1;
}

/* one_round allocates, fills and checks, then frees a block on c. */
static int one_round(struct worker *w, struct smm_client *c, int round)
{
	struct smm_reply rep = { 0 }, dump = { 0 };
	uint64_t size = 1 + (uint64_t)(round % 7), addr, key;
	int rc = -1;

	if (check(w, smm_client_malloc(c, w->id, size, &rep) == SMM_CLIENT_OK, "malloc", &rep) < 0)
		goto out;
	addr = rep.addr;
	key = rep.key;
	if (check(w, rep.size == size && rep.id == w->id, "malloc reply", &rep) < 0 ||
	    check(w, smm_client_fill(c, addr, key, 0, &rep) == SMM_CLIENT_OK, "fill", &rep) < 0 ||
	    check(w, smm_client_dump(c, addr, size, false, &dump) == SMM_CLIENT_OK, "dump", &dump) < 0)
		goto out;
	for (uint64_t i = 0; i < size; i++)
		if (check(w, dump.memory[i] == smm_id_char(w->id), "dump shows the owner", NULL) < 0)
			goto out;
	if (check(w, smm_client_free(c, addr, key ^ 1, &rep) == SMM_CLIENT_EREPLY &&
			     rep.err == SMM_ERR_FORBIDDEN, "free with a wrong key", &rep) < 0 ||
	    check(w, smm_client_free(c, addr, key, &rep) == SMM_CLIENT_OK, "free", &rep) < 0)
		goto out;
	rc = 0;
out:
	smm_reply_clear(&rep);
	smm_reply_clear(&dump);
	return rc;
}

/* batch pipelines BATCH mallocs, then their frees, on c. */
static int batch(struct worker *w, struct smm_client *c)
{
	struct smm_request reqs[BATCH];
	struct smm_reply reps[BATCH];
	int rc = -1;

	memset(reps, 0, sizeof reps);
	for (int i = 0; i < BATCH; i++)
		reqs[i] = (struct smm_request){ .op = SMM_OP_MALLOC, .id = w->id, .size = 2 };
	if (check(w, smm_client_pipeline(c, reqs, BATCH, reps) == SMM_CLIENT_OK, "pipelined malloc",
		  &reps[0]) < 0)
		goto out;
	for (int i = 0; i < BATCH; i++)
		reqs[i] = (struct smm_request){ .op = SMM_OP_FREE, .addr = reps[i].addr,
						.key = reps[i].key };
	if (check(w, smm_client_pipeline(c, reqs, BATCH, reps) == SMM_CLIENT_OK, "pipelined free",
		  &reps[0]) < 0)
		goto out;
	for (int i = 0; i < BATCH; i++)
		if (check(w, reps[i].size == 2 && reps[i].addr == reqs[i].addr, "free reply order",
			  &reps[i]) < 0)
			goto out;
	rc = 0;
out:
	for (int i = 0; i < BATCH; i++)
		smm_reply_clear(&reps[i]);
	return rc;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct smm_client *conns[CONNS] = { NULL };
	int k, round;

	for (k = 0; k < CONNS; k++)
		if (smm_client_connect("127.0.0.1", port, TIMEOUT_MS, &conns[k], w->why,
				       sizeof w->why) < 0)
			goto out;
	for (round = 0; round < ROUNDS; round++)
		for (k = 0; k < CONNS; k++)
			if (one_round(w, conns[k], round) < 0)
				goto out;
	for (k = 0; k < CONNS; k++)
		if (batch(w, conns[k]) < 0)
			goto out;
out:
	if (w->why[0])
		atomic_fetch_add(&failures, 1);
	for (k = 0; k < CONNS; k++)
		smm_client_close(conns[k]);
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker ws[THREADS];
	int started = 0;

	if (argc != 2 || (port = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: test_client_threads PORT\n");
		return 2;
	}
	memset(ws, 0, sizeof ws);
	for (int i = 0; i < THREADS; i++) {
		ws[i].id = i;
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(ws[i].thread, NULL);
		if (ws[i].why[0])
			fprintf(stderr, "%s\n", ws[i].why);
	}
	if (started < THREADS || atomic_load(&failures)) {
		fprintf(stderr, "FAIL: %d of %d threads failed\n", atomic_load(&failures), THREADS);
		return 1;
	}
	printf("ok: %d threads x %d connections\n", THREADS, CONNS);
	return 0;
}
