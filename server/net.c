/* net.c — connections, lines and replies on the libevent loop.
 *
 * Each connection keeps the jobs it owes replies for in arrival order.
 * A job is "done" when its reply is final: at once for ping and for bad
 * input, or when the allocator thread hands it back. Replies are written
 * from the head while the head is done, so pipelined requests are answered
 * in order whatever the allocator does.
 *
 * A loop round (smm_net_run) is libevent's callbacks for whatever is ready,
 * then before_sleep: the jobs every read of the round parsed go to the
 * allocator in one push, the answered jobs it handed back are taken, and
 * each connection that got replies is written once. So at one request per
 * connection, fifty connections ready together cost the allocator one
 * wake-up, not fifty, and a busy loop takes its replies without being
 * woken at all (port.h). This is Redis's beforeSleep; libevent 2.1 has no
 * hook for it, so the loop runs its rounds itself with EVLOOP_ONCE.
 *
 * Sockets are read and written directly, with plain events rather than
 * bufferevents: one read(2) per readable connection into the loop's read
 * buffer, whose complete lines are parsed in place; only a line cut by the
 * end of a read (or lines left while reading is paused) is copied to the
 * connection's own buffer. Replies are formatted into the loop's write
 * buffer and written with one write(2); only what the kernel does not take
 * is copied to the connection and waits for EV_WRITE. A busy connection
 * thus holds no buffer memory of its own, and steady traffic allocates
 * nothing (jobs are recycled too).
 *
 * Reading stops (never dropping anything) while too many jobs are in
 * flight to the allocator, while a connection has too many unread reply
 * bytes, and during shutdown. A connection whose peer vanished keeps its
 * memory until its last job returns from the allocator, since that thread
 * still holds pointers into it.
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
 * back to it. Each loop gets an equal share of --queue-depth, so it pauses
 * and resumes reading on its own jobs alone and never waits for another
 * loop's to come back. Counters are written only by their loop, as atomic
 * stores, and summed by whoever asks for stats. */
#include "net.h"

#include <errno.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* One read(2) takes at most this much: a connection with more waiting
 * is read again next round, after the others had their turn. */
#define READ_CHUNK 65536

/* The loop's write buffer is let go after a reply round larger than this
 * (large dumps), so that one dump does not pin its size for good. */
#define WRITE_BUF_KEEP (256 * 1024)

/* before_sleep goes round at most this many times (replies that came
 * while it worked) before it lets the loop poll the sockets again. */
#define ROUNDS_MAX 8

STAILQ_HEAD(job_list, smm_job);

struct conn {
	struct smm_net *net;
	evutil_socket_t fd;        /* -1 once closed */
	struct event *rev;         /* readable (persistent, with the idle timeout) */
	struct event *wev;         /* writable, added only while out waits */
	struct smm_buf in;         /* input read but not consumed; usually empty */
	struct smm_buf out;        /* reply bytes the kernel has not taken, from out_sent */
	size_t out_sent;
	struct job_list owed;      /* jobs owing a reply, in arrival order */
	size_t inflight;           /* jobs held by the allocator thread */
	size_t owed_bytes;         /* estimated size of the replies not yet written */
	unsigned paused;
	int reading;               /* rev is added */
	int discarding;            /* skipping the rest of a too-long line */
	int eof;                   /* peer finished sending */
	int lingering;             /* shutting down: FIN sent, discarding input */
	int touched;               /* on net->touched: has replies to write this round */
	int scoped;                /* asked for connection-scoped blocks */
	unsigned long long id;     /* 64 bits, counted up: never reused */
	struct smm_qnode handover; /* link in the owning loop's inbox */
	LIST_ENTRY(conn) all;      /* net->conns */
	LIST_ENTRY(conn) touched_link;
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
	struct smm_port own_port;  /* loops 1..N-1: where their jobs come back */
	struct smm_port *port;     /* where this loop's jobs come back */
	struct smm_port *job_port; /* what its jobs carry; NULL (home) on the main loop */
	struct smm_queue *inbox;   /* loops 1..N-1: connections handed over */
	pthread_t thread;
	int thread_started;
	int drain_asked;           /* atomic: the main loop asked it to drain */
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *notify_ev, *accept_retry_ev, *drain_ev;
	const struct timeval *idle_tv; /* libevent's common timeout; NULL: none */
	struct smm_queue *requests;
	struct smm_qlist batch;    /* jobs parsed this round, not yet pushed */
	struct smm_qlist spare;    /* finished jobs kept for reuse */
	LIST_HEAD(, conn) conns;   /* every connection, closed ones too */
	LIST_HEAD(, conn) touched; /* connections with replies to write */
	size_t nconns;             /* this loop's open connections */
	uint64_t inflight;         /* this loop's jobs at the allocator */
	/* Connections waiting for queue room, oldest first, so the first to
	 * wait is the first to read again. */
	TAILQ_HEAD(, conn) queue_paused;
	unsigned long long next_id;
	int draining;
	int destroying;            /* the allocator has stopped: queue nothing */
	uint64_t now_ns;           /* the round's clock (round_ns); 0: not read yet */
	char *rbuf;                /* READ_CHUNK bytes: each read lands here */
	struct smm_buf wbuf;       /* one connection's replies of a round */
	struct timespec started;
	uint64_t requests_total, bad_requests, too_large, rejected_connections;
	uint64_t output_paused, idle_closed, accept_paused;
	struct smm_metrics metrics;
};

