/* net.c — connections, lines and replies on the libevent loop.
 *
 * Each connection keeps the jobs it owes replies for in arrival order.
 * A job is "done" when its reply is final: at once for ping and for bad
 * input, or when the allocator thread hands it back. Replies are written
 * from the head while the head is done, so pipelined requests are answered
 * in order whatever the allocator does.
 *
 * Reading stops (never dropping anything) while too many jobs are in
 * flight to the allocator, while a connection has too many unread reply
 * bytes, and during shutdown. A connection whose peer vanished keeps its
 * memory until its last job returns from the allocator, since that thread
 * still holds pointers into it.
 *
 * Replies are formatted in place at the end of the connection's output
 * buffer and written to the socket right away, one write per connection
 * per round; write interest is enabled only while the kernel has not taken
 * everything. Jobs are recycled, so steady traffic allocates nothing.
 *
 * A connection that took connection-scoped blocks sends, when it closes
 * for whatever reason, a release job down the same queue as its requests:
 * the allocator frees those blocks after every request of it already
 * queued, so ordering stays exact.
 *
 * With --io-threads N there are N loops, each a struct smm_net with its
 * own event base, connections, job cache and counters; loop 0 is the main
 * loop (the listener, signals, the HTTP port), loops 1..N-1 each run on a
 * thread of their own. The main loop accepts every connection and hands it
 * to the loops in turn, through the loop's inbox and eventfd: one place
 * counts connections against --max-conns and numbers them, and the spread
 * is even whatever the peers' addresses (SO_REUSEPORT would spread by a
 * hash of them, and with --port 0 each loop would have to bind the port the
 * first picked). A loop's jobs carry its port, so the allocator hands them
 * back to it and wakes it once per batch. Each loop gets an equal share of
 * --queue-depth, so it pauses and resumes reading on its own jobs alone and
 * never waits for another loop's to come back. Counters are written only
 * by their loop, as atomic stores, and summed by whoever asks for stats. */
#include "net.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "keys.h"
#include "metrics.h"
#include "pool.h"
#include "reply.h"
#include "request.h"

/* Why reading is paused on a connection. */
#define PAUSE_QUEUE  1u /* allocator pipeline full */
#define PAUSE_OUTPUT 2u /* peer not reading its replies */
#define PAUSE_DRAIN  4u /* server shutting down */

/* After an accept error such as EMFILE, wait this long before retrying. */
#define ACCEPT_RETRY_MS 100

/* Replies are formatted straight into a connection's output buffer when
 * they take at most this many bytes (all but large dumps): no scratch
 * buffer and no copy. */
#define DIRECT_REPLY_MAX 65536

STAILQ_HEAD(job_list, smm_job);

struct conn {
	struct smm_net *net;
	struct bufferevent *bev;   /* NULL once closed */
	struct job_list owed;      /* jobs owing a reply, in arrival order */
	size_t inflight;           /* jobs held by the allocator thread */
	size_t owed_bytes;         /* estimated size of the replies not yet written */
	unsigned paused;
	int discarding;            /* skipping the rest of a too-long line */
	int eof;                   /* peer finished sending */
	int lingering;             /* shutting down: FIN sent, discarding input */
	int touched;               /* on net->touched this round */
	int scoped;                /* asked for connection-scoped blocks */
	int writing;               /* EV_WRITE on: the kernel took only part of the output */
	unsigned long long id;     /* 64 bits, counted up: never reused */
	evutil_socket_t fd;        /* until the owning loop makes the bufferevent */
	struct smm_qnode handover; /* link in the owning loop's inbox */
	LIST_ENTRY(conn) all;      /* net->conns */
	SLIST_ENTRY(conn) touched_link;
	TAILQ_ENTRY(conn) qp;      /* net's queue-paused FIFO, while PAUSE_QUEUE */
};

/* Every loop of one server; the main loop's net owns it. */
struct group {
	struct smm_net *loops[SMM_PORTS_MAX];
	size_t n;
	size_t next;     /* main loop only: the loop the next connection goes to */
	uint64_t conns;  /* open connections on every loop; atomic */
};

struct smm_net {
	struct smm_net_config cfg; /* queue_depth: this loop's share */
	struct group *group;
	unsigned index;            /* 0: the main loop */
	struct smm_port port;      /* loops 1..N-1: where their jobs come back */
	const struct smm_port *job_port; /* what its jobs carry; NULL on the main loop */
	struct smm_queue *inbox;   /* loops 1..N-1: connections handed over */
	pthread_t thread;
	int thread_started;
	int drain_asked;           /* atomic: the main loop asked it to drain */
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *notify_ev, *accept_retry_ev, *drain_ev;
	struct smm_queue *requests, *replies;
	int notify_fd;
	struct smm_qlist batch;    /* jobs parsed, not yet pushed */
	struct smm_qlist spare;    /* finished jobs kept for reuse */
	LIST_HEAD(, conn) conns;   /* every connection, closed ones too */
	SLIST_HEAD(, conn) touched;
	size_t nconns;             /* this loop's open connections */
	uint64_t inflight;         /* this loop's jobs at the allocator */
	/* Connections waiting for queue room, oldest first, so the first to
	 * wait is the first to read again. */
	TAILQ_HEAD(, conn) queue_paused;
	unsigned long long next_id;
	int draining;
	int destroying;            /* the allocator has stopped: queue nothing */
	struct smm_buf out;        /* scratch for replies too large to format in place */
	struct timespec started;
	uint64_t requests_total, bad_requests, too_large, rejected_connections;
	uint64_t output_paused, idle_closed, accept_paused;
	struct smm_metrics metrics;
};

