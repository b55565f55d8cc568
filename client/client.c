/* client.c — one connection: a queue of request bytes going out, a buffer
 * of reply bytes coming in, and a FIFO of the requests still owed a reply.
 * The blocking calls are the non-blocking pieces plus poll(2). */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "decode.h"
#include "dial.h"
#include "request.h"

/* Bytes asked of recv(2) at a time. */
#define READ_CHUNK 65536

/* A request written (or queued) whose reply has not been read. */
struct owed {
	enum smm_op op;
	uint64_t cookie;
};

struct smm_client {
	int fd;
	int timeout_ms;
	struct smm_buf out; /* request bytes; out.data[0..out_off) already written */
	size_t out_off;
	struct smm_buf in;  /* reply bytes; in.data[0..in_off) already decoded */
	size_t in_off;
	uint64_t moved;     /* bytes written plus bytes read: progress, for timeouts */
	struct owed *owed;  /* ring of owed_cap slots, owed_len used from owed_head */
	size_t owed_head, owed_len, owed_cap;
	struct smm_buf line; /* the last reply line, NUL-terminated */
	char policy[SMM_DECODE_POLICY_MAX];
	char error[SMM_PROTO_MAX_MESSAGE]; /* why the connection broke; "" if it did not */
	char peer[64];                     /* "host:port", to say who failed */
	smm_client_trace_cb trace;         /* NULL: no tracing */
	void *trace_arg;
};

/* fail marks c broken with a formatted reason and returns -1. */
static int fail(struct smm_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct smm_client *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->error[0]) {
		int n = snprintf(c->error, sizeof c->error, "%s: ", c->peer);
		va_start(ap, fmt);
		vsnprintf(c->error + n, sizeof c->error - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int smm_client_connect(const char *host, int port, int timeout_ms, struct smm_client **out,
		       char *err, size_t errlen)
{
	struct smm_client *c;

	*out = NULL;
	c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->fd = smm_dial_tcp(host, port, timeout_ms, err, errlen);
	if (c->fd < 0) {
		free(c);
		return -1;
	}
	c->timeout_ms = timeout_ms;
	snprintf(c->peer, sizeof c->peer, "%.40s:%d", host, port);
	*out = c;
	return 0;
}

void smm_client_close(struct smm_client *c)
{
	if (!c)
		return;
	close(c->fd);
	smm_buf_free(&c->out);
	smm_buf_free(&c->in);
	smm_buf_free(&c->line);
	free(c->owed);
	free(c);
}

void smm_client_trace(struct smm_client *c, smm_client_trace_cb cb, void *arg)
{
	c->trace = cb;
	c->trace_arg = arg;
}

int smm_client_fd(const struct smm_client *c)
{
	return c->fd;
}

size_t smm_client_pending(const struct smm_client *c)
{
	return c->owed_len;
}

const char *smm_client_error(const struct smm_client *c)
{
	return c->error;
}

const char *smm_client_last_line(const struct smm_client *c)
{
	return c->line.data ? c->line.data : "";
}

short smm_client_events(const struct smm_client *c)
{
	short ev = 0;

	if (c->owed_len)
		ev |= POLLIN;
	if (c->out_off < c->out.len)
		ev |= POLLOUT;
	return ev;
}

/* owe appends one entry to the ring, growing it when full. */
static int owe(struct smm_client *c, enum smm_op op, uint64_t cookie)
{
	if (c->owed_len == c->owed_cap) {
		size_t cap = c->owed_cap ? 2 * c->owed_cap : 16;
		struct owed *q = malloc(cap * sizeof *q);
		if (!q)
			return -1;
		for (size_t i = 0; i < c->owed_len; i++)
			q[i] = c->owed[(c->owed_head + i) % c->owed_cap];
		free(c->owed);
		c->owed = q;
		c->owed_cap = cap;
		c->owed_head = 0;
	}
	c->owed[(c->owed_head + c->owed_len) % c->owed_cap] = (struct owed){ op, cookie };
	c->owed_len++;
	return 0;
}

/* trace_request shows the request line just queued at out.data[at..],
 * but never an admin token, whichever request carries one (reset,
 * compact, the operator's free): a trace goes to terminals and logs. */
static void trace_request(struct smm_client *c, const struct smm_request *req, size_t at)
{
	struct smm_request hidden;
	struct smm_buf line = { 0 };

	if (req->token_len == 0) {
		c->trace(c->trace_arg, '>', c->out.data + at, c->out.len - at - 1);
		return;
	}
	hidden = *req;
	hidden.token_len = (size_t)snprintf(hidden.token, sizeof hidden.token, "(hidden)");
	smm_request_format(&hidden, &line);
	if (!line.oom)
		c->trace(c->trace_arg, '>', line.data, line.len - 1);
	smm_buf_free(&line);
}

int smm_client_send(struct smm_client *c, const struct smm_request *req, uint64_t cookie)
{
	size_t before = c->out.len;

	if (c->error[0])
		return -1;
	smm_request_format(req, &c->out);
	if (c->out.oom || owe(c, req->op, cookie) < 0) {
		c->out.len = before;
		c->out.oom = 0;
		return -1;
	}
	if (c->trace)
		trace_request(c, req, before);
	return 0;
}

/* write_some writes queued bytes until the socket would block. */
static int write_some(struct smm_client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return fail(c, "cannot send to the server: %s", strerror(errno));
		}
		c->out_off += (size_t)n;
		c->moved += (uint64_t)n;
	}
	smm_buf_reset(&c->out);
	c->out_off = 0;
	return 0;
}

