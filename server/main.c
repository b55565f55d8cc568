/* main.c — smm-server: read the configuration, build the arena, the queues,
 * the allocator thread and the event loop, run until SIGINT/SIGTERM. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocator.h"
#include "aof.h"
#include "arena.h"
#include "config.h"
#include "cpus.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "net.h"
#include "pool.h"
#include "queue.h"
#include "sock.h"
#include "token.h"

#ifndef SMM_VERSION
#define SMM_VERSION "0.0.0"
#endif

struct server {
	struct smm_config cfg;
	struct smm_log log;
	char token[SMM_PROTO_MAX_TOKEN + 1];
	size_t token_len;
	int has_token;
	struct smm_arena *arena;
	struct smm_aof *aof;
	struct smm_queue *requests;
	struct smm_port home;      /* the main loop's: its replies and eventfd */
	struct smm_cpus cpus;      /* the CPUs the server may use, read at start */
	struct event_base *base;
	struct smm_net *net;
	struct smm_http *http;
	struct event *sigterm, *sigint;
	struct smm_allocator *allocator;
};

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	(void)what;
	smm_log_write(&s->log, SMM_LOG_INFO, "%s: stopping after owed replies",
		      strsignal((int)sig));
	smm_net_shutdown(s->net);
}

static int open_listener(struct server *s, char *err, size_t errlen)
{
	char name[300];
	int fd = smm_sock_listen(s->cfg.host, s->cfg.port, err, errlen);

	if (fd < 0)
		return -1;
	smm_sock_name(fd, name, sizeof name);
	s->net = smm_net_new(s->base, fd,
			     &(struct smm_net_config){
				     .max_line = s->cfg.max_line,
				     .max_conns = s->cfg.max_conns,
				     .queue_depth = s->cfg.queue_depth,
				     .max_output = s->cfg.max_output,
				     .memory_size = s->cfg.memory,
				     .idle_timeout = s->cfg.idle_timeout,
				     .drain_timeout = s->cfg.drain_timeout,
				     .default_ttl = s->cfg.default_ttl,
				     .max_ttl = s->cfg.max_ttl,
				     .admin_token = s->has_token ? s->token : NULL,
				     .admin_token_len = s->token_len,
				     .log = &s->log,
			     },
			     s->cfg.io_threads, s->requests, &s->home, err, errlen);
	if (!s->net)
		return -1;
	smm_log_write(&s->log, SMM_LOG_INFO,
		      "smm-server %s listening on %s (memory %llu bytes, policy %s)", SMM_VERSION,
		      name, (unsigned long long)s->cfg.memory, s->cfg.policy->name);
	return 0;
}

/* log_unhealthy is /healthz's question to the log: while it cannot be
 * written the server refuses changes, so a load balancer should look
 * elsewhere. */
static int log_unhealthy(void *arg, char *why, size_t whylen)
{
	if (smm_aof_healthy(arg))
		return 0;
	snprintf(why, whylen, "the append-only log cannot be written");
	return -1;
}

/* Where the allocator thread runs. It has a CPU to itself when the
 * server may use more CPUs than its event loops plus one; then it watches
 * an empty request queue ALLOCATOR_SPIN_NS before it sleeps, as the next
 * batch often comes sooner than a futex sleep and wake-up take. With no
 * CPU to spare (two CPUs and one loop: this project's test machines) the
 * watching only takes time from a loop or a client, and a wake-up on the
 * other CPU preempts whatever runs there, often another process, which
 * costs an address-space switch; so by default (--allocator-cpu auto) the
 * thread then keeps to the loop's CPU, where it runs while the loop waits
 * for its answers anyway. vs-redis's pair P=1 cell, bench/README.md:
 * 0.83 of Redis with the watching, 1.07 without, 1.10 (and the batch p99
 * from 1.07 to 0.91 of Redis's) keeping to the loop's CPU. */
#define ALLOCATOR_SPIN_NS 20000