static void conn_read(struct conn *c);
static void check_drained(struct smm_net *net);
static void submit(struct conn *c, struct smm_job *j);
static void push_batch(struct smm_net *net);

static uint64_t ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000 +
	       (uint64_t)((now.tv_nsec - t0->tv_nsec) / 1000000);
}

static uint64_t load(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* fill_loop_stats sums every loop's counters into st: other loops' are
 * read atomically while their threads write them. */
static void fill_loop_stats(const struct smm_net *net, struct smm_stats *st)
{
	const struct group *g = net->group;

	st->requests = st->queue_depth = st->bad_requests = st->too_large = 0;
	st->rejected_connections = st->output_paused = st->idle_closed = st->accept_paused = 0;
	memset(st->by_op, 0, sizeof st->by_op);
	memset(st->by_err, 0, sizeof st->by_err);
	for (size_t i = 0; i < g->n; i++) {
		const struct smm_net *l = g->loops[i];
		st->requests += load(&l->requests_total);
		st->queue_depth += load(&l->inflight);
		st->bad_requests += load(&l->bad_requests);
		st->too_large += load(&l->too_large);
		st->rejected_connections += load(&l->rejected_connections);
		st->output_paused += load(&l->output_paused);
		st->idle_closed += load(&l->idle_closed);
		st->accept_paused += load(&l->accept_paused);
		smm_metrics_stats(&l->metrics, st);
	}
	st->connections = load(&g->conns);
	st->uptime_ms = ms_since(&g->loops[0]->started);
}

/* Jobs kept for reuse beyond this many are freed, so a burst up to
 * --queue-depth does not pin its memory: 4096 in flight covers 50
 * connections pipelining 16 five times over. */
#define SPARE_JOBS_MAX 4096

/* job_get returns a zeroed job, recycled when one is spare, or NULL when
 * memory ran out. */
static struct smm_job *job_get(struct smm_net *net)
{
	struct smm_qnode *n = smm_qlist_shift(&net->spare);
	struct smm_job *j;
	char *tag_copy;

	if (!n)
		return calloc(1, sizeof *j);
	j = smm_job_of(n);
	tag_copy = j->tag_copy;
	memset(j, 0, sizeof *j);
	j->tag_copy = tag_copy;
	return j;
}

/* job_put releases what j's reply holds and keeps j for reuse (job_get
 * zeroes it, so it is not cleared twice: perf saw 1.6% in that memset). */
static void job_put(struct smm_net *net, struct smm_job *j)
{
	if (smm_reply_owns(&j->rep))
		smm_reply_clear(&j->rep);
	if (net->spare.n >= SPARE_JOBS_MAX || net->destroying) {
		free(j->tag_copy);
		free(j);
		return;
	}
	smm_qlist_append(&net->spare, &j->node);
}

static void conn_free(struct conn *c)
{
	struct smm_net *net = c->net;
	struct smm_job *j;

	while ((j = STAILQ_FIRST(&c->owed))) {
		STAILQ_REMOVE_HEAD(&c->owed, owed);
		job_put(net, j);
	}
	LIST_REMOVE(c, all);
	free(c);
}

/* set_paused changes c's pause bits; the PAUSE_QUEUE bit is also
 * membership of net's queue-paused FIFO. */
static void set_paused(struct conn *c, unsigned paused)
{
	if ((paused & PAUSE_QUEUE) && !(c->paused & PAUSE_QUEUE))
		TAILQ_INSERT_TAIL(&c->net->queue_paused, c, qp);
	else if (!(paused & PAUSE_QUEUE) && (c->paused & PAUSE_QUEUE))
		TAILQ_REMOVE(&c->net->queue_paused, c, qp);
	c->paused = paused;
}

/* release_scoped queues the job that frees c's connection-scoped blocks,
 * behind c's requests. It travels as one of c's jobs in flight, so c's
 * memory stays until it returns; it owes no reply. Without memory for it
 * the blocks stay until their lease, the operator or a reset frees them. */
static void release_scoped(struct conn *c)
{
	struct smm_net *net = c->net;
	struct smm_job *j = job_get(net);

	if (!j) {
		smm_log_write(net->cfg.log, SMM_LOG_WARN,
			      "connection %llu: out of memory, its blocks stay", c->id);
		return;
	}
	j->conn = c;
	j->req.op = SMM_OP_RELEASE;
	j->req.conn = c->id;
	submit(c, j);
	push_batch(net);
}

/* conn_close drops the socket now; the memory goes when no job is in flight. */
static void conn_close(struct conn *c)
{
	struct smm_net *net = c->net;

	if (c->bev) {
		set_paused(c, 0);
		bufferevent_free(c->bev);
		c->bev = NULL;
		net->nconns--;
		__atomic_fetch_sub(&net->group->conns, 1, __ATOMIC_RELAXED);
		smm_log_write(net->cfg.log, SMM_LOG_DEBUG, "connection %llu closed", c->id);
		if (c->scoped && !net->destroying)
			release_scoped(c);
	}
	if (c->inflight == 0)
		conn_free(c);
	check_drained(net);
}

static void conn_pause(struct conn *c, unsigned why)
{
	if (!c->paused)
		bufferevent_disable(c->bev, EV_READ);
	set_paused(c, c->paused | why);
}

static void conn_resume(struct conn *c, unsigned why)
{
	if (!(c->paused & why))
		return;
	set_paused(c, c->paused & ~why);
	if (c->paused)
		return;
	if (!c->eof)
		bufferevent_enable(c->bev, EV_READ);
	conn_read(c); /* lines may already be waiting in the input buffer */
}

/* conn_linger ends a connection at shutdown without losing replies:
 * closing a socket that still has unread input makes the kernel send a
 * reset, which can destroy replies the peer has not read yet. So when
 * input is pending, send FIN after the replies and discard input until the
 * peer closes too. An idle connection is simply closed. */
static void conn_linger(struct conn *c)
{
	c->lingering = 1;
	set_paused(c, 0);
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_enable(c->bev, EV_READ);
}

/* input_pending says whether the peer sent bytes we have not consumed,
 * in our buffer or still in the kernel's. */
static int input_pending(struct conn *c)
{
	int n = 0;

	return evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ||
	       (ioctl(bufferevent_getfd(c->bev), FIONREAD, &n) == 0 && n > 0);
}

/* conn_maybe_close closes a connection that owes nothing and will get no
 * more input. Returns 1 when it closed c (c is then gone). */
static int conn_maybe_close(struct conn *c)
{
	struct smm_net *net = c->net;

	if (!c->bev || !STAILQ_EMPTY(&c->owed) || evbuffer_get_length(bufferevent_get_output(c->bev)))
		return 0;
	if (net->draining && !c->eof && !c->lingering && input_pending(c)) {
		conn_linger(c);
		return 0;
	}
	if (c->lingering)
		return 0;
	if (!net->draining && !(c->eof && !c->paused &&
				evbuffer_get_length(bufferevent_get_input(c->bev)) == 0))
		return 0;
	conn_close(c);
	return 1;
}

/* format_direct formats j's reply straight into space reserved at the end
 * of out. Returns 0, or -1 when it does not fit there (nothing added). */
static int format_direct(struct evbuffer *out, const struct smm_job *j)
{
	size_t bound = smm_reply_bound(j->req.op, j->req.tag_len, &j->rep);
	struct evbuffer_iovec v;
	struct smm_buf b;

	if (bound > DIRECT_REPLY_MAX || evbuffer_reserve_space(out, (ev_ssize_t)bound, &v, 1) != 1)
		return -1;
	smm_buf_init_fixed(&b, v.iov_base, v.iov_len);
	smm_reply_format(j->req.op, j->req.tag, j->req.tag_len, &j->rep, &b);
	if (b.oom)
		return -1;
	v.iov_len = b.len;
	return evbuffer_commit_space(out, &v, 1);
}

/* conn_write_reply appends j's reply to c's output. Returns -1 when memory
 * ran out even for a short error reply: the connection must then close,
 * since a reply it owes would be missing. */
static int conn_write_reply(struct conn *c, struct smm_job *j)
{
	struct smm_net *net = c->net;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (j->req.op == SMM_OP_STATS && j->rep.err == SMM_ERR_NONE)
		fill_loop_stats(net, &j->rep.stats);
	smm_metrics_reply(&net->metrics, j->mop, j->rep.err, smm_metrics_now_ns() - j->read_ns);
	if (format_direct(out, j) == 0)
		return 0;
	smm_buf_reset(&net->out);
	smm_reply_format(j->req.op, j->req.tag, j->req.tag_len, &j->rep, &net->out);
	if (net->out.oom) {
		smm_reply_clear(&j->rep);
		smm_reply_fail(&j->rep, SMM_ERR_BUSY, "server out of memory for this reply");
		return format_direct(out, j);
	}
	return evbuffer_add(out, net->out.data, net->out.len);
}

/* want_write leaves c's output to the bufferevent, which writes it as the
 * socket takes it and then calls write_cb. Returns 0. */
static int want_write(struct conn *c)
{
	c->writing = 1;
	bufferevent_enable(c->bev, EV_WRITE);
	return 0;
}

/* conn_send writes c's output to the socket now, instead of asking the
 * loop for a write event and writing on the next round: one write per
 * connection per round and no epoll_ctl in the common case. Only what the
 * kernel does not take waits for EV_WRITE. Returns -1 when it closed c. */
static int conn_send(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	int n;

	if (c->writing || evbuffer_get_length(out) == 0)
		return 0;
	/* A connection paused for its output resumes from write_cb, which
	 * only the bufferevent's own writing calls. */
	if (c->paused & PAUSE_OUTPUT)
		return want_write(c);
	/* The bufferevent keeps its output's start frozen so that only it
	 * drains it; thaw it for this write as its own write handler does. */
	evbuffer_unfreeze(out, 1);
	errno = 0;
	n = evbuffer_write(out, bufferevent_getfd(c->bev));
	evbuffer_freeze(out, 1);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		smm_log_write(c->net->cfg.log, SMM_LOG_DEBUG, "connection %llu: write: %s",
			      c->id, strerror(errno));
		conn_close(c);
		return -1;
	}
	return evbuffer_get_length(out) > 0 ? want_write(c) : 0;
}