/* read_some reads what has arrived, dropping already decoded bytes first. */
static int read_some(struct smm_client *c)
{
	if (c->in_off) {
		memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
	for (;;) {
		ssize_t n;
		if (c->in.len >= SMM_CLIENT_MAX_LINE)
			return fail(c, "reply line longer than %u bytes", SMM_CLIENT_MAX_LINE);
		if (smm_buf_reserve(&c->in, READ_CHUNK) < 0)
			return fail(c, "out of memory reading a reply");
		n = recv(c->fd, c->in.data + c->in.len, READ_CHUNK, 0);
		if (n > 0) {
			c->in.len += (size_t)n;
			c->moved += (uint64_t)n;
			if ((size_t)n < READ_CHUNK)
				return 0;
			continue;
		}
		if (n == 0)
			return fail(c, "the server closed the connection");
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return fail(c, "cannot read from the server: %s", strerror(errno));
	}
}

int smm_client_io(struct smm_client *c, short revents)
{
	if (c->error[0])
		return -1;
	if (revents & (POLLOUT | POLLERR))
		write_some(c);
	/* Read even when the write failed: a refusing server's "busy" line
	 * may be waiting behind the reset. */
	if (revents & (POLLIN | POLLHUP | POLLERR))
		read_some(c);
	return c->error[0] ? -1 : 0;
}

int smm_client_next(struct smm_client *c, struct smm_reply *rep, uint64_t *cookie)
{
	const char *start = NULL, *nl = NULL;
	size_t len;
	struct owed o;

	smm_reply_clear(rep);
	/* Lines that arrived before a failure are still answers: a server
	 * refusing a connection sends "busy" and then closes it. */
	if (c->in_off < c->in.len) {
		start = c->in.data + c->in_off;
		nl = memchr(start, '\n', c->in.len - c->in_off);
	}
	if (!nl)
		return c->error[0] ? -1 : 0;
	len = (size_t)(nl - start);
	c->in_off += len + 1;
	smm_buf_reset(&c->line);
	smm_buf_add(&c->line, start, len);
	smm_buf_addc(&c->line, '\0');
	if (c->line.oom)
		return fail(c, "out of memory reading a reply");
	if (c->trace)
		c->trace(c->trace_arg, '<', c->line.data, len);
	if (!c->owed_len)
		return fail(c, "unexpected line from the server: %.80s", c->line.data);
	o = c->owed[c->owed_head];
	c->owed_head = (c->owed_head + 1) % c->owed_cap;
	c->owed_len--;
	*cookie = o.cookie;
	if (smm_decode_reply(o.op, c->line.data, len, rep, c->policy) < 0)
		return fail(c, "%s", rep->message);
	return 1;
}

/* wait_next blocks until the next reply is decoded into rep, giving up
 * when the server makes no progress for the timeout. */
static int wait_next(struct smm_client *c, struct smm_reply *rep)
{
	long long deadline = smm_dial_now_ms() + c->timeout_ms;
	uint64_t cookie;
	int rc;

	while ((rc = smm_client_next(c, rep, &cookie)) == 0) {
		struct pollfd pfd = { .fd = c->fd, .events = smm_client_events(c) };
		long long left = deadline - smm_dial_now_ms();
		uint64_t before = c->moved;
		if (left <= 0)
			return fail(c, "no reply from the server within %d ms", c->timeout_ms);
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno != EINTR)
			return fail(c, "poll: %s", strerror(errno));
		if (rc > 0)
			smm_client_io(c, pfd.revents); /* a failure shows in the next smm_client_next */
		if (c->moved != before)
			deadline = smm_dial_now_ms() + c->timeout_ms;
	}
	return rc < 0 ? -1 : 0;
}

/* status_of turns a transport failure or a reply into a status; on
 * failure the reason goes into rep->message. */
