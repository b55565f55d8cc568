/* load.c — each thread owns its connections and loops: poll, read the
 * replies, start the next request of each unit of work, write. The only
 * state threads share is the run's clock and per-thread atomic counters
 * the main thread reads for the progress line. */
#include "load.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Quantiles the summary reports, and their names. */
static const struct {
	double q;
	const char *text, *json;
} quantiles[] = {
	{ 0.50, "p50", "p50" }, { 0.90, "p90", "p90" },
	{ 0.99, "p99", "p99" }, { 0.999, "p99.9", "p99_9" },
};

/* What a pipeline slot is waiting for. */
enum slot_state { SLOT_IDLE, SLOT_WAIT, SLOT_WAIT_FREE };

struct slot {
	enum slot_state state;
	uint64_t sent_ns;
};

struct lconn {
	struct smm_client *c;
	struct slot *slots;   /* cli->pipeline of them */
	uint64_t units_left;  /* UINT64_MAX when the duration bounds the run */
};

struct lthread {
	const struct smm_cli *cli;
	struct run *run;
	struct lconn *conns;
	int nconns;
	uint64_t rng;
	struct smm_hist hist;
	uint64_t by_code[SMM_ERR_COUNT];
	_Atomic uint64_t requests, errors; /* read by the main thread while running */
	enum smm_client_status st;
	char err[256];
	pthread_t thread;
};

struct run {
	uint64_t start_ns, stop_ns; /* stop_ns: no new unit after it; 0 none */
	atomic_bool stop;           /* a thread failed or the run was interrupted:
				     * no thread starts a new unit */
	int done_fd;                /* eventfd: each thread adds 1 when it ends */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* next_rand is xorshift64: sizes need only be spread, not secret. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* fail records why thread t gives up, stops the run and returns -1. */
static int fail(struct lthread *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct lthread *t, const char *fmt, ...)
{
	va_list ap;

	atomic_store(&t->run->stop, true);
	t->st = SMM_CLIENT_ENET;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof t->err, fmt, ap);
	va_end(ap);
	return -1;
}

/* start_unit begins the next unit of work on slot i of lc, or leaves the
 * slot idle when the run is over. */
static int start_unit(struct lthread *t, struct lconn *lc, size_t i, uint64_t now)
{
	const struct smm_cli *cli = t->cli;
	struct smm_request req = { .op = cli->op };

	lc->slots[i].state = SLOT_IDLE;
	if (lc->units_left == 0 || (t->run->stop_ns && now >= t->run->stop_ns) ||
	    atomic_load_explicit(&t->run->stop, memory_order_relaxed))
		return 0;
	if (lc->units_left != UINT64_MAX)
		lc->units_left--;
	if (req.op == SMM_OP_MALLOC) {
		req.id = (int64_t)(i % (uint64_t)SMM_PROTO_MAX_ID);
		req.size = cli->size_min + next_rand(&t->rng) % (cli->size_max - cli->size_min + 1);
		req.has_ttl = cli->has_ttl;
		req.ttl_ms = cli->ttl_ms;
	}
	if (smm_client_send(lc->c, &req, i) < 0)
		return fail(t, "out of memory queueing a request");
	lc->slots[i] = (struct slot){ SLOT_WAIT, now };
	return 0;
}

/* on_reply accounts for one reply to slot i and starts what follows. */
static int on_reply(struct lthread *t, struct lconn *lc, size_t i, const struct smm_reply *rep,
		    uint64_t now)
{
	struct slot *s = &lc->slots[i];
	struct smm_request req = { .op = SMM_OP_FREE, .addr = rep->addr, .key = rep->key };

	if (rep->err == SMM_ERR_BUSY) {
		/* The server turned the connection away (--max-conns) and closes
		 * it: say so as ping does, rather than the reset that follows. */
		fail(t, "%s: %s", smm_err_name(rep->err), rep->message);
		t->st = SMM_CLIENT_EREPLY;
		return -1;
	}
	smm_hist_record(&t->hist, (now - s->sent_ns) / 1000);
	atomic_fetch_add_explicit(&t->requests, 1, memory_order_relaxed);
	if (rep->err != SMM_ERR_NONE) {
		t->by_code[rep->err]++;
		atomic_fetch_add_explicit(&t->errors, 1, memory_order_relaxed);
	} else if (s->state == SLOT_WAIT && t->cli->op == SMM_OP_MALLOC) {
		if (smm_client_send(lc->c, &req, i) < 0)
			return fail(t, "out of memory queueing a request");
		*s = (struct slot){ SLOT_WAIT_FREE, now };
		return 0;
	}
	return start_unit(t, lc, i, now);
}

