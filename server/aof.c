/* aof.c — the append-only log's file: replay and repair at start, group
 * commit on the allocator thread, the everysec fsync thread. */
#include "aof.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"

struct smm_aof {
	int fd;
	enum smm_aof_fsync mode;
	const struct smm_log *log;
	uint64_t size;              /* bytes in the file */
	uint8_t *buf;               /* records not yet written: buf[done..len) */
	size_t len, cap, done;
	int need_sync;              /* always: written but a sync failed */
	int oom;                    /* a record could not be buffered */
	uint64_t errors, last_error_log;
	char reason[128];           /* why the log is not writable */
	/* Shared with the fsync thread: */
	atomic_uint_fast64_t last_sync_ms; /* CLOCK_MONOTONIC */
	atomic_int dirty, sync_failed;
	atomic_int failed;          /* the last commit failed (also read by /healthz) */
	pthread_t syncer;
	int has_syncer;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;               /* under lock */
};

/* What a pass over a log found. */
struct replay {
	struct smm_arena *arena;
	const struct smm_arena_config *want; /* NULL: build arena from the log */
	uint64_t records, end;                /* good records, where they end */
	uint64_t *conns;                      /* owners of connection-scoped blocks */
	size_t nconns, capconns;
	int torn, oom, other_arena;
	long long bad;                        /* offset of a damaged record, or -1 */
	char why[200];
};

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int smm_aof_fsync_parse(const char *name, enum smm_aof_fsync *mode)
{
	static const char *const names[] = { "always", "everysec", "no" };

	for (int i = 0; i < 3; i++)
		if (strcmp(name, names[i]) == 0) {
			*mode = (enum smm_aof_fsync)i;
			return 0;
		}
	return -1;
}

static void config_of(const struct smm_arena_config *ac, struct smm_aofrec *r)
{
	*r = (struct smm_aofrec){ .type = SMM_AOFREC_CONFIG, .size = ac->size,
				  .count = ac->align, .ch = ac->filler };
	snprintf(r->policy, sizeof r->policy, "%s", ac->policy->name);
}

/* take_config checks the log's config record against the arena wanted,
 * or builds the arena it describes. Returns -1 with rp->why set. */
static int take_config(struct replay *rp, const struct smm_aofrec *r)
{
	struct smm_aofrec want;
	struct smm_arena_config ac = { r->size, r->count, r->ch, smm_policy_find(r->policy) };

	if (rp->want) {
		config_of(rp->want, &want);
		if (want.size == r->size && want.count == r->count && want.ch == r->ch &&
		    strcmp(want.policy, r->policy) == 0)
			return 0;
		rp->other_arena = 1;
		snprintf(rp->why, sizeof rp->why,
			 "written for --memory %llu --align %llu --filler %c --policy %s; "
			 "start with those", (unsigned long long)r->size,
			 (unsigned long long)r->count, r->ch, r->policy);
		return -1;
	}
	if (!ac.policy || !(rp->arena = smm_arena_new(&ac, rp->why, sizeof rp->why))) {
		snprintf(rp->why, sizeof rp->why, "config record names an arena this server cannot make");
		return -1;
	}
	return 0;
}

static int remember_conn(struct replay *rp, uint64_t conn)
{
	if (rp->nconns == rp->capconns) {
		size_t cap = rp->capconns ? rp->capconns * 2 : 16;
		uint64_t *c = realloc(rp->conns, cap * sizeof *c);
		if (!c)
			return -1;
		rp->conns = c;
		rp->capconns = cap;
	}
	rp->conns[rp->nconns++] = conn;
	return 0;
}

/* take_record replays one decoded record. Returns -1 with rp->why set. */
static int take_record(struct replay *rp, const struct smm_aofrec *r)
{
	if ((rp->records == 0) != (r->type == SMM_AOFREC_CONFIG)) {
		snprintf(rp->why, sizeof rp->why, "the config record must come first, and only there");
		return -1;
	}
	if (r->type == SMM_AOFREC_CONFIG)
		return take_config(rp, r);
	if (smm_aofrec_apply(rp->arena, r, rp->why, sizeof rp->why) < 0)
		return -1;
	if (r->type == SMM_AOFREC_MALLOC && r->conn && remember_conn(rp, r->conn) < 0) {
		snprintf(rp->why, sizeof rp->why, "out of memory");
		rp->oom = 1;
		return -1;
	}
	return 0;
}