/* conn_flush writes every reply that is ready, in order. Returns -1 when
 * it closed c. */
static int conn_flush(struct conn *c)
{
	struct smm_job *j;

	while ((j = STAILQ_FIRST(&c->owed)) && j->done) {
		STAILQ_REMOVE_HEAD(&c->owed, owed);
		c->owed_bytes -= j->reply_estimate;
		if (conn_write_reply(c, j) < 0) {
			job_put(c->net, j);
			smm_log_write(c->net->cfg.log, SMM_LOG_WARN,
				      "connection %llu: out of memory for a reply, closing", c->id);
			conn_close(c);
			return -1;
		}
		job_put(c->net, j);
	}
	return conn_send(c);
}

/* output_full says whether the replies this connection has not read, plus
 * those it is still owed, reach --max-output. Counting the owed ones stops
 * a pipeline of large dumps from being accepted all at once. */
static int output_full(const struct conn *c)
{
	size_t max = c->net->cfg.max_output;

	return max && evbuffer_get_length(bufferevent_get_output(c->bev)) + c->owed_bytes >= max;
}

/* A reply without a memory window fits in this many bytes (tags aside). */
#define SMALL_REPLY_BYTES 256

static size_t reply_estimate(const struct smm_net *net, const struct smm_request *req)
{
	uint64_t len;

	if (req->op == SMM_OP_MAP)
		return SMALL_REPLY_BYTES + req->cells * SMM_PROTO_MAP_CELL_BYTES +
		       (req->blocks ? SMM_PROTO_MAX_MAP_BLOCKS * SMM_PROTO_DUMP_BLOCK_BYTES : 0);
	if (req->op != SMM_OP_DUMP || req->offset >= net->cfg.memory_size)
		return SMALL_REPLY_BYTES;
	len = net->cfg.memory_size - req->offset;
	if (req->has_length && req->length < len)
		len = req->length;
	if (len > SMM_PROTO_MAX_DUMP)
		len = SMM_PROTO_MAX_DUMP;
	/* A window of len bytes holds at most len blocks. */
	if (req->blocks)
		return SMALL_REPLY_BYTES + len +
		       SMM_PROTO_DUMP_BLOCK_BYTES * (len < SMM_PROTO_MAX_DUMP_BLOCKS ? len : SMM_PROTO_MAX_DUMP_BLOCKS);
	return SMALL_REPLY_BYTES + len;
}