static enum smm_client_status status_of(struct smm_client *c, int rc, struct smm_reply *rep)
{
	if (rc < 0) {
		smm_reply_clear(rep);
		snprintf(rep->message, sizeof rep->message, "%s", c->error);
		return SMM_CLIENT_ENET;
	}
	return rep->err == SMM_ERR_NONE ? SMM_CLIENT_OK : SMM_CLIENT_EREPLY;
}

void smm_client_describe(enum smm_client_status st, const struct smm_reply *rep, char *buf,
			 size_t len)
{
	if (st == SMM_CLIENT_EREPLY)
		snprintf(buf, len, "%s: %s", smm_err_name(rep->err), rep->message);
	else
		snprintf(buf, len, "%s", rep->message);
}

enum smm_client_status smm_client_pipeline(struct smm_client *c,
					   const struct smm_request *reqs, size_t n,
					   struct smm_reply *reps)
{
	enum smm_client_status st = SMM_CLIENT_OK;
	size_t i;

	for (i = 0; i < n; i++)
		smm_reply_clear(&reps[i]);
	for (i = 0; i < n; i++)
		if (smm_client_send(c, &reqs[i], i) < 0) {
			fail(c, "out of memory queueing a request");
			goto broken;
		}
	for (i = 0; i < n; i++) {
		if (wait_next(c, &reps[i]) < 0)
			goto broken;
		if (status_of(c, 0, &reps[i]) != SMM_CLIENT_OK)
			st = SMM_CLIENT_EREPLY;
	}
	return st;
broken:
	for (i = 0; i < n; i++)
		smm_reply_clear(&reps[i]);
	return status_of(c, -1, &reps[0]);
}

enum smm_client_status smm_client_call(struct smm_client *c, const struct smm_request *req,
				       struct smm_reply *rep)
{
	return smm_client_pipeline(c, req, 1, rep);
}

enum smm_client_status smm_client_ping(struct smm_client *c, struct smm_reply *rep)
{
	struct smm_request req = { .op = SMM_OP_PING };

	return smm_client_call(c, &req, rep);
}

enum smm_client_status smm_client_malloc(struct smm_client *c, int64_t id, uint64_t size,
					 struct smm_reply *rep)
{
	struct smm_request req = { .op = SMM_OP_MALLOC, .id = id, .size = size };

	return smm_client_call(c, &req, rep);
}

enum smm_client_status smm_client_renew(struct smm_client *c, uint64_t addr, uint64_t key,
					uint64_t ttl_ms, struct smm_reply *rep)
{
	struct smm_request req = { .op = SMM_OP_RENEW, .addr = addr, .key = key,
				   .has_ttl = true, .ttl_ms = ttl_ms };

	return smm_client_call(c, &req, rep);
}

enum smm_client_status smm_client_fill(struct smm_client *c, uint64_t addr, uint64_t key,
				       char ch, struct smm_reply *rep)
{
	struct smm_request req = { .op = SMM_OP_FILL, .addr = addr, .key = key, .fill_char = ch };

	return smm_client_call(c, &req, rep);
}

enum smm_client_status smm_client_free(struct smm_client *c, uint64_t addr, uint64_t key,
				       struct smm_reply *rep)
{
	struct smm_request req = { .op = SMM_OP_FREE, .addr = addr, .key = key };

	return smm_client_call(c, &req, rep);
}

enum smm_client_status smm_client_dump(struct smm_client *c, uint64_t offset, uint64_t length,
				       bool blocks, struct smm_reply *rep)
{
	struct smm_request req = { .op = SMM_OP_DUMP, .offset = offset, .blocks = blocks,
				   .has_length = length != SMM_CLIENT_TO_END,
				   .length = length != SMM_CLIENT_TO_END ? length : 0 };

	return smm_client_call(c, &req, rep);
}

enum smm_client_status smm_client_stats(struct smm_client *c, struct smm_reply *rep)
{
	struct smm_request req = { .op = SMM_OP_STATS };

	return smm_client_call(c, &req, rep);
}

enum smm_client_status smm_client_reset(struct smm_client *c, const char *token,
					struct smm_reply *rep)
{
	struct smm_request req = { .op = SMM_OP_RESET };

	req.token_len = strlen(token);
	if (req.token_len > SMM_PROTO_MAX_TOKEN) {
		/* The server would refuse it unread; say so without asking. */
		smm_reply_clear(rep);
		smm_reply_fail(rep, SMM_ERR_FORBIDDEN, "admin token longer than 256 bytes");
		return SMM_CLIENT_EREPLY;
	}
	memcpy(req.token, token, req.token_len + 1);
	return smm_client_call(c, &req, rep);
}