/* scan replays p[0..n) until its end, a torn tail or a damaged record. */
static void scan(const uint8_t *p, size_t n, struct replay *rp)
{
	struct smm_aofrec r;

	rp->bad = -1;
	while (rp->end < n) {
		long k = smm_aofrec_decode(p + rp->end, n - rp->end, &r, rp->why, sizeof rp->why);
		if (k == 0) {
			rp->torn = 1;
			return;
		}
		if (k < 0 || take_record(rp, &r) < 0) {
			rp->bad = (long long)rp->end;
			return;
		}
		rp->records++;
		rp->end += (uint64_t)k;
	}
}

/* scan_file maps fd's n bytes and scans them. Returns -1 on a read error. */
static int scan_file(int fd, size_t n, struct replay *rp)
{
	void *p;

	rp->bad = -1;
	if (n == 0)
		return 0;
	p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	madvise(p, n, MADV_SEQUENTIAL);
	scan(p, n, rp);
	munmap(p, n);
	return 0;
}

static int write_all(struct smm_aof *aof)
{
	while (aof->done < aof->len) {
		ssize_t k = write(aof->fd, aof->buf + aof->done, aof->len - aof->done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(aof->reason, sizeof aof->reason, "cannot write the log: %s",
				 strerror(errno));
			return -1;
		}
		aof->done += (size_t)k;
		aof->size += (uint64_t)k;
	}
	aof->len = aof->done = 0;
	return 0;
}

static int sync_now(struct smm_aof *aof)
{
	if (fdatasync(aof->fd) < 0) {
		snprintf(aof->reason, sizeof aof->reason, "cannot sync the log: %s",
			 strerror(errno));
		return -1;
	}
	atomic_store(&aof->last_sync_ms, mono_ms());
	return 0;
}

static void note_error(struct smm_aof *aof)
{
	uint64_t now = mono_ms();

	aof->errors++;
	if (aof->last_error_log && now - aof->last_error_log < 1000)
		return;
	aof->last_error_log = now;
	smm_log_write(aof->log, SMM_LOG_ERROR, "aof: %s; refusing changes until it works",
		      aof->reason);
}

int smm_aof_add(struct smm_aof *aof, const struct smm_aofrec *r)
{
	if (aof->cap - aof->len < SMM_AOFREC_MAX) {
		size_t cap = aof->cap ? aof->cap * 2 : 65536;
		uint8_t *b = realloc(aof->buf, cap);
		if (!b) {
			aof->oom = 1;
			snprintf(aof->reason, sizeof aof->reason, "out of memory for the log");
			return -1;
		}
		aof->buf = b;
		aof->cap = cap;
	}
	aof->len += smm_aofrec_encode(r, aof->buf + aof->len);
	return 0;
}

int smm_aof_commit(struct smm_aof *aof)
{
	int had = aof->len > aof->done;

	if (aof->oom || write_all(aof) < 0)
		goto fail;
	if (had && aof->mode == SMM_AOF_ALWAYS)
		aof->need_sync = 1;
	if (aof->need_sync && sync_now(aof) < 0)
		goto fail;
	aof->need_sync = 0;
	if (had)
		atomic_store(&aof->dirty, 1);
	aof->failed = 0;
	return 0;
fail:
	aof->failed = 1;
	note_error(aof);
	return -1;
}

int smm_aof_healthy(struct smm_aof *aof)
{
	return !atomic_load(&aof->failed) && !atomic_load(&aof->sync_failed);
}

int smm_aof_writable(struct smm_aof *aof, char *err, size_t errlen)
{
	if (atomic_load(&aof->sync_failed))
		snprintf(aof->reason, sizeof aof->reason, "the log's background sync failed");
	else if (!aof->failed || smm_aof_commit(aof) == 0)
		return 1;
	snprintf(err, errlen, "%s", aof->reason);
	return 0;
}