static struct smm_job *conn_new_job(struct conn *c)
{
	struct smm_job *j = job_get(c->net);

	if (!j)
		return NULL;
	j->conn = c;
	j->reply_estimate = SMALL_REPLY_BYTES;
	c->owed_bytes += j->reply_estimate;
	STAILQ_INSERT_TAIL(&c->owed, j, owed);
	return j;
}

/* keep_tag copies j's tag out of the input line, which is about to be
 * drained, into j's own storage. Returns -1 when memory ran out. */
static int keep_tag(struct smm_job *j)
{
	if (!j->req.tag)
		return 0;
	if (!j->tag_copy && !(j->tag_copy = malloc(SMM_PROTO_MAX_TAG)))
		return -1;
	memcpy(j->tag_copy, j->req.tag, j->req.tag_len);
	j->req.tag = j->tag_copy;
	return 0;
}

/* push_batch hands the jobs parsed so far to the allocator thread. The
 * requests queue has no capacity limit (net bounds what is in flight with
 * --queue-depth), so the push cannot fail. */
static void push_batch(struct smm_net *net)
{
	smm_queue_push(net->requests, &net->batch);
}

static void submit(struct conn *c, struct smm_job *j)
{
	c->owed_bytes -= j->reply_estimate;
	j->reply_estimate = j->req.op == SMM_OP_RELEASE ? 0 : reply_estimate(c->net, &j->req);
	c->owed_bytes += j->reply_estimate;
	j->port = c->net->job_port;
	smm_qlist_append(&c->net->batch, &j->node);
	c->inflight++;
	smm_counter_add(&c->net->inflight, 1);
}