/* usable_cpus counts the CPUs this process may use: its affinity mask
 * (taskset, a container's cpuset, read into s->cpus at start), not every
 * CPU online. */
static size_t usable_cpus(const struct server *s)
{
	size_t n = smm_cpus_count(&s->cpus);
	long online;

	if (n > 0)
		return n;
	online = sysconf(_SC_NPROCESSORS_ONLN);
	return online > 0 ? (size_t)online : 1;
}

/* place_allocator settles --allocator-cpu auto and whether the allocator
 * thread watches the queue, before any loop shares the queue or the port;
 * returns how to say so in the log. */
static const char *place_allocator(struct server *s, size_t cpus)
{
	int spare = cpus > s->cfg.io_threads + 1;

	s->home.followed = s->cfg.allocator_cpu == SMM_CPU_LOOP ||
			   (s->cfg.allocator_cpu == SMM_CPU_AUTO && !spare &&
			    s->cfg.io_threads == 1);
	if (s->home.followed)
		return "on the event loop's CPU";
	if (!spare)
		return "any CPU";
	smm_queue_set_spin(s->requests, ALLOCATOR_SPIN_NS);
	return "any CPU, watching the queue";
}

/* open_http starts the HTTP side port, when --http-port asks for one, on
 * the main port's host; its line comes after the main port's, which is
 * the one scripts wait for. */
static int open_http(struct server *s, char *err, size_t errlen)
{
	char name[300];
	int fd;

	if (s->cfg.http_port < 0)
		return 0;
	fd = smm_sock_listen(s->cfg.host, s->cfg.http_port, err, errlen);
	if (fd < 0)
		return -1;
	smm_sock_name(fd, name, sizeof name);
	s->http = smm_http_new(s->base, fd, s->net, s->requests,
			       &(struct smm_http_config){ .version = SMM_VERSION,
							  .idle_timeout = s->cfg.idle_timeout,
							  .log = &s->log,
							  .unhealthy = s->aof ? log_unhealthy : NULL,
							  .health_arg = s->aof },
			       err, errlen);
	if (!s->http)
		return -1;
	smm_log_write(&s->log, SMM_LOG_INFO, "http listening on %s", name);
	return 0;
}

static int start(struct server *s, char *err, size_t errlen)
{
	struct smm_arena_config ac = { s->cfg.memory, s->cfg.align, s->cfg.filler, s->cfg.policy };
	const char *placement;
	size_t cpus;

	/* Before any thread starts or pins itself: where the threads the
	 * server starts later may run. Unread, they run where their starter may. */
	smm_cpus_save(&s->cpus);
	s->has_token = smm_token_load(s->cfg.admin_token_file, s->token, &s->token_len, err,
				      errlen);
	if (s->has_token < 0)
		return -1;
	s->arena = smm_arena_new(&ac, err, errlen);
	if (!s->arena)
		return -1;
	/* The log is replayed before the listener opens: no client sees a
	 * state that is still being rebuilt. */
	if (s->cfg.aof[0] && !(s->aof = smm_aof_open(s->cfg.aof, s->cfg.fsync,
						      s->cfg.aof_rewrite_min, s->arena, &ac,
						      &s->cpus, &s->log, err, errlen)))
		return -1;
	/* No capacity: the event loop bounds the jobs in flight by
	 * --queue-depth, so a push never fails and nothing needs retrying. */
	s->requests = smm_queue_new(0);
	if (!s->requests || smm_port_open(&s->home) < 0 || !(s->base = event_base_new())) {
		snprintf(err, errlen, "cannot set up: %s", strerror(errno));
		return -1;
	}
	cpus = usable_cpus(s);
	placement = place_allocator(s, cpus);
	s->sigterm = evsignal_new(s->base, SIGTERM, signal_cb, s);
	s->sigint = evsignal_new(s->base, SIGINT, signal_cb, s);
	if (!s->sigterm || !s->sigint || evsignal_add(s->sigterm, NULL) < 0 ||
	    evsignal_add(s->sigint, NULL) < 0) {
		snprintf(err, errlen, "cannot install signal handlers");
		return -1;
	}
	if (open_listener(s, err, errlen) < 0 || open_http(s, err, errlen) < 0)
		return -1;
	/* After the listening line, which scripts wait for first. */
	smm_log_write(&s->log, SMM_LOG_DEBUG,
		      "allocator thread: %s (%zu usable CPUs, %zu event loops)", placement, cpus,
		      s->cfg.io_threads);
	s->allocator = smm_allocator_start(s->arena, s->requests, &s->home, s->aof, &s->cpus,
					   err, errlen);
	return s->allocator ? 0 : -1;
}