const char *smm_aof_reason(const struct smm_aof *aof)
{
	return aof->reason;
}

void smm_aof_stats(struct smm_aof *aof, struct smm_stats *st)
{
	st->aof_size = aof->size;
	st->aof_errors = aof->errors;
	st->aof_last_fsync_ms_ago = mono_ms() - atomic_load(&aof->last_sync_ms);
}

/* syncer_main is the everysec thread: it syncs once a second when there
 * were writes. It owns no state the allocator thread waits for: the
 * allocator only stores to dirty and reads sync_failed, so a slow disk
 * makes this thread late, never the allocator. */
static void *syncer_main(void *arg)
{
	struct smm_aof *aof = arg;
	struct timespec until;

	pthread_mutex_lock(&aof->lock);
	while (!aof->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&aof->wake, &aof->lock, &until);
		if (aof->stopping || !atomic_exchange(&aof->dirty, 0))
			continue;
		pthread_mutex_unlock(&aof->lock);
		if (fdatasync(aof->fd) < 0) {
			atomic_store(&aof->dirty, 1);
			atomic_store(&aof->sync_failed, 1);
		} else {
			atomic_store(&aof->last_sync_ms, mono_ms());
			atomic_store(&aof->sync_failed, 0);
		}
		pthread_mutex_lock(&aof->lock);
	}
	pthread_mutex_unlock(&aof->lock);
	return NULL;
}

static int start_syncer(struct smm_aof *aof, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	pthread_mutex_init(&aof->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&aof->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (aof->mode != SMM_AOF_EVERYSEC)
		return 0;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&aof->syncer, NULL, syncer_main, aof);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the log's sync thread: %s", strerror(rc));
		return -1;
	}
	aof->has_syncer = 1;
	return 0;
}