static int token_ok(const struct smm_net *net, const struct smm_request *req)
{
	if (!net->cfg.admin_token)
		return 0;
	return smm_secret_equal(req->token, req->token_len, net->cfg.admin_token,
				net->cfg.admin_token_len);
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* lease_terms applies --default-ttl and --max-ttl to a malloc or renew.
 * Returns -1 with rep filled when it asks past the cap (renewing to 0, no
 * lease at all, is past any cap). */
static int lease_terms(const struct smm_net *net, struct smm_request *req,
		       struct smm_reply *rep)
{
	uint64_t max = net->cfg.max_ttl;
	char msg[SMM_PROTO_MAX_MESSAGE];

	if (req->op == SMM_OP_MALLOC && !req->has_ttl && net->cfg.default_ttl) {
		req->has_ttl = true;
		req->ttl_ms = net->cfg.default_ttl;
	}
	if ((req->op != SMM_OP_MALLOC && req->op != SMM_OP_RENEW) || !max || !req->has_ttl ||
	    (req->ttl_ms >= 1 && req->ttl_ms <= max))
		return 0;
	snprintf(msg, sizeof msg, "\"ttl_ms\" must be from 1 to %llu, the server's --max-ttl",
		 (unsigned long long)max);
	return smm_reply_fail(rep, SMM_ERR_BAD_REQUEST, msg);
}

/* needs_token says whether req is allowed only with the admin token. */
static int needs_token(const struct smm_request *req)
{
	return req->op == SMM_OP_RESET || req->op == SMM_OP_COMPACT ||
	       (req->op == SMM_OP_FREE && req->has_token);
}

/* handle_line turns one line into a job. Returns -1 when memory ran out. */
static int handle_line(struct conn *c, const char *line, size_t len)
{
	struct smm_net *net = c->net;
	struct smm_job *j;

	if (is_blank(line, len))
		return 0;
	j = conn_new_job(c);
	if (!j)
		return -1;
	smm_counter_add(&net->requests_total, 1);
	j->read_ns = smm_metrics_now_ns();
	j->mop = SMM_METRICS_INVALID;
	if (smm_request_parse(line, len, &j->req, &j->rep) == 0)
		smm_counter_add(&net->metrics.by_op[j->mop = (int)j->req.op], 1);
	if (j->mop == SMM_METRICS_INVALID || lease_terms(net, &j->req, &j->rep) < 0) {
		if (keep_tag(j) < 0)
			return -1;
		smm_counter_add(&net->bad_requests, 1);
		j->done = 1;
	} else if (keep_tag(j) < 0) {
		return -1;
	} else if (j->req.op == SMM_OP_PING) {
		j->done = 1;
	} else if (needs_token(&j->req) && !token_ok(net, &j->req)) {
		/* Say which: no token can ever work here, or this one is wrong. */
		smm_reply_fail(&j->rep, SMM_ERR_FORBIDDEN,
			       net->cfg.admin_token ? "wrong or missing admin token"
						    : "the server has no admin token configured");
		j->done = 1;
	} else {
		j->req.conn = c->id;
		c->scoped |= j->req.conn_scope;
		submit(c, j);
	}
	return 0;
}

static int answer_too_large(struct conn *c)
{
	struct smm_job *j = conn_new_job(c);
	char msg[SMM_PROTO_MAX_MESSAGE];

	if (!j)
		return -1;
	smm_counter_add(&c->net->requests_total, 1);
	smm_counter_add(&c->net->too_large, 1);
	j->read_ns = smm_metrics_now_ns();
	j->mop = SMM_METRICS_INVALID;
	snprintf(msg, sizeof msg, "line longer than the server's limit of %zu bytes",
		 c->net->cfg.max_line);
	smm_reply_fail(&j->rep, SMM_ERR_TOO_LARGE, msg);
	j->done = 1;
	return 0;
}

/* next_line finds the next whole line. Returns 1 and its length (without
 * "\n") in *len, 0 when more input is needed, or -1 on memory failure.
 * Too-long lines are answered and skipped here. */
static int next_line(struct conn *c, struct evbuffer *in, size_t *len)
{
	size_t max = c->net->cfg.max_line;

	for (;;) {
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		size_t have = evbuffer_get_length(in);
		if (eol.pos < 0) {
			if (have > max || c->discarding) {
				if (!c->discarding && answer_too_large(c) < 0)
					return -1;
				c->discarding = 1;
				evbuffer_drain(in, have);
			}
			return 0;
		}
		if (c->discarding || (size_t)eol.pos > max) {
			if (!c->discarding && answer_too_large(c) < 0)
				return -1;
			c->discarding = 0;
			evbuffer_drain(in, (size_t)eol.pos + 1);
			continue;
		}
		*len = (size_t)eol.pos;
		return 1;
	}
}

/* read_lines parses complete lines until input runs out or reading pauses. */
static int read_lines(struct conn *c, struct evbuffer *in)
{
	struct smm_net *net = c->net;
	size_t len;
	char *line;
	int rc;

	while (!c->paused) {
		if (net->inflight >= net->cfg.queue_depth) {
			conn_pause(c, PAUSE_QUEUE);
			return 0;
		}
		if (output_full(c)) {
			smm_counter_add(&net->output_paused, 1);
			conn_pause(c, PAUSE_OUTPUT);
			return 0;
		}
		rc = next_line(c, in, &len);
		if (rc <= 0)
			return rc;
		line = (char *)evbuffer_pullup(in, (ev_ssize_t)len + 1);
		if (!line || handle_line(c, line, len) < 0)
			return -1;
		evbuffer_drain(in, len + 1);
	}
	return 0;
}

/* read_last_line answers a final line that the peer ended with EOF
 * instead of "\n", as nc does with `printf '...'`. */
static int read_last_line(struct conn *c, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in);
	char *line;
	int rc;

	if (c->paused || len == 0)
		return 0;
	if (c->discarding) {
		evbuffer_drain(in, len);
		return 0;
	}
	line = (char *)evbuffer_pullup(in, (ev_ssize_t)len);
	rc = line ? handle_line(c, line, len) : -1;
	evbuffer_drain(in, len);
	return rc;
}

static void conn_read(struct conn *c)
{
	struct smm_net *net = c->net;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	int rc = read_lines(c, in);

	if (rc == 0 && c->eof)
		rc = read_last_line(c, in);
	/* One push per read, not per request: the allocator wakes per batch. */
	push_batch(net);
	if (rc < 0) {
		smm_log_write(net->cfg.log, SMM_LOG_WARN,
			      "connection %llu: out of memory, closing", c->id);
		conn_close(c);
		return;
	}
	if (conn_flush(c) == 0)
		conn_maybe_close(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->lingering)
		evbuffer_drain(in, evbuffer_get_length(in));
	else
		conn_read(c);
}

/* write_cb runs when the output that waited for EV_WRITE is all written:
 * writes go straight to the socket again (conn_send). */
static void write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	c->writing = 0;
	bufferevent_disable(bev, EV_WRITE);
	if (conn_maybe_close(c) || output_full(c))
		return;
	conn_resume(c, PAUSE_OUTPUT);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if ((what & BEV_EVENT_EOF) && c->lingering) {
		conn_close(c);
	} else if (what & BEV_EVENT_EOF) {
		c->eof = 1;
		conn_read(c);
	} else if (what & BEV_EVENT_TIMEOUT) {
		if ((what & BEV_EVENT_WRITING) ||
		    (STAILQ_EMPTY(&c->owed) && evbuffer_get_length(bufferevent_get_output(bev)) == 0)) {
			smm_counter_add(&c->net->idle_closed, 1);
			conn_close(c);
		} else if (!c->paused) {
			bufferevent_enable(bev, EV_READ);
		}
	} else {
		conn_close(c);
	}
}

