/* http.c — the HTTP side port.
 *
 * Read-only: no route changes state and no key is ever shown. /metrics
 * and /map.json each send internal jobs (a stats, and a map then a
 * stats, in one batch so they see the same moment) down the request
 * queue; the allocator answers them in turn with everyone else's, and
 * net's reply path hands them back to job_back here. A full queue is a
 * 503, not a wait. The page polls /map.json (see web/index.html). */
#include "http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "job.h"
#include "metrics.h"
#include "num.h"
#include "reply.h"
#include "web.h"

struct smm_http {
	struct smm_http_config cfg;
	struct evhttp *evh;
	struct smm_net *net;
	struct smm_queue *requests;
};

/* One HTTP request waiting for the allocator: a map (unused by /metrics)
 * and a stats, answered together when both are back. */
struct call {
	struct smm_job map, stats;
	struct smm_http *http;
	struct evhttp_request *req;
	int waiting;
};

static void send_text(struct evhttp_request *req, int code, const char *reason,
		      const char *type, const void *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (b && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, reason, b);
	if (b)
		evbuffer_free(b);
}

static void send_error(struct evhttp_request *req, int code, const char *reason,
		       const char *msg)
{
	char body[256];
	int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", msg);

	send_text(req, code, reason, "application/json", body, (size_t)n);
}

static void call_free(struct call *c)
{
	smm_request_clear(&c->map.req);
	smm_reply_clear(&c->map.rep);
	smm_request_clear(&c->stats.req);
	smm_reply_clear(&c->stats.rep);
	free(c);
}

/* reply_line appends rep as its wire line without the "\n". */
static void reply_line(enum smm_op op, const struct smm_reply *rep, struct smm_buf *out)
{
	smm_reply_format(op, NULL, 0, rep, out);
	if (out->len)
		out->len--;
}

static void answer_map(struct call *c, struct smm_buf *out)
{
	smm_buf_addf(out, "{\"version\":\"%s\",\"policy\":\"%s\",\"map\":", c->http->cfg.version,
		     c->stats.rep.stats.policy ? c->stats.rep.stats.policy : "");
	reply_line(SMM_OP_MAP, &c->map.rep, out);
	smm_buf_adds(out, ",\"stats\":");
	reply_line(SMM_OP_STATS, &c->stats.rep, out);
	smm_buf_adds(out, "}\n");
}

static void answer(struct call *c)
{
	struct smm_buf out;
	int is_map = c->map.back != NULL;

	smm_buf_init(&out);
	smm_net_stats(c->http->net, &c->stats.rep.stats);
	if (is_map && c->map.rep.err != SMM_ERR_NONE) {
		reply_line(SMM_OP_MAP, &c->map.rep, &out);
		if (!out.oom)
			send_text(c->req, 400, "Bad Request", "application/json", out.data, out.len);
	} else if (is_map) {
		answer_map(c, &out);
		if (!out.oom)
			send_text(c->req, 200, "OK", "application/json", out.data, out.len);
	} else {
		struct smm_metrics m;
		smm_net_metrics(c->http->net, &m);
		smm_metrics_format(&m, &c->stats.rep.stats, c->http->cfg.version, &out);
		if (!out.oom)
			send_text(c->req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
				  out.data, out.len);
	}
	if (out.oom)
		send_error(c->req, 503, "Service Unavailable", "out of memory");
	smm_buf_free(&out);
}

/* job_back takes back one of a call's jobs; the last one answers. */
static void job_back(struct smm_job *j)
{
	struct call *c = j->conn;

	if (--c->waiting > 0)
		return;
	answer(c);
	call_free(c);
}

static void add_job(struct call *c, struct smm_job *j, enum smm_op op, struct smm_qlist *batch)
{
	j->req.op = op;
	j->conn = c;
	j->back = job_back;
	c->waiting++;
	smm_qlist_append(batch, &j->node);
}

/* submit sends the call's jobs (the map first, when map is set). */
static void submit(struct call *c, const struct smm_request *map)
{
	struct smm_qlist batch = { 0 };

	if (map) {
		add_job(c, &c->map, SMM_OP_MAP, &batch);
		c->map.req = *map;
	}
	add_job(c, &c->stats, SMM_OP_STATS, &batch);
	smm_queue_push(c->http->requests, &batch); /* unbounded: cannot fail */
}

static struct call *call_new(struct smm_http *http, struct evhttp_request *req)
{
	struct call *c = calloc(1, sizeof *c);

	if (!c) {
		send_error(req, 503, "Service Unavailable", "out of memory");
		return NULL;
	}
	c->http = http;
	c->req = req;
	return c;
}