/* sync_dir makes a new log's directory entry durable. */
static void sync_dir(const char *path)
{
	char copy[4096];
	int fd;

	snprintf(copy, sizeof copy, "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* release_gone frees the blocks of connections that died with the last
 * server, and logs that, so the next replay frees them at the same point. */
static int release_gone(struct smm_aof *aof, struct smm_arena *a, const struct replay *rp)
{
	for (size_t i = 0; i < rp->nconns; i++) {
		struct smm_request req = { .op = SMM_OP_RELEASE, .conn = rp->conns[i] };
		struct smm_reply rep;
		struct smm_aofrec r;
		smm_exec_run(a, &req, 0, &rep);
		if (smm_aofrec_of_request(&req, &rep, 0, &r) && smm_aof_add(aof, &r) < 0)
			return -1;
	}
	return 0;
}

/* load replays the file into a; on a torn tail it truncates. */
static int load(struct smm_aof *aof, const char *path, struct replay *rp, char *err,
		size_t errlen)
{
	struct stat st;

	if (fstat(aof->fd, &st) < 0 || scan_file(aof->fd, (size_t)st.st_size, rp) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (rp->other_arena) {
		snprintf(err, errlen, "%s: %s", path, rp->why);
		return -1;
	}
	if (rp->bad >= 0) {
		snprintf(err, errlen, "%s: damaged at offset %lld: %s (see smm-server --check-aof)",
			 path, rp->bad, rp->why);
		return -1;
	}
	if (rp->torn) {
		smm_log_write(aof->log, SMM_LOG_WARN,
			      "aof: %s: torn last record at offset %llu; truncated %llu bytes",
			      path, (unsigned long long)rp->end,
			      (unsigned long long)((uint64_t)st.st_size - rp->end));
		if (ftruncate(aof->fd, (off_t)rp->end) < 0) {
			snprintf(err, errlen, "%s: cannot truncate: %s", path, strerror(errno));
			return -1;
		}
	}
	aof->size = rp->end;
	return 0;
}

static int open_and_load(struct smm_aof *aof, const char *path, struct smm_arena *a,
			 const struct smm_arena_config *ac, char *err, size_t errlen)
{
	struct replay rp = { .arena = a, .want = ac };
	struct smm_aofrec config;
	struct smm_stats st = { 0 };
	uint64_t t0 = mono_ms();
	int rc = -1;

	aof->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (aof->fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (load(aof, path, &rp, err, errlen) < 0)
		goto out;
	config_of(ac, &config);
	if ((rp.records == 0 && smm_aof_add(aof, &config) < 0) || release_gone(aof, a, &rp) < 0 ||
	    smm_aof_commit(aof) < 0 || sync_now(aof) < 0) {
		snprintf(err, errlen, "%s: %s", path, aof->reason);
		goto out;
	}
	if (rp.records == 0)
		sync_dir(path);
	smm_arena_stats(a, &st);
	smm_log_write(aof->log, SMM_LOG_INFO, "aof: loaded %llu records (%llu blocks) in %llu ms",
		      (unsigned long long)rp.records, (unsigned long long)st.blocks,
		      (unsigned long long)(mono_ms() - t0));
	rc = 0;
out:
	free(rp.conns);
	return rc;
}

struct smm_aof *smm_aof_open(const char *path, enum smm_aof_fsync mode,
			     struct smm_arena *a, const struct smm_arena_config *ac,
			     const struct smm_log *log, char *err, size_t errlen)
{
	struct smm_aof *aof = calloc(1, sizeof *aof);

	if (!aof) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	aof->mode = mode;
	aof->log = log;
	if (open_and_load(aof, path, a, ac, err, errlen) < 0 ||
	    start_syncer(aof, err, errlen) < 0) {
		if (aof->fd >= 0)
			close(aof->fd);
		free(aof->buf);
		free(aof);
		return NULL;
	}
	return aof;
}

void smm_aof_close(struct smm_aof *aof)
{
	if (!aof)
		return;
	if (aof->has_syncer) {
		pthread_mutex_lock(&aof->lock);
		aof->stopping = 1;
		pthread_cond_signal(&aof->wake);
		pthread_mutex_unlock(&aof->lock);
		pthread_join(aof->syncer, NULL);
	}
	if (smm_aof_commit(aof) == 0)
		sync_now(aof);
	pthread_cond_destroy(&aof->wake);
	pthread_mutex_destroy(&aof->lock);
	close(aof->fd);
	free(aof->buf);
	free(aof);
}

/* report says what a pass found; returns 1 when the log is damaged. */
static int report(const char *path, uint64_t size, const struct replay *rp, FILE *out)
{
	struct smm_stats st = { 0 };

	if (rp->arena)
		smm_arena_stats(rp->arena, &st);
	fprintf(out, "%s: %llu good records, %llu bytes, %llu live blocks\n", path,
		(unsigned long long)rp->records, (unsigned long long)rp->end,
		(unsigned long long)st.blocks);
	if (rp->bad >= 0)
		fprintf(out, "%s: damaged at offset %lld: %s; %llu bytes from there on\n", path,
			rp->bad, rp->why, (unsigned long long)(size - rp->end));
	else if (rp->torn)
		fprintf(out, "%s: torn last record at offset %llu: %llu bytes\n", path,
			(unsigned long long)rp->end, (unsigned long long)(size - rp->end));
	else
		fprintf(out, "%s: whole\n", path);
	return rp->bad >= 0 || rp->torn;
}

int smm_aof_check(const char *path, int fix, FILE *out, char *err, size_t errlen)
{
	struct replay rp = { 0 };
	struct stat st;
	int fd = open(path, (fix ? O_RDWR : O_RDONLY) | O_CLOEXEC), rc = -1;

	if (fd < 0 || fstat(fd, &st) < 0 || scan_file(fd, (size_t)st.st_size, &rp) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (rp.oom) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	rc = report(path, (uint64_t)st.st_size, &rp, out);
	if (rc == 1 && fix) {
		fprintf(out, "%s: truncating to %llu bytes: %llu bytes lost\n", path,
			(unsigned long long)rp.end, (unsigned long long)((uint64_t)st.st_size - rp.end));
		if (ftruncate(fd, (off_t)rp.end) < 0 || fsync(fd) < 0) {
			snprintf(err, errlen, "%s: cannot truncate: %s", path, strerror(errno));
			rc = -1;
		} else {
			rc = 0;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	smm_arena_destroy(rp.arena);
	free(rp.conns);
	return rc;
}