/* drain handles every complete reply on lc; returns how many, or -1. */
static int drain(struct lthread *t, struct lconn *lc, uint64_t now)
{
	struct smm_reply rep = { 0 };
	uint64_t cookie;
	int n = 0, rc;

	while ((rc = smm_client_next(lc->c, &rep, &cookie)) == 1) {
		n++;
		if (on_reply(t, lc, (size_t)cookie, &rep, now) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc < 0 && t->st == SMM_CLIENT_OK)
		fail(t, "%s", smm_client_error(lc->c));
	smm_reply_clear(&rep);
	return rc < 0 ? -1 : n;
}

/* open_conns connects this thread's connections and starts their slots. */
static int open_conns(struct lthread *t)
{
	const struct smm_cli *cli = t->cli;
	uint64_t now = now_ns();

	for (int k = 0; k < t->nconns; k++) {
		struct lconn *lc = &t->conns[k];
		lc->slots = calloc((size_t)cli->pipeline, sizeof *lc->slots);
		if (!lc->slots)
			return fail(t, "out of memory");
		if (smm_client_connect(cli->host, cli->port, cli->timeout_ms, &lc->c, t->err,
				       sizeof t->err) < 0) {
			atomic_store(&t->run->stop, true);
			t->st = SMM_CLIENT_ENET;
			return -1;
		}
	}
	for (int k = 0; k < t->nconns; k++)
		for (size_t i = 0; i < (size_t)cli->pipeline; i++)
			if (start_unit(t, &t->conns[k], i, now) < 0)
				return -1;
	return 0;
}

/* loop runs until no slot of any connection waits for a reply. */
static int loop(struct lthread *t, struct pollfd *pfds)
{
	uint64_t timeout_ns = (uint64_t)t->cli->timeout_ms * 1000000u;
	uint64_t last = now_ns(), now;

	for (;;) {
		size_t owed = 0;
		int rc, handled = 0;
		for (int k = 0; k < t->nconns; k++) {
			pfds[k] = (struct pollfd){ .fd = smm_client_fd(t->conns[k].c),
						   .events = smm_client_events(t->conns[k].c) };
			owed += smm_client_pending(t->conns[k].c);
		}
		if (owed == 0)
			return 0;
		now = now_ns();
		if (now - last >= timeout_ns)
			return fail(t, "%.64s:%d: no reply from the server within %d ms",
				    t->cli->host, t->cli->port, t->cli->timeout_ms);
		rc = poll(pfds, (nfds_t)t->nconns, (int)((timeout_ns - (now - last)) / 1000000u) + 1);
		if (rc < 0 && errno != EINTR)
			return fail(t, "poll: %s", strerror(errno));
		now = now_ns();
		for (int k = 0; k < t->nconns && rc > 0; k++) {
			struct lconn *lc = &t->conns[k];
			int n;
			if (pfds[k].revents)
				smm_client_io(lc->c, pfds[k].revents);
			n = drain(t, lc, now);
			if (n < 0)
				return -1;
			handled += n;
			/* Write what the replies started now, not one poll later. */
			if (smm_client_events(lc->c) & POLLOUT)
				smm_client_io(lc->c, POLLOUT);
		}
		if (handled)
			last = now;
	}
}

static void *thread_main(void *arg)
{
	struct lthread *t = arg;
	struct pollfd *pfds = calloc((size_t)t->nconns, sizeof *pfds);

	if (!pfds)
		fail(t, "out of memory");
	else if (open_conns(t) == 0)
		loop(t, pfds);
	free(pfds);
	/* An eventfd add cannot fail short of a bad descriptor; the main
	 * thread's poll then also ends by the threads' own timeouts. */
	(void)!write(t->run->done_fd, &(uint64_t){ 1 }, sizeof(uint64_t));
	return NULL;
}

/* split gives thread k its connections and connection j its units. */
static void split(const struct smm_cli *cli, struct lthread *ts, struct run *run,
		 struct lconn *conns)
{
	uint64_t per_unit = cli->op == SMM_OP_MALLOC ? 2 : 1;
	uint64_t units = (cli->requests + per_unit - 1) / per_unit;
	int next = 0;

	for (int j = 0; j < cli->connections; j++)
		conns[j].units_left = cli->requests == 0 ? UINT64_MAX
			: units / (uint64_t)cli->connections + ((uint64_t)j < units % (uint64_t)cli->connections);
	for (int k = 0; k < cli->threads; k++) {
		ts[k].cli = cli;
		ts[k].run = run;
		ts[k].conns = &conns[next];
		ts[k].nconns = cli->connections / cli->threads + (k < cli->connections % cli->threads);
		ts[k].rng = now_ns() ^ (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ULL;
		smm_hist_init(&ts[k].hist);
		next += ts[k].nconns;
	}
}

/* Progress columns, and the heading printed above them from the start. */
#define PROGRESS_HEADING "elapsed  requests/s      errors"
#define PROGRESS_FORMAT "\r%6.1fs  %10.0f  %10llu\033[K"

/* progress_line overwrites the progress line with the rate since last. */
static void progress_line(FILE *progress, const struct run *run, struct lthread *ts,
			  int nthreads, uint64_t *last_requests, uint64_t *last_ns)
{
	uint64_t requests = 0, errors = 0, now = now_ns();

	for (int k = 0; k < nthreads; k++) {
		requests += atomic_load_explicit(&ts[k].requests, memory_order_relaxed);
		errors += atomic_load_explicit(&ts[k].errors, memory_order_relaxed);
	}
	fprintf(progress, PROGRESS_FORMAT, (double)(now - run->start_ns) / 1e9,
		now > *last_ns ? (double)(requests - *last_requests) * 1e9 / (double)(now - *last_ns) : 0,
		(unsigned long long)errors);
	fflush(progress);
	*last_requests = requests;
	*last_ns = now;
}

/* watch waits for the threads to end, writing a progress line a second
 * under its heading, and stops the run when stop_fd becomes readable.
 * Returns true when it did. */
static bool watch(struct run *run, int nthreads, struct lthread *ts, FILE *progress,
		  int stop_fd)
{
	uint64_t last_requests = 0, last_ns = run->start_ns, next_ns = run->start_ns + 1000000000u;
	bool interrupted = false;
	int finished = 0;

	if (progress) {
		fputs(PROGRESS_HEADING "\n", progress);
		progress_line(progress, run, ts, nthreads, &last_requests, &last_ns);
	}
	while (finished < nthreads) {
		struct pollfd pfd[2] = { { .fd = run->done_fd, .events = POLLIN },
					 { .fd = interrupted ? -1 : stop_fd, .events = POLLIN } };
		uint64_t now = now_ns(), n;
		int wait_ms = progress ? (int)((next_ns > now ? next_ns - now : 0) / 1000000u) : -1;
		if (poll(pfd, 2, wait_ms) > 0 && (pfd[0].revents & POLLIN) &&
		    read(run->done_fd, &n, sizeof n) == sizeof n)
			finished += (int)n;
		if (pfd[1].revents & POLLIN) {
			interrupted = true;
			atomic_store(&run->stop, true);
		}
		if (progress && now_ns() >= next_ns) {
			progress_line(progress, run, ts, nthreads, &last_requests, &last_ns);
			next_ns += 1000000000u;
		}
	}
	if (progress) {
		fputs("\r\033[K\033[A\033[K", progress); /* the line, then its heading */
		fflush(progress);
	}
	return interrupted;
}

enum smm_client_status smm_load_run(const struct smm_cli *cli, FILE *progress, int stop_fd,
				    struct smm_load_result *res, char *err, size_t errlen)
{
	struct run run = { .start_ns = now_ns(), .done_fd = eventfd(0, EFD_CLOEXEC) };
	struct lthread *ts = calloc((size_t)cli->threads, sizeof *ts);
	struct lconn *conns = calloc((size_t)cli->connections, sizeof *conns);
	enum smm_client_status st = SMM_CLIENT_OK;
	int k, started = 0;

	memset(res, 0, sizeof *res);
	smm_hist_init(&res->latency_us);
	if (!ts || !conns || run.done_fd < 0) {
		snprintf(err, errlen, "out of memory");
		st = SMM_CLIENT_ENET;
		goto out;
	}
	if (cli->duration_ms)
		run.stop_ns = run.start_ns + (uint64_t)cli->duration_ms * 1000000u;
	split(cli, ts, &run, conns);
	for (k = 0; k < cli->threads; k++) {
		if (pthread_create(&ts[k].thread, NULL, thread_main, &ts[k]) != 0) {
			snprintf(err, errlen, "cannot start thread %d", k);
			st = SMM_CLIENT_ENET;
			break;
		}
		started++;
	}
	if (watch(&run, started, ts, progress, stop_fd))
		res->interrupted = SMM_LOAD_SIGINT;
	for (k = 0; k < started; k++) {
		pthread_join(ts[k].thread, NULL);
		res->requests += ts[k].requests;
		res->errors += ts[k].errors;
		for (int e = 0; e < SMM_ERR_COUNT; e++)
			res->by_code[e] += ts[k].by_code[e];
		smm_hist_merge(&res->latency_us, &ts[k].hist);
		/* A reply that says why (busy) beats the lost connection it causes. */
		if (ts[k].st != SMM_CLIENT_OK && (st == SMM_CLIENT_OK || ts[k].st == SMM_CLIENT_EREPLY)) {
			st = ts[k].st;
			snprintf(err, errlen, "%s", ts[k].err);
		}
	}
	res->elapsed_s = (double)(now_ns() - run.start_ns) / 1e9;
	if (st == SMM_CLIENT_ENET && res->requests > 0 && !res->interrupted)
		res->interrupted = SMM_LOAD_LOST_SERVER;
out:
	for (k = 0; conns && k < cli->connections; k++) {
		smm_client_close(conns[k].c);
		free(conns[k].slots);
	}
	free(conns);
	free(ts);
	if (run.done_fd >= 0)
		close(run.done_fd);
	return st;
}

void smm_load_print(FILE *out, const struct smm_cli *cli, const struct smm_load_result *res,
		    bool json)
{
	double rate = res->elapsed_s > 0 ? (double)res->requests / res->elapsed_s : 0;
	const char *sep = "";
	size_t i;

	if (json) {
		fprintf(out, "{\"op\":\"%s\",%s\"connections\":%d,\"threads\":%d,\"pipeline\":%d"
			",\"elapsed_s\":%.3f,\"requests\":%llu,\"requests_per_s\":%.1f"
			",\"errors\":%llu,\"errors_by_code\":{",
			cli->op == SMM_OP_MALLOC ? "malloc" : "ping",
			res->interrupted == SMM_LOAD_SIGINT ? "\"interrupted\":\"sigint\","
			: res->interrupted ? "\"interrupted\":\"server_lost\"," : "",
			cli->connections, cli->threads,
			cli->pipeline, res->elapsed_s, (unsigned long long)res->requests, rate,
			(unsigned long long)res->errors);
		for (int e = 1; e < SMM_ERR_COUNT; e++) {
			if (!res->by_code[e])
				continue;
			fprintf(out, "%s\"%s\":%llu", sep, smm_err_name((enum smm_err)e),
				(unsigned long long)res->by_code[e]);
			sep = ",";
		}
		fputs("},\"latency_us\":{", out);
		for (i = 0; i < sizeof quantiles / sizeof quantiles[0]; i++)
			fprintf(out, "\"%s\":%llu,", quantiles[i].json,
				(unsigned long long)smm_hist_quantile(&res->latency_us, quantiles[i].q));
		fprintf(out, "\"max\":%llu}}\n", (unsigned long long)res->latency_us.max);
		return;
	}
	if (cli->op == SMM_OP_MALLOC)
		fprintf(out, "load: malloc+free of %llu-%llu bytes", (unsigned long long)cli->size_min,
			(unsigned long long)cli->size_max);
	else
		fputs("load: ping", out);
	fprintf(out, ", %d connection%s on %d thread%s, pipeline %d\n", cli->connections,
		cli->connections == 1 ? "" : "s", cli->threads, cli->threads == 1 ? "" : "s",
		cli->pipeline);
	if (res->interrupted)
		fprintf(out, "interrupted   %s: the figures cover the run so far\n",
			res->interrupted == SMM_LOAD_SIGINT ? "by SIGINT" : "the server went away");
	fprintf(out, "requests      %llu in %.2f s (%.0f requests/s)\n",
		(unsigned long long)res->requests, res->elapsed_s, rate);
	fprintf(out, "errors        %llu", (unsigned long long)res->errors);
	sep = " (";
	for (int e = 1; e < SMM_ERR_COUNT; e++) {
		if (!res->by_code[e])
			continue;
		fprintf(out, "%s%s %llu", sep, smm_err_name((enum smm_err)e),
			(unsigned long long)res->by_code[e]);
		sep = ", ";
	}
	fputs(res->errors ? ")\n" : "\n", out);
	fputs("latency (us) ", out);
	for (i = 0; i < sizeof quantiles / sizeof quantiles[0]; i++)
		fprintf(out, " %s %llu", quantiles[i].text,
			(unsigned long long)smm_hist_quantile(&res->latency_us, quantiles[i].q));
	fprintf(out, "  max %llu\n", (unsigned long long)res->latency_us.max);
}
