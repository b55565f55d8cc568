/* demo.c — the seed's ten request threads, each on its own connection,
 * and the main thread that joins them and shows the memory. */
#include "demo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "render.h"

/* One request thread: what it asked for and what became of it. */
struct worker {
	const struct smm_cli *cli;
	FILE *out;
	struct smm_render_trace trace; /* trace.out NULL: no tracing */
	int id;
	uint64_t size;
	pthread_t thread;
	bool started;
	long long thread_message; /* the seed's slot: the address, or -1 */
	enum smm_client_status st; /* SMM_CLIENT_EREPLY only for errors other than no_memory */
	char err[256];
};

uint64_t smm_demo_size(uint64_t seed, int id, uint64_t memory)
{
	/* splitmix64: a good 64-bit mix of (seed, id) in a few operations. */
	uint64_t z = seed + (uint64_t)(id + 1) * 0x9e3779b97f4a7c15ULL;
	uint64_t range = memory / 6 ? memory / 6 : 1;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z % range + 1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct smm_client *c = NULL;
	struct smm_reply rep = { 0 };
	/* The seed's threads call my_malloc: its name goes on the wire, with
	 * --ttl's lease when asked. */
	struct smm_request req = { .op = SMM_OP_MALLOC, .my_malloc = true, .id = w->id,
				   .size = w->size, .has_ttl = w->cli->has_ttl,
				   .ttl_ms = w->cli->ttl_ms };
	enum smm_client_status st;

	w->thread_message = -1;
	if (smm_client_connect(w->cli->host, w->cli->port, w->cli->timeout_ms, &c, w->err,
			       sizeof w->err) < 0) {
		w->st = SMM_CLIENT_ENET;
		goto out;
	}
	if (w->trace.out)
		smm_client_trace(c, smm_render_trace_cb, &w->trace);
	st = smm_client_call(c, &req, &rep);
	if (st == SMM_CLIENT_EREPLY && rep.err == SMM_ERR_NO_MEMORY) {
		fprintf(w->out, "Thread %d: Not enough memory\n", w->id);
		goto out;
	}
	if (st == SMM_CLIENT_OK) {
		w->thread_message = (long long)rep.addr;
		st = smm_client_fill(c, rep.addr, rep.key, 0, &rep);
	}
	if (st != SMM_CLIENT_OK) {
		w->st = st;
		smm_client_describe(st, &rep, w->err, sizeof w->err);
	}
out:
	smm_reply_clear(&rep);
	smm_client_close(c);
	return NULL;
}

/* prepare resets the arena when asked and returns its size in *memory. */
static enum smm_client_status prepare(const struct smm_cli *cli, struct smm_client *c,
				      uint64_t *memory, char *err, size_t errlen)
{
	char token[SMM_PROTO_MAX_TOKEN + 1];
	struct smm_reply rep = { 0 };
	enum smm_client_status st = SMM_CLIENT_OK;

	if (cli->reset) {
		if (smm_cli_admin_token(cli, token, err, errlen) < 0)
			return SMM_CLIENT_ENET;
		st = smm_client_reset(c, token, &rep);
	}
	if (st == SMM_CLIENT_OK)
		st = smm_client_stats(c, &rep);
	if (st == SMM_CLIENT_OK)
		*memory = rep.stats.memory_size;
	else
		smm_client_describe(st, &rep, err, errlen);
	smm_reply_clear(&rep);
	return st;
}

/* show writes the memory (a scaled map past SMM_DEMO_PRINT_LIMIT bytes)
 * and the thread_message slots, as the seed did. */
static enum smm_client_status show(const struct smm_cli *cli, struct smm_client *c,
				   const struct worker *ws, uint64_t memory, FILE *out, bool color,
				   char *err, size_t errlen)
{
	struct smm_reply rep = { 0 };
	struct smm_request map = { .op = SMM_OP_MAP, .cells = SMM_DEMO_MAP_CELLS };
	bool scaled = memory > SMM_DEMO_PRINT_LIMIT;
	enum smm_client_status st = scaled ? smm_client_call(c, &map, &rep)
					   : smm_client_dump(c, 0, SMM_CLIENT_TO_END, true, &rep);

	if (st != SMM_CLIENT_OK) {
		smm_client_describe(st, &rep, err, errlen);
		goto out;
	}
	fputs("Memory:\n", out);
	if (scaled)
		smm_render_map(out, &rep, color);
	else
		smm_render_memory(out, &rep, color);
	fputs("thread_message:\n", out);
	for (int i = 0; i < cli->threads; i++)
		fprintf(out, "  Thread %d: %lld (asked %llu byte%s)\n", ws[i].id,
			ws[i].thread_message, (unsigned long long)ws[i].size,
			ws[i].size == 1 ? "" : "s");
out:
	smm_reply_clear(&rep);
	return st;
}

enum smm_client_status smm_demo_run(const struct smm_cli *cli, FILE *out, FILE *trace,
				    bool color, char *err, size_t errlen)
{
	struct smm_render_trace tr = { .out = trace, .who = "main" };
	struct smm_client *c = NULL;
	struct worker *ws = NULL;
	enum smm_client_status st = SMM_CLIENT_ENET;
	uint64_t memory = 0;
	uint64_t seed = cli->has_seed ? cli->seed : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
	int i;

	if (smm_client_connect(cli->host, cli->port, cli->timeout_ms, &c, err, errlen) < 0)
		goto out;
	if (trace)
		smm_client_trace(c, smm_render_trace_cb, &tr);
	st = prepare(cli, c, &memory, err, errlen);
	if (st != SMM_CLIENT_OK)
		goto out;
	ws = calloc((size_t)cli->threads, sizeof *ws);
	if (!ws) {
		snprintf(err, errlen, "out of memory");
		st = SMM_CLIENT_ENET;
		goto out;
	}
	fprintf(out, "Arena of %llu bytes, %d threads, seed %llu\n", (unsigned long long)memory,
		cli->threads, (unsigned long long)seed);
	fflush(out);
	for (i = 0; i < cli->threads; i++) {
		ws[i] = (struct worker){ .cli = cli, .out = out, .trace.out = trace, .id = i,
					 .size = smm_demo_size(seed, i, memory) };
		snprintf(ws[i].trace.who, sizeof ws[i].trace.who, "thread %d", i);
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
			snprintf(err, errlen, "cannot start thread %d", i);
			st = SMM_CLIENT_ENET;
			break;
		}
		ws[i].started = true;
	}
	for (i = 0; i < cli->threads && ws[i].started; i++)
		pthread_join(ws[i].thread, NULL);
	if (st != SMM_CLIENT_OK)
		goto out;
	for (i = 0; i < cli->threads; i++) {
		if (ws[i].st != SMM_CLIENT_OK) {
			snprintf(err, errlen, "%s", ws[i].err);
			st = ws[i].st;
			goto out;
		}
	}
	st = show(cli, c, ws, memory, out, color, err, errlen);
out:
	free(ws);
	smm_client_close(c);
	return st;
}