/* query_number reads one number of the query; absent leaves *out as is. */
static int query_number(struct evkeyvalq *q, const char *name, uint64_t *out)
{
	const char *v = evhttp_find_header(q, name);

	return v ? smm_num_parse(v, false, out) : 0;
}

/* parse_map reads /map.json's offset, length, cells and blocks (0 or 1)
 * into a map request. Returns -1 with *why set when one is invalid. */
static int parse_map(const char *query, struct smm_request *m, const char **why)
{
	struct evkeyvalq q;
	uint64_t blocks = 1;
	int rc = -1;

	TAILQ_INIT(&q);
	memset(m, 0, sizeof *m);
	m->op = SMM_OP_MAP;
	m->cells = SMM_HTTP_DEFAULT_CELLS;
	if (query && evhttp_parse_query_str(query, &q) < 0) {
		*why = "malformed query";
		goto out;
	}
	m->has_length = evhttp_find_header(&q, "length") != NULL;
	if (query_number(&q, "offset", &m->offset) < 0 || query_number(&q, "length", &m->length) < 0 ||
	    query_number(&q, "cells", &m->cells) < 0 || query_number(&q, "blocks", &blocks) < 0 ||
	    m->offset > SMM_PROTO_MAX_INT || m->length > SMM_PROTO_MAX_INT || blocks > 1) {
		*why = "offset, length and cells must be decimal numbers, blocks 0 or 1";
		goto out;
	}
	if (m->cells < 1 || m->cells > SMM_PROTO_MAX_CELLS) {
		*why = "cells must be from 1 to 16384";
		goto out;
	}
	m->blocks = blocks == 1;
	rc = 0;
out:
	evhttp_clear_headers(&q);
	return rc;
}

static void route_map(struct smm_http *http, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *why = NULL;
	struct smm_request m;
	struct call *c;

	if (parse_map(evhttp_uri_get_query(uri), &m, &why) < 0) {
		send_error(req, 400, "Bad Request", why);
		return;
	}
	if ((c = call_new(http, req)))
		submit(c, &m);
}

static void route_healthz(struct smm_http *http, struct evhttp_request *req)
{
	char why[128] = "draining";
	int bad = smm_net_draining(http->net) ||
		  (http->cfg.unhealthy && http->cfg.unhealthy(http->cfg.health_arg, why, sizeof why) < 0);
	char body[160];
	int n = snprintf(body, sizeof body, "%s\n", bad ? why : "ok");

	send_text(req, bad ? 503 : 200, bad ? "Service Unavailable" : "OK", "text/plain", body,
		  (size_t)n);
}

static void request_cb(struct evhttp_request *req, void *arg)
{
	struct smm_http *http = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct call *c;

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		send_error(req, 405, "Method Not Allowed", "read-only: GET or HEAD");
	} else if (!path) {
		send_error(req, 400, "Bad Request", "no path");
	} else if (strcmp(path, "/healthz") == 0) {
		route_healthz(http, req);
	} else if (strcmp(path, "/metrics") == 0) {
		if ((c = call_new(http, req)))
			submit(c, NULL);
	} else if (strcmp(path, "/map.json") == 0) {
		route_map(http, req);
	} else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
		send_text(req, 200, "OK", "text/html; charset=utf-8", smm_web_index,
			  smm_web_index_len);
	} else {
		send_error(req, 404, "Not Found", "no such page");
	}
}

struct smm_http *smm_http_new(struct event_base *base, int listen_fd, struct smm_net *net,
			      struct smm_queue *requests, const struct smm_http_config *cfg,
			      char *err, size_t errlen)
{
	struct smm_http *http = calloc(1, sizeof *http);
	int one = 1;

	/* Accepted sockets inherit it: a reply is never held back by Nagle
	 * waiting for the ACK of its own first segment. */
	setsockopt(listen_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!http || !(http->evh = evhttp_new(base)) ||
	    !evhttp_accept_socket_with_handle(http->evh, listen_fd)) {
		snprintf(err, errlen, "cannot set up the HTTP port");
		close(listen_fd); /* evhttp took it only on success */
		smm_http_destroy(http);
		return NULL;
	}
	http->cfg = *cfg;
	http->net = net;
	http->requests = requests;
	evhttp_set_allowed_methods(http->evh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						      EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_timeout(http->evh, cfg->idle_timeout > 0 ? cfg->idle_timeout
							    : SMM_HTTP_DEFAULT_TIMEOUT);
	evhttp_set_max_headers_size(http->evh, SMM_HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http->evh, SMM_HTTP_MAX_HEADERS);
	evhttp_set_gencb(http->evh, request_cb, http);
	return http;
}

void smm_http_destroy(struct smm_http *http)
{
	if (!http)
		return;
	if (http->evh)
		evhttp_free(http->evh);
	free(http);
}