/* stop_allocator sends the stop message down the same queue as the work,
 * so everything queued before it is answered first. */
static void stop_allocator(struct server *s)
{
	struct smm_job *stop = calloc(1, sizeof *stop);
	struct smm_qlist batch = { 0 };

	if (!stop) {
		/* Without a stop job the thread cannot be joined; the process is
		 * exiting anyway, so leave it to the kernel. */
		smm_log_write(&s->log, SMM_LOG_ERROR, "out of memory at shutdown");
		exit(1);
	}
	stop->req.op = SMM_OP_STOP;
	smm_qlist_append(&batch, &stop->node);
	smm_queue_push(s->requests, &batch); /* unbounded (see start): cannot fail */
	smm_allocator_join(s->allocator);
	s->allocator = NULL;
}

static void cleanup(struct server *s)
{
	/* The other loops' owed replies come from the allocator: they end first. */
	if (s->net)
		smm_net_join(s->net);
	if (s->allocator)
		stop_allocator(s);
	smm_net_destroy(s->net);
	smm_http_destroy(s->http); /* after net: net hands back its jobs */
	if (s->sigterm)
		event_free(s->sigterm);
	if (s->sigint)
		event_free(s->sigint);
	if (s->base)
		event_base_free(s->base);
	smm_queue_destroy(s->requests);
	smm_port_close(&s->home);
	smm_aof_close(s->aof);
	smm_arena_destroy(s->arena);
	smm_cpus_free(&s->cpus);
}

int main(int argc, char **argv)
{
	struct server s = { .home.notify_fd = -1 };
	char err[512];
	int status = 0;

	s.log = (struct smm_log){ SMM_LOG_INFO, 0, stderr };
	if (smm_config_parse(&s.cfg, argc, argv, err, sizeof err) < 0) {
		fprintf(stderr, "smm-server: %s\nTry 'smm-server --help'.\n", err);
		return 2;
	}
	if (s.cfg.check_aof[0]) {
		int rc = smm_aof_check(s.cfg.check_aof, s.cfg.fix, stdout, err, sizeof err);
		if (rc < 0)
			fprintf(stderr, "smm-server: %s\n", err);
		return rc == 0 ? 0 : 1;
	}
	if (s.cfg.help || s.cfg.version) {
		if (s.cfg.help)
			smm_config_usage(stdout);
		else
			printf("smm-server %s (protocol %d)\n", SMM_VERSION, SMM_PROTO_VERSION);
		return 0;
	}
	/* Before libevent allocates anything: see pool.h. */
	event_set_mem_functions(smm_pool_malloc, smm_pool_realloc, smm_pool_free);
	s.log.level = s.cfg.log_level;
	s.log.json = s.cfg.log_json;
	signal(SIGPIPE, SIG_IGN);
	if (start(&s, err, sizeof err) < 0) {
		smm_log_write(&s.log, SMM_LOG_ERROR, "%s", err);
		status = 1;
	} else if (smm_net_run(s.net) < 0) {
		smm_log_write(&s.log, SMM_LOG_ERROR, "event loop failed");
		status = 1;
	}
	cleanup(&s);
	smm_pool_drain();
	if (status == 0)
		smm_log_write(&s.log, SMM_LOG_INFO, "stopped");
	return status;
}