static void check_drained(struct smm_net *net);
static void submit(struct conn *c, struct smm_job *j);
static void push_batch(struct smm_net *net);
static int conn_take(struct conn *c, const char *p, size_t n);

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

/* round_ns is the clock for the metrics' latencies, read once per half
 * round (the reads, then the replies) rather than twice per request: at
 * P=16 the two clock reads per request were 5% of the loop's time. A
 * latency is thus measured from the first read of the round, an over-
 * estimate by at most the round's length, as Redis's cached clock. */
static uint64_t round_ns(struct smm_net *net)
{
	if (!net->now_ns)
		net->now_ns = smm_metrics_now_ns();
	return net->now_ns;
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

/* conn_touch puts c on the list of connections written at the end of the
 * round. */
static void conn_touch(struct conn *c)
{
	if (c->touched || c->fd < 0)
		return;
	c->touched = 1;
	LIST_INSERT_HEAD(&c->net->touched, c, touched_link);
}

static void conn_untouch(struct conn *c)
{
	if (!c->touched)
		return;
	c->touched = 0;
	LIST_REMOVE(c, touched_link);
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

static void start_reading(struct conn *c)
{
	if (!c->reading && event_add(c->rev, c->net->idle_tv) == 0)
		c->reading = 1;
}

static void stop_reading(struct conn *c)
{
	if (c->reading && event_del(c->rev) == 0)
		c->reading = 0;
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

	if (c->fd >= 0) {
		set_paused(c, 0);
		conn_untouch(c);
		event_free(c->rev);
		event_free(c->wev);
		close(c->fd);
		c->fd = -1;
		smm_buf_free(&c->in);
		smm_buf_free(&c->out);
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
		stop_reading(c);
	set_paused(c, c->paused | why);
}

/* conn_resume clears a reason to pause; with none left, reading starts
 * again from the lines already buffered. Returns -1 when it closed c. */
static int conn_resume(struct conn *c, unsigned why)
{
	if (!(c->paused & why))
		return 0;
	set_paused(c, c->paused & ~why);
	if (c->paused)
		return 0;
	if (!c->eof)
		start_reading(c);
	return conn_take(c, c->in.data, c->in.len);
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
	smm_buf_free(&c->in);
	shutdown(c->fd, SHUT_WR);
	start_reading(c);
}

/* input_pending says whether the peer sent bytes we have not consumed,
 * in our buffer or still in the kernel's. */
static int input_pending(struct conn *c)
{
	int n = 0;

	return c->in.len > 0 || (ioctl(c->fd, FIONREAD, &n) == 0 && n > 0);
}

/* conn_maybe_close closes a connection that owes nothing and will get no
 * more input. Returns 1 when it closed c (c is then gone). */
static int conn_maybe_close(struct conn *c)
{
	struct smm_net *net = c->net;

	if (c->fd < 0 || !STAILQ_EMPTY(&c->owed) || c->out.len)
		return 0;
	if (net->draining && !c->eof && !c->lingering && input_pending(c)) {
		conn_linger(c);
		return 0;
	}
	if (c->lingering)
		return 0;
	if (!net->draining && !(c->eof && !c->paused && c->in.len == 0))
		return 0;
	conn_close(c);
	return 1;
}

/* output_full says whether the replies this connection has not read, plus
 * those it is still owed, reach --max-output. Counting the owed ones stops
 * a pipeline of large dumps from being accepted all at once. */
static int output_full(const struct conn *c)
{
	size_t max = c->net->cfg.max_output;

	return max && c->out.len - c->out_sent + c->owed_bytes >= max;
}

/* format_reply appends j's reply to b. Returns -1 when memory ran out even
 * for a short error reply: the connection must then close, since a reply
 * it owes would be missing. */
static int format_reply(struct smm_net *net, struct smm_job *j, struct smm_buf *b)
{
	size_t before = b->len;

	if (j->req.op == SMM_OP_STATS && j->rep.err == SMM_ERR_NONE)
		fill_loop_stats(net, &j->rep.stats);
	smm_metrics_reply(&net->metrics, j->mop, j->rep.err, round_ns(net) - j->read_ns);
	smm_buf_reserve(b, smm_reply_bound(j->req.op, j->req.tag_len, &j->rep));
	smm_reply_format(j->req.op, j->req.tag, j->req.tag_len, &j->rep, b);
	if (!b->oom)
		return 0;
	b->len = before;
	b->oom = 0;
	smm_reply_clear(&j->rep);
	smm_reply_fail(&j->rep, SMM_ERR_BUSY, "server out of memory for this reply");
	smm_reply_format(j->req.op, j->req.tag, j->req.tag_len, &j->rep, b);
	return b->oom ? -1 : 0;
}

/* conn_write writes p[0..n) to c's socket; what the kernel does not take
 * is kept in c->out and written on EV_WRITE. Returns -1 when it closed c. */
/* write_some writes what the kernel takes of p[0..n) to c's socket.
 * Returns the bytes taken (0 when it takes none now), or -1 when the
 * write failed and it closed c. */
static ssize_t write_some(struct conn *c, const char *p, size_t n)
{
	ssize_t w = write(c->fd, p, n);

	if (w >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return w < 0 ? 0 : w;
	smm_log_write(c->net->cfg.log, SMM_LOG_DEBUG, "connection %llu: write: %s", c->id,
		      strerror(errno));
	conn_close(c);
	return -1;
}

static int conn_write(struct conn *c, const char *p, size_t n)
{
	ssize_t w = write_some(c, p, n);

	if (w < 0)
		return -1;
	if ((size_t)w == n)
		return 0;
	smm_buf_add(&c->out, p + w, n - (size_t)w);
	if (c->out.oom || event_add(c->wev, c->net->idle_tv) < 0) {
		smm_log_write(c->net->cfg.log, SMM_LOG_WARN,
			      "connection %llu: out of memory for its output, closing", c->id);
		conn_close(c);
		return -1;
	}
	return 0;
}

/* conn_flush writes every reply that is ready, in order: formatted into
 * the loop's write buffer and written at once, or, while earlier output
 * still waits for the kernel, queued behind it. Returns -1 when it closed
 * c. */
static int conn_flush(struct conn *c)
{
	struct smm_net *net = c->net;
	struct smm_buf *b = c->out.len ? &c->out : &net->wbuf;
	struct smm_job *j;
	int rc = 0;

	smm_buf_reset(&net->wbuf);
	while ((j = STAILQ_FIRST(&c->owed)) && j->done) {
		STAILQ_REMOVE_HEAD(&c->owed, owed);
		c->owed_bytes -= j->reply_estimate;
		rc = format_reply(net, j, b);
		job_put(net, j);
		if (rc < 0) {
			smm_log_write(net->cfg.log, SMM_LOG_WARN,
				      "connection %llu: out of memory for a reply, closing", c->id);
			conn_close(c);
			return -1;
		}
	}
	if (b == &net->wbuf && b->len)
		rc = conn_write(c, b->data, b->len);
	if (net->wbuf.cap > WRITE_BUF_KEEP)
		smm_buf_free(&net->wbuf);
	if (rc < 0 || conn_maybe_close(c))
		return -1;
	if ((c->paused & PAUSE_OUTPUT) && !output_full(c))
		return conn_resume(c, PAUSE_OUTPUT);
	return 0;
}

/* write_cb writes what waited for the kernel; once all is out, replies go
 * straight to the socket again (conn_flush). */
static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t w;

	(void)fd;
	smm_port_awake(c->net->port);
	if (what & EV_TIMEOUT) {
		smm_counter_add(&c->net->idle_closed, 1);
		conn_close(c);
		return;
	}
	w = write_some(c, c->out.data + c->out_sent, c->out.len - c->out_sent);
	if (w < 0)
		return;
	c->out_sent += (size_t)w;
	if (c->out_sent < c->out.len)
		return;
	event_del(c->wev);
	smm_buf_free(&c->out);
	c->out_sent = 0;
	conn_touch(c); /* replies may have become ready behind it */
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
	j->read_ns = round_ns(net);
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
	j->read_ns = round_ns(c->net);
	j->mop = SMM_METRICS_INVALID;
	snprintf(msg, sizeof msg, "line longer than the server's limit of %zu bytes",
		 c->net->cfg.max_line);
	smm_reply_fail(&j->rep, SMM_ERR_TOO_LARGE, msg);
	j->done = 1;
	return 0;
}


/* take_lines handles the complete lines at the start of p[0..n), answering
 * and skipping too-long ones, until they run out or reading pauses.
 * Returns the bytes consumed (the rest is kept for later), or -1 when
 * memory ran out. */
static ssize_t take_lines(struct conn *c, const char *p, size_t n)
{
	struct smm_net *net = c->net;
	size_t used = 0, max = net->cfg.max_line;

	while (!c->paused) {
		const char *line, *nl;
		size_t len;
		if (net->inflight >= net->cfg.queue_depth) {
			conn_pause(c, PAUSE_QUEUE);
			break;
		}
		if (output_full(c)) {
			smm_counter_add(&net->output_paused, 1);
			conn_pause(c, PAUSE_OUTPUT);
			break;
		}
		if (used == n)
			break; /* p may be NULL when n is 0 */
		line = p + used;
		nl = memchr(line, '\n', n - used);
		len = nl ? (size_t)(nl - line) : n - used;
		if (!nl) {
			/* A line longer than the limit is answered as soon as
			 * that is known, and its bytes dropped as they come. */
			if (len > max || c->discarding) {
				if (!c->discarding && answer_too_large(c) < 0)
					return -1;
				c->discarding = 1;
				used = n;
			}
			break;
		}
		if (c->discarding || len > max) {
			if (!c->discarding && answer_too_large(c) < 0)
				return -1;
			c->discarding = 0;
		} else if (handle_line(c, line, len) < 0) {
			return -1;
		}
		used += len + 1;
	}
	return (ssize_t)used;
}

/* take_last_line answers a final line that the peer ended with EOF
 * instead of "\n", as nc does with `printf '...'`. */
static int take_last_line(struct conn *c)
{
	int rc = 0;

	if (c->paused || c->in.len == 0)
		return 0;
	if (!c->discarding)
		rc = handle_line(c, c->in.data, c->in.len);
	smm_buf_free(&c->in);
	return rc;
}

/* take_input handles the lines of p[0..n) (which may be c->in itself)
 * and keeps the rest in c->in. Returns -1 when memory ran out. */
static int take_input(struct conn *c, const char *p, size_t n)
{
	ssize_t used = take_lines(c, p, n);

	if (used < 0)
		return -1;
	if (p == c->in.data) {
		c->in.len = n - (size_t)used;
		if (c->in.len == 0)
			smm_buf_free(&c->in); /* an idle connection holds no buffer */
		else if (used > 0)
			memmove(c->in.data, c->in.data + used, c->in.len);
	} else if ((size_t)used < n) {
		smm_buf_add(&c->in, p + used, n - (size_t)used);
		if (c->in.oom)
			return -1;
	}
	return c->eof ? take_last_line(c) : 0;
}

/* conn_take handles the lines of p[0..n) (bytes just read, or c->in
 * itself after a pause) and queues c's replies for the end of the round.
 * Returns -1 when it closed c. */
static int conn_take(struct conn *c, const char *p, size_t n)
{
	if (take_input(c, p, n) < 0) {
		smm_log_write(c->net->cfg.log, SMM_LOG_WARN,
			      "connection %llu: out of memory, closing", c->id);
		conn_close(c);
		return -1;
	}
	conn_touch(c);
	return 0;
}

/* conn_read makes one read(2): into the loop's buffer, or behind what c
 * holds already. Returns the bytes read, 0 at EOF, or -1 with errno. */
static ssize_t conn_read(struct conn *c, char **at)
{
	if (c->in.len == 0) {
		*at = c->net->rbuf;
		return read(c->fd, *at, READ_CHUNK);
	}
	if (smm_buf_reserve(&c->in, READ_CHUNK) < 0) {
		errno = ENOMEM;
		return -1;
	}
	*at = c->in.data + c->in.len;
	return read(c->fd, *at, READ_CHUNK);
}

/* conn_idle: nothing came for --idle-timeout seconds. A connection still
 * owed replies is busy, not idle; its timer simply starts again. */
static void conn_idle(struct conn *c)
{
	if (STAILQ_EMPTY(&c->owed) && c->out.len == 0) {
		smm_counter_add(&c->net->idle_closed, 1);
		conn_close(c);
	}
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char *at;
	ssize_t n;

	(void)fd;
	smm_port_awake(c->net->port);
	if (what & EV_TIMEOUT) {
		conn_idle(c);
		return;
	}
	n = conn_read(c, &at);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		smm_log_write(c->net->cfg.log, errno == ENOMEM ? SMM_LOG_WARN : SMM_LOG_DEBUG,
			      "connection %llu: read: %s", c->id, strerror(errno));
		conn_close(c);
		return;
	}
	if (n == 0) {
		c->eof = 1;
		stop_reading(c);
	}
	if (c->lingering) {
		if (c->eof)
			conn_close(c);
		return;
	}
	if (at == c->net->rbuf) {
		conn_take(c, at, (size_t)n);
	} else {
		c->in.len += (size_t)n;
		conn_take(c, c->in.data, c->in.len);
	}
}

static void reject(struct smm_net *net, evutil_socket_t fd)
{
	struct smm_reply rep = { 0 };

	smm_counter_add(&net->rejected_connections, 1);
	smm_counter_add(&net->metrics.by_err[SMM_ERR_BUSY], 1);
	smm_reply_fail(&rep, SMM_ERR_BUSY, "too many connections");
	smm_buf_reset(&net->wbuf);
	smm_reply_format(SMM_OP_PING, NULL, 0, &rep, &net->wbuf);
	/* Best effort: a fresh socket's send buffer takes one short line. */
	if (send(fd, net->wbuf.data, net->wbuf.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
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

	evutil_make_socket_nonblocking(c->fd);
	c->rev = event_new(net->base, c->fd, EV_READ | EV_PERSIST, read_cb, c);
	c->wev = event_new(net->base, c->fd, EV_WRITE | EV_PERSIST, write_cb, c);
	if (!c->rev || !c->wev || event_add(c->rev, net->idle_tv) < 0) {
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		close(c->fd);
		__atomic_fetch_sub(&net->group->conns, 1, __ATOMIC_RELAXED);
		free(c);
		return;
	}
	c->reading = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	STAILQ_INIT(&c->owed);
	LIST_INSERT_HEAD(&net->conns, c, all);
	net->nconns++;
	/* The loop is named only when there are several to tell apart. */
	if (net->group->n > 1)
		smm_log_write(net->cfg.log, SMM_LOG_DEBUG, "connection %llu opened on loop %u",
			      c->id, net->index);
	else
		smm_log_write(net->cfg.log, SMM_LOG_DEBUG, "connection %llu opened", c->id);
}

/* hand_over gives c to its loop, another thread's: the loop takes it from
 * its inbox when its eventfd wakes it. */
static void hand_over(struct conn *c)
{
	struct smm_qlist one = { 0 };

	smm_qlist_append(&one, &c->handover);
	if (smm_queue_push(c->net->inbox, &one) == 1) /* unbounded: cannot fail */
		smm_port_poke(c->net->port);
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


/* flush_touched writes every connection that has replies ready. */
static void flush_touched(struct smm_net *net)
{
	struct conn *c;

	while ((c = LIST_FIRST(&net->touched))) {
		conn_untouch(c);
		conn_flush(c);
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

/* notify_cb runs when the eventfd was written: replies came while the
 * loop slept (before_sleep takes them), or, on loops 1..N-1, connections
 * or a request to drain. */
static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smm_net *net = arg;
	uint64_t count;

	(void)what;
	smm_port_awake(net->port);
	if (read(fd, &count, sizeof count) < 0 && errno != EAGAIN)
		smm_log_write(net->cfg.log, SMM_LOG_WARN, "eventfd: %s", strerror(errno));
	if (net->inbox)
		take_inbox(net);
}

/* take_replies takes back every answered job the allocator has handed
 * over, marking each connection that can now write. */
static void take_replies(struct smm_net *net)
{
	struct smm_qlist done;
	struct smm_qnode *n;

	smm_queue_pop_all(net->port->replies, 0, &done);
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
		if (c->fd < 0) {
			if (c->inflight == 0)
				conn_free(c);
		} else {
			conn_touch(c);
		}
	}
}

/* before_sleep ends a round: the round's jobs go to the allocator in one
 * push, the replies that came back are written, and reading resumes where
 * the pipeline has room again; then, if nothing new came meanwhile, the
 * loop may sleep. */
static void before_sleep(struct smm_net *net)
{
	for (int round = 0;; round++) {
		push_batch(net);
		take_replies(net);
		flush_touched(net);
		if (!net->draining)
			resume_queue_paused(net);
		if (net->batch.n || !LIST_EMPTY(&net->touched))
			continue;
		if (smm_port_sleep(net->port) == 0)
			break;
		if (round >= ROUNDS_MAX) {
			/* Poll the sockets once before taking these. */
			event_active(net->notify_ev, EV_READ, 1);
			break;
		}
	}
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
	if (net->port && net->port->replies) {
		smm_queue_pop_all(net->port->replies, 0, &left);
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
		if (c->fd >= 0)
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
	smm_buf_free(&net->wbuf);
	free(net->rbuf);
	if (net->index > 0) {
		if (net->base)
			event_base_free(net->base);
		smm_port_close(&net->own_port);
		smm_queue_destroy(net->inbox);
	}
	free(net);
}

/* loop_new makes loop index of g, serving on base with home as its port;
 * a loop other than the main one makes its own base, port (replies queue
 * and eventfd) and inbox. Returns NULL when something could not be made. */
static struct smm_net *loop_new(struct group *g, unsigned index, struct event_base *base,
				const struct smm_net_config *cfg, struct smm_queue *requests,
				struct smm_port *home)
{
	struct smm_net *net = calloc(1, sizeof *net);

	if (!net)
		return NULL;
	net->cfg = *cfg;
	net->cfg.queue_depth = cfg->queue_depth / g->n ? cfg->queue_depth / g->n : 1;
	net->group = g;
	net->index = index;
	net->requests = requests;
	net->port = home;
	net->own_port.notify_fd = -1;
	LIST_INIT(&net->conns);
	LIST_INIT(&net->touched);
	TAILQ_INIT(&net->queue_paused);
	clock_gettime(CLOCK_MONOTONIC, &net->started);
	if (index > 0) {
		base = event_base_new();
		smm_port_open(&net->own_port); /* checked below with the rest */
		net->inbox = smm_queue_new(0);
		net->port = net->job_port = &net->own_port;
	}
	net->base = base;
	net->rbuf = malloc(READ_CHUNK);
	if (base && net->port->notify_fd >= 0)
		net->notify_ev = event_new(base, net->port->notify_fd, EV_READ | EV_PERSIST,
					   notify_cb, net);
	if (base)
		net->drain_ev = evtimer_new(base, drain_timeout_cb, net);
	if (base && cfg->idle_timeout > 0)
		net->idle_tv = event_base_init_common_timeout(
			base, &(struct timeval){ .tv_sec = cfg->idle_timeout });
	if (!base || !net->port->replies || !net->rbuf || (index > 0 && !net->inbox) ||
	    !net->notify_ev || !net->drain_ev || (cfg->idle_timeout > 0 && !net->idle_tv) ||
	    event_add(net->notify_ev, NULL) < 0) {
		loop_free(net);
		return NULL;
	}
	return net;
}

int smm_net_run(struct smm_net *net)
{
	for (;;) {
		int rc = event_base_loop(net->base, EVLOOP_ONCE);
		smm_port_awake(net->port);
		if (rc < 0)
			return -1;
		if (rc == 1 || event_base_got_exit(net->base) || event_base_got_break(net->base))
			return 0;
		net->now_ns = 0;
		smm_port_note_cpu(net->port);
		before_sleep(net);
		net->now_ns = 0;
	}
}

static void *loop_main(void *arg)
{
	struct smm_net *net = arg;
	char name[16];

	/* Named, so that top -H and bench/server.py tell the loops apart. */
	snprintf(name, sizeof name, "smm-loop%u", net->index);
	pthread_setname_np(pthread_self(), name);

	if (smm_net_run(net) < 0)
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
			    struct smm_queue *requests, struct smm_port *home,
			    char *err, size_t errlen)
{
	struct group *g = calloc(1, sizeof *g);
	struct smm_net *net = NULL;

	if (!g || loops < 1 || loops > SMM_PORTS_MAX)
		goto fail;
	g->n = loops;
	for (unsigned i = 0; i < loops; i++)
		if (!(g->loops[i] = loop_new(g, i, base, cfg, requests, home)))
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
		if (c->fd < 0)
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
	smm_port_poke(&loop->own_port);
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