static void reject(struct smm_net *net, evutil_socket_t fd)
{
	struct smm_reply rep = { 0 };

	smm_counter_add(&net->rejected_connections, 1);
	smm_counter_add(&net->metrics.by_err[SMM_ERR_BUSY], 1);
	smm_reply_fail(&rep, SMM_ERR_BUSY, "too many connections");
	smm_buf_reset(&net->out);
	smm_reply_format(SMM_OP_PING, NULL, 0, &rep, &net->out);
	/* Best effort: a fresh socket's send buffer takes one short line. */
	if (send(fd, net->out.data, net->out.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		smm_log_write(net->cfg.log, SMM_LOG_DEBUG, "busy reply not sent: %s",
			      strerror(errno));
	close(fd);
}

/* conn_start serves c, a socket accepted for c->net, on that loop's
 * thread: without memory for it the socket is closed. */
static void conn_start(struct conn *c)
{
	struct smm_net *net = c->net;
	int one = 1;

	c->bev = bufferevent_socket_new(net->base, c->fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(c->fd);
		__atomic_fetch_sub(&net->group->conns, 1, __ATOMIC_RELAXED);
		free(c);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	STAILQ_INIT(&c->owed);
	LIST_INSERT_HEAD(&net->conns, c, all);
	net->nconns++;
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	if (net->cfg.idle_timeout > 0) {
		/* Reading off (a paused peer that does not read) stops the read
		 * timeout; the write timeout then catches a stuck peer. */
		struct timeval tv = { .tv_sec = net->cfg.idle_timeout };
		bufferevent_set_timeouts(c->bev, &tv, &tv);
	}
	/* EV_WRITE (on by default) only while output waits for the kernel:
	 * see conn_send. */
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_enable(c->bev, EV_READ);
	/* The loop is named only when there are several to tell apart. */
	if (net->group->n > 1)
		smm_log_write(net->cfg.log, SMM_LOG_DEBUG, "connection %llu opened on loop %u",
			      c->id, net->index);
	else
		smm_log_write(net->cfg.log, SMM_LOG_DEBUG, "connection %llu opened", c->id);
}

static void wake(int fd)
{
	uint64_t one = 1;

	/* eventfd writes only fail when the counter would overflow, and then
	 * the reader is already due to wake. */
	while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

/* hand_over gives c to its loop, another thread's: the loop takes it from
 * its inbox when its eventfd wakes it. */
static void hand_over(struct conn *c)
{
	struct smm_qlist one = { 0 };

	smm_qlist_append(&one, &c->handover);
	if (smm_queue_push(c->net->inbox, &one) == 1) /* unbounded: cannot fail */
		wake(c->net->port.notify_fd);
}

/* accept_cb runs on the main loop for every loop: it numbers the
 * connection and gives it to the next loop in turn. */
static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct smm_net *net = arg;
	struct group *g = net->group;
	struct conn *c;

	(void)l, (void)sa, (void)salen;
	if (net->cfg.max_conns && load(&g->conns) >= net->cfg.max_conns) {
		reject(net, fd);
		return;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	__atomic_fetch_add(&g->conns, 1, __ATOMIC_RELAXED);
	c->net = g->loops[g->next];
	g->next = (g->next + 1) % g->n;
	c->id = ++net->next_id;
	c->fd = fd;
	if (c->net == net)
		conn_start(c);
	else
		hand_over(c);
}

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smm_net *net = arg;

	(void)fd, (void)what;
	if (net->listener)
		evconnlistener_enable(net->listener);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct smm_net *net = arg;
	struct timeval tv = { 0, ACCEPT_RETRY_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();

	/* Out of descriptors or buffers: the pending connection stays in the
	 * backlog and accept would fail at once again, so stop polling the
	 * listener for a moment instead of spinning. */
	smm_counter_add(&net->accept_paused, 1);
	smm_log_write(net->cfg.log, SMM_LOG_WARN, "accept: %s; pausing %d ms",
		      evutil_socket_error_to_string(err), ACCEPT_RETRY_MS);
	evconnlistener_disable(l);
	event_add(net->accept_retry_ev, &tv);
}

static void check_drained(struct smm_net *net)
{
	if (net->draining && net->inflight == 0 && net->nconns == 0)
		event_base_loopexit(net->base, NULL);
}

/* resume_queue_paused restarts reading on connections that stopped because
 * the allocator pipeline was full, oldest first, while it has room. A
 * connection that fills it again goes to the back of the line. */
static void resume_queue_paused(struct smm_net *net)
{
	while (!TAILQ_EMPTY(&net->queue_paused) && net->inflight < net->cfg.queue_depth)
		conn_resume(TAILQ_FIRST(&net->queue_paused), PAUSE_QUEUE);
}

static void flush_touched(struct smm_net *net)
{
	struct conn *c;

	while ((c = SLIST_FIRST(&net->touched))) {
		SLIST_REMOVE_HEAD(&net->touched, touched_link);
		c->touched = 0;
		if (conn_flush(c) == 0)
			conn_maybe_close(c);
	}
}

static void drain(struct smm_net *net);

/* take_inbox starts the connections the main loop handed over and, once
 * it asked, drains. The request is read before the inbox: every handover
 * came before it, so none is left behind. */
static void take_inbox(struct smm_net *net)
{
	int asked = __atomic_load_n(&net->drain_asked, __ATOMIC_ACQUIRE);
	struct smm_qlist got;
	struct smm_qnode *n;

	smm_queue_pop_all(net->inbox, 0, &got);
	while ((n = smm_qlist_shift(&got)))
		conn_start((struct conn *)((char *)n - offsetof(struct conn, handover)));
	if (asked)
		drain(net);
}

/* notify_cb takes back every answered job the allocator has handed over. */
static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smm_net *net = arg;
	struct smm_qlist done;
	struct smm_qnode *n;
	uint64_t count;

	(void)what;
	if (read(fd, &count, sizeof count) < 0 && errno != EAGAIN)
		smm_log_write(net->cfg.log, SMM_LOG_WARN, "eventfd: %s", strerror(errno));
	if (net->inbox)
		take_inbox(net);
	smm_queue_pop_all(net->replies, 0, &done);
	while ((n = smm_qlist_shift(&done))) {
		struct smm_job *j = smm_job_of(n);
		struct conn *c = j->conn;
		if (j->back) {
			j->back(j); /* an internal job, such as the HTTP side's */
			continue;
		}
		c->inflight--;
		smm_counter_add(&net->inflight, (uint64_t)-1);
		j->done = 1;
		if (j->req.op == SMM_OP_RELEASE)
			job_put(net, j); /* owes no reply; c has closed */
		if (!c->bev) {
			if (c->inflight == 0)
				conn_free(c);
		} else if (!c->touched) {
			c->touched = 1;
			SLIST_INSERT_HEAD(&net->touched, c, touched_link);
		}
	}
	flush_touched(net);
	if (!net->draining)
		resume_queue_paused(net);
	check_drained(net);
}

static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smm_net *net = arg;

	(void)fd, (void)what;
	smm_log_write(net->cfg.log, SMM_LOG_WARN,
		      "shutdown: replies still owed after %d s; closing anyway",
		      net->cfg.drain_timeout);
	event_base_loopexit(net->base, NULL);
}

/* loop_free closes every connection of one loop and frees it with every
 * job it still holds, including those left on its replies queue, and what
 * a loop other than the main one owns: its base, queues and eventfd. Its
 * thread must have ended. */
static void loop_free(struct smm_net *net)
{
	struct smm_qlist left;
	struct smm_qnode *n;

	if (!net)
		return;
	net->destroying = 1;
	/* Jobs the allocator handed back after the loop stopped, and release
	 * jobs that never found room in the queue. */
	if (net->replies) {
		smm_queue_pop_all(net->replies, 0, &left);
		while (net->batch.head)
			smm_qlist_append(&left, smm_qlist_shift(&net->batch));
		while ((n = smm_qlist_shift(&left))) {
			struct smm_job *j = smm_job_of(n);
			struct conn *c = j->conn;
			if (j->back) {
				j->back(j);
				continue;
			}
			j->done = 1;
			if (c)
				c->inflight--;
			if (!c || j->req.op == SMM_OP_RELEASE)
				job_put(net, j);
		}
	}
	/* Connections handed over that the loop never started. */
	if (net->inbox) {
		smm_queue_pop_all(net->inbox, 0, &left);
		while ((n = smm_qlist_shift(&left))) {
			struct conn *c = (struct conn *)((char *)n - offsetof(struct conn, handover));
			close(c->fd);
			free(c);
		}
	}
	while (!LIST_EMPTY(&net->conns)) {
		struct conn *c = LIST_FIRST(&net->conns);
		c->inflight = 0;
		if (c->bev)
			conn_close(c);
		else
			conn_free(c);
	}
	while ((n = smm_qlist_shift(&net->spare)))
		job_put(net, smm_job_of(n));
	if (net->listener)
		evconnlistener_free(net->listener);
	if (net->notify_ev)
		event_free(net->notify_ev);
	if (net->accept_retry_ev)
		event_free(net->accept_retry_ev);
	if (net->drain_ev)
		event_free(net->drain_ev);
	smm_buf_free(&net->out);
	if (net->index > 0) {
		if (net->base)
			event_base_free(net->base);
		smm_queue_destroy(net->replies);
		smm_queue_destroy(net->inbox);
		if (net->port.notify_fd >= 0)
			close(net->port.notify_fd);
	}
	free(net);
}

/* loop_new makes loop index of g, serving on base; a loop other than the
 * main one makes its own base, replies queue, inbox and eventfd. Returns
 * NULL when something could not be made. */
static struct smm_net *loop_new(struct group *g, unsigned index, struct event_base *base,
				const struct smm_net_config *cfg, struct smm_queue *requests,
				struct smm_queue *replies, int notify_fd)
{
	struct smm_net *net = calloc(1, sizeof *net);

	if (!net)
		return NULL;
	net->cfg = *cfg;
	net->cfg.queue_depth = cfg->queue_depth / g->n ? cfg->queue_depth / g->n : 1;
	net->group = g;
	net->index = index;
	net->requests = requests;
	net->port.notify_fd = -1;
	LIST_INIT(&net->conns);
	SLIST_INIT(&net->touched);
	TAILQ_INIT(&net->queue_paused);
	clock_gettime(CLOCK_MONOTONIC, &net->started);
	if (index > 0) {
		base = event_base_new();
		replies = smm_queue_new(0);
		notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		net->inbox = smm_queue_new(0);
		net->port = (struct smm_port){ replies, notify_fd };
		net->job_port = &net->port;
	}
	net->base = base;
	net->replies = replies;
	net->notify_fd = notify_fd;
	if (base && notify_fd >= 0)
		net->notify_ev = event_new(base, notify_fd, EV_READ | EV_PERSIST, notify_cb, net);
	if (base)
		net->drain_ev = evtimer_new(base, drain_timeout_cb, net);
	if (!base || !replies || notify_fd < 0 || (index > 0 && !net->inbox) ||
	    !net->notify_ev || !net->drain_ev || event_add(net->notify_ev, NULL) < 0) {
		loop_free(net);
		return NULL;
	}
	return net;
}

static void *loop_main(void *arg)
{
	struct smm_net *net = arg;
	char name[16];

	/* Named, so that top -H and bench/server.py tell the loops apart. */
	snprintf(name, sizeof name, "smm-loop%u", net->index);
	pthread_setname_np(pthread_self(), name);

	if (event_base_dispatch(net->base) < 0)
		smm_log_write(net->cfg.log, SMM_LOG_ERROR, "event loop %u failed", net->index);
	smm_pool_drain();
	return NULL;
}

/* start_threads runs loops 1..N-1, each on a thread that starts with
 * signals blocked: they belong to the main loop. Returns -1 when one
 * could not start (those started keep running until smm_net_join). */
static int start_threads(struct group *g)
{
	sigset_t all, old;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (size_t i = 1; i < g->n && rc == 0; i++) {
		rc = pthread_create(&g->loops[i]->thread, NULL, loop_main, g->loops[i]);
		g->loops[i]->thread_started = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

struct smm_net *smm_net_new(struct event_base *base, int listen_fd,
			    const struct smm_net_config *cfg, size_t loops,
			    struct smm_queue *requests, struct smm_queue *replies,
			    int notify_fd, char *err, size_t errlen)
{
	struct group *g = calloc(1, sizeof *g);
	struct smm_net *net = NULL;

	if (!g || loops < 1 || loops > SMM_PORTS_MAX)
		goto fail;
	g->n = loops;
	for (unsigned i = 0; i < loops; i++)
		if (!(g->loops[i] = loop_new(g, i, base, cfg, requests, replies, notify_fd)))
			goto fail;
	net = g->loops[0];
	net->listener = evconnlistener_new(base, accept_cb, net, LEV_OPT_CLOSE_ON_FREE, 0,
					   listen_fd);
	if (net->listener)
		listen_fd = -1;
	net->accept_retry_ev = evtimer_new(base, accept_retry_cb, net);
	if (!net->listener || !net->accept_retry_ev || start_threads(g) < 0)
		goto fail;
	evconnlistener_set_error_cb(net->listener, accept_error_cb);
	return net;
fail:
	snprintf(err, errlen, "cannot set up the event loops");
	if (listen_fd >= 0)
		close(listen_fd);
	if (!g || !g->loops[0]) {
		free(g);
		return NULL;
	}
	for (size_t i = 0; i < g->n; i++)
		if (!g->loops[i]) {
			g->n = i;
			break;
		}
	smm_net_join(g->loops[0]);
	smm_net_destroy(g->loops[0]);
	return NULL;
}

/* drain stops reading on every connection of this loop and ends the
 * loop once they owe nothing (or drain_timeout passes). */
static void drain(struct smm_net *net)
{
	struct conn *c, *next;
	struct timeval tv = { .tv_sec = net->cfg.drain_timeout };

	if (net->draining)
		return;
	net->draining = 1;
	for (c = LIST_FIRST(&net->conns); c; c = next) {
		next = LIST_NEXT(c, all);
		if (!c->bev)
			continue;
		conn_pause(c, PAUSE_DRAIN);
		conn_maybe_close(c);
	}
	event_add(net->drain_ev, &tv);
	check_drained(net);
}

/* ask_drain tells another loop to drain, waking it. */
static void ask_drain(struct smm_net *loop)
{
	__atomic_store_n(&loop->drain_asked, 1, __ATOMIC_RELEASE);
	wake(loop->port.notify_fd);
}

void smm_net_shutdown(struct smm_net *net)
{
	struct group *g = net->group;

	if (net->draining)
		return;
	/* No handover after this, so each loop finds every one before it
	 * sees the request to drain. */
	if (net->listener) {
		evconnlistener_free(net->listener);
		net->listener = NULL;
	}
	for (size_t i = 1; i < g->n; i++)
		ask_drain(g->loops[i]);
	drain(net);
}

void smm_net_join(struct smm_net *net)
{
	struct group *g = net->group;

	for (size_t i = 1; g && i < g->n; i++) {
		struct smm_net *loop = g->loops[i];
		if (!loop->thread_started)
			continue;
		ask_drain(loop);
		pthread_join(loop->thread, NULL);
		loop->thread_started = 0;
	}
}

void smm_net_destroy(struct smm_net *net)
{
	struct group *g;

	if (!net)
		return;
	g = net->group;
	for (size_t i = 1; i < g->n; i++)
		loop_free(g->loops[i]);
	loop_free(net);
	free(g);
}

void smm_net_stats(const struct smm_net *net, struct smm_stats *st)
{
	fill_loop_stats(net, st);
}

int smm_net_draining(const struct smm_net *net)
{
	return net->draining;
}

void smm_net_metrics(const struct smm_net *net, struct smm_metrics *m)
{
	const struct group *g = net->group;

	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < g->n; i++)
		smm_metrics_add(m, &g->loops[i]->metrics);
}
