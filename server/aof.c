/* aof.c — the append-only log's file: replay and repair at start, group
 * commit on the allocator thread, the everysec fsync thread, and the
 * rewrite that replaces a long log with one record per live block.
 *
 * A rewrite, as Redis's: the allocator thread copies the block table into
 * a flat array (smm_arena_snapshot) and hands it to a thread of its own,
 * which writes it to PATH.rewrite and syncs it. Meanwhile every record
 * still goes to the old log and is also kept in a tail buffer. When the
 * thread is done, the allocator thread appends the tail (the changes made
 * since the copy), syncs it under --fsync always, renames the file over
 * the log, then makes the log's descriptor the new file's with dup2, so
 * the everysec thread, which only ever names that descriptor, syncs the
 * new file from then on (and the directory, once, for the rename). A crash
 * before the rename leaves the old log whole; after it, the new one. */
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

#include "buf.h"
#include "cpus.h"
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
	atomic_int dir_dirty;       /* a rename the directory has not synced */
	atomic_int failed;          /* the last commit failed (also read by /healthz) */
	pthread_t syncer;
	int has_syncer;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;               /* under lock */
	/* Rewrite (allocator thread, but for struct rewrite's marked fields): */
	char *path;
	struct smm_aofrec config;   /* the log's first record */
	uint64_t rewrite_min, base; /* base: the size after the last rewrite */
	uint64_t rewrites;
	struct rewrite *rw;         /* NULL: none under way */
	struct rewrite *retired;    /* a finished one whose thread is still to join */
	const struct smm_cpus *cpus; /* where the threads run (smm_aof_open) */
};

/* A rewrite under way. */
struct rewrite {
	pthread_t thread;
	int fd;                     /* PATH.rewrite, O_APPEND */
	char *tmp;
	struct smm_aofrec config;
	struct smm_arena_entry *blocks; /* the copy: cap entries, n used */
	size_t n, cap;
	atomic_int ready;           /* set by the thread: blocks allocated, touched */
	atomic_int done;            /* set by the thread: 1 written, -1 failed */
	char why[128];              /* the thread's reason, read after done */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int go;                     /* under lock: 1 the copy is made, -1 give up */
	int old_fd;                 /* under lock: the replaced log for the thread
				       to close, -1 none, -2 not decided yet */
	int copied;                 /* allocator thread: the copy is made */
	struct smm_buf tail;        /* records since the copy: allocator thread;
				       oom abandons the rewrite at its end */
	uint64_t copy_us;           /* how long the copy stopped the allocator */
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

static uint64_t mono_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

static uint64_t mono_ms(void)
{
	return mono_us() / 1000;
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

/* grow makes room for n more bytes at *buf. Returns -1 when memory ran out. */
static int grow(uint8_t **buf, size_t len, size_t *cap, size_t n)
{
	size_t c = *cap ? *cap : 65536;
	uint8_t *b;

	while (c - len < n)
		c *= 2;
	if (c == *cap)
		return 0;
	if (!(b = realloc(*buf, c)))
		return -1;
	*buf = b;
	*cap = c;
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
	if ((r->type == SMM_AOFREC_MALLOC || r->type == SMM_AOFREC_BLOCK) && r->conn &&
	    remember_conn(rp, r->conn) < 0) {
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
	struct rewrite *rw = aof->rw;
	size_t n;

	if (grow(&aof->buf, aof->len, &aof->cap, SMM_AOFREC_MAX) < 0) {
		aof->oom = 1;
		snprintf(aof->reason, sizeof aof->reason, "out of memory for the log");
		return -1;
	}
	n = smm_aofrec_encode(r, aof->buf + aof->len);
	if (rw && rw->copied)
		smm_buf_add(&rw->tail, aof->buf + aof->len, n);
	aof->len += n;
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
	st->aof_rewrites = aof->rewrites;
	st->aof_last_fsync_ms_ago = mono_ms() - atomic_load(&aof->last_sync_ms);
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

/* syncer_main is the everysec thread: it syncs once a second when there
 * were writes. It owns no state the allocator thread waits for: the
 * allocator only stores to dirty and dir_dirty and reads sync_failed, so a
 * slow disk makes this thread late, never the allocator. After a rewrite
 * it also syncs the log's directory, so the rename is durable within the
 * second as the records are. */
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
			if (atomic_exchange(&aof->dir_dirty, 0))
				sync_dir(aof->path);
		}
		pthread_mutex_lock(&aof->lock);
	}
	pthread_mutex_unlock(&aof->lock);
	return NULL;
}

/* start_thread starts fn with every signal blocked: signals belong to
 * the event loop. It runs on the CPUs the server had when the log was
 * opened, not on the one its starter may be pinned to (the allocator
 * thread, --allocator-cpu). Returns pthread_create's status. */
static int start_thread(struct smm_aof *aof, pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int rc = pthread_attr_init(&attr);

	if (rc != 0)
		return rc;
	rc = smm_cpus_attr(&attr, aof->cpus);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (rc == 0)
		rc = pthread_create(t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}

static int start_syncer(struct smm_aof *aof, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	int rc;

	pthread_mutex_init(&aof->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&aof->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (aof->mode != SMM_AOF_EVERYSEC)
		return 0;
	rc = start_thread(aof, &aof->syncer, syncer_main, aof);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the log's sync thread: %s", strerror(rc));
		return -1;
	}
	aof->has_syncer = 1;
	return 0;
}

/* write_fully writes the n bytes at buf to fd. Returns -1 with errno set. */
static int write_fully(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

#define REWRITE_CHUNK (1u << 20) /* bytes the rewrite thread writes at once */

/* write_copy writes the config record and one BLOCK record per copied
 * block to the temporary file, then syncs it. Returns -1 with errno set. */
static int write_copy(struct rewrite *rw)
{
	uint8_t *buf = malloc(REWRITE_CHUNK);
	size_t len;
	int rc = -1;

	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	len = smm_aofrec_encode(&rw->config, buf);
	for (size_t i = 0; i < rw->n; i++) {
		struct smm_aofrec r;
		if (REWRITE_CHUNK - len < SMM_AOFREC_MAX) {
			if (write_fully(rw->fd, buf, len) < 0)
				goto out;
			len = 0;
		}
		smm_aofrec_of_entry(&rw->blocks[i], &r);
		len += smm_aofrec_encode(&r, buf + len);
	}
	rc = write_fully(rw->fd, buf, len) < 0 || fdatasync(rw->fd) < 0 ? -1 : 0;
out:
	free(buf);
	return rc;
}

/* prepare allocates the array for the copy and touches every page of it,
 * so the allocator thread's copy takes no page fault (they were two
 * thirds of the copy's time). Returns -1 when memory ran out. */
static int prepare(struct rewrite *rw)
{
	rw->blocks = malloc(rw->cap * sizeof *rw->blocks);
	if (!rw->blocks)
		return -1;
	/* Not 0: a compiler may turn malloc and a zeroing memset into calloc,
	 * which leaves fresh pages untouched. */
	memset(rw->blocks, 0xff, rw->cap * sizeof *rw->blocks);
	return 0;
}

/* wait_for waits until *field (under rw->lock) is no longer -2 or 0, as
 * given, and returns it. */
static int wait_for(struct rewrite *rw, int *field, int unset)
{
	int v;

	pthread_mutex_lock(&rw->lock);
	while (*field == unset)
		pthread_cond_wait(&rw->wake, &rw->lock);
	v = *field;
	pthread_mutex_unlock(&rw->lock);
	return v;
}

/* rewrite_main is the rewrite's thread: it prepares the array, waits for
 * the allocator thread's copy, writes it and says when it is done; then
 * it waits for the switch and closes the replaced log, whose last close
 * frees the old file's blocks (milliseconds for a large log, which the
 * allocator thread must not wait for). It shares ready, done and why,
 * and go and old_fd under the lock. */
static void *rewrite_main(void *arg)
{
	struct rewrite *rw = arg;
	int rc = prepare(rw), old;

	if (rc == 0) {
		atomic_store(&rw->ready, 1);
		rc = wait_for(rw, &rw->go, 0) > 0 ? write_copy(rw) : (errno = ECANCELED, -1);
	}
	if (rc < 0 && !rw->why[0]) /* else the allocator thread said why it gave up */
		snprintf(rw->why, sizeof rw->why, "cannot write %s: %s", rw->tmp, strerror(errno));
	free(rw->blocks);
	rw->blocks = NULL;
	atomic_store(&rw->done, rc < 0 ? -1 : 1);
	if ((old = wait_for(rw, &rw->old_fd, -2)) >= 0)
		close(old);
	return NULL;
}

/* tell sets what the thread waits for: go (0 leaves it) and old_fd. */
static void tell(struct rewrite *rw, int go, int old_fd)
{
	pthread_mutex_lock(&rw->lock);
	rw->go = go ? go : rw->go;
	rw->old_fd = old_fd;
	pthread_cond_signal(&rw->wake);
	pthread_mutex_unlock(&rw->lock);
}

/* free_rewrite frees rw (NULL allowed), whose thread has ended or was
 * never started. */
static void free_rewrite(struct rewrite *rw)
{
	if (!rw)
		return;
	pthread_cond_destroy(&rw->wake);
	pthread_mutex_destroy(&rw->lock);
	if (rw->fd >= 0)
		close(rw->fd);
	free(rw->blocks);
	smm_buf_free(&rw->tail);
	free(rw->tmp);
	free(rw);
}

static size_t live_blocks(const struct smm_arena *a)
{
	struct smm_stats st = { 0 };

	smm_arena_stats(a, &st);
	return st.blocks;
}

/* copy_blocks makes the rewrite's flat copy of a's blocks into the array
 * its thread prepared (grown here, page faults and all, if blocks came
 * meanwhile beyond its room): the only part of a rewrite that stops the
 * allocator thread, besides the switch. From now on records also go to
 * the tail. Returns -1 when memory ran out. */
static int copy_blocks(struct rewrite *rw, const struct smm_arena *a)
{
	size_t n = live_blocks(a);
	uint64_t t0 = mono_us();
	struct smm_arena_entry *b;

	if (n > rw->cap) {
		if (!(b = realloc(rw->blocks, n * sizeof *b)))
			return -1;
		rw->blocks = b;
		rw->cap = n;
	}
	rw->n = smm_arena_snapshot(a, n, rw->blocks);
	rw->copied = 1;
	rw->copy_us = mono_us() - t0;
	tell(rw, 1, -2);
	return 0;
}

int smm_aof_compact(struct smm_aof *aof, const struct smm_arena *a, char *err, size_t errlen)
{
	struct rewrite *rw;

	if (aof->rw)
		return 0;
	if (aof->retired) { /* its thread ended long ago: it only closed a file */
		pthread_join(aof->retired->thread, NULL);
		free_rewrite(aof->retired);
		aof->retired = NULL;
	}
	rw = calloc(1, sizeof *rw);
	if (!rw || !(rw->tmp = malloc(strlen(aof->path) + sizeof ".rewrite"))) {
		free(rw);
		snprintf(err, errlen, "out of memory for the rewrite");
		return -1;
	}
	pthread_mutex_init(&rw->lock, NULL);
	pthread_cond_init(&rw->wake, NULL);
	rw->old_fd = -2;
	/* Room for the blocks that may come before the copy is made. */
	rw->cap = live_blocks(a);
	rw->cap += rw->cap / 8 + 1024;
	sprintf(rw->tmp, "%s.rewrite", aof->path);
	rw->config = aof->config;
	rw->fd = open(rw->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (rw->fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", rw->tmp, strerror(errno));
		free_rewrite(rw);
		return -1;
	}
	if (start_thread(aof, &rw->thread, rewrite_main, rw) != 0) {
		snprintf(err, errlen, "cannot start the rewrite's thread");
		unlink(rw->tmp);
		free_rewrite(rw);
		return -1;
	}
	aof->rw = rw;
	return 0;
}

/* switch_to puts the finished rewrite in the log's place and sets *old
 * to a descriptor of the replaced log, for the rewrite's thread to close.
 * Returns -1 with rw->why set, the old log still in use. */
static int switch_to(struct smm_aof *aof, struct rewrite *rw, int *old)
{
	struct stat st;

	if (rw->tail.oom) {
		snprintf(rw->why, sizeof rw->why, "out of memory for the changes made meanwhile");
		return -1;
	}
	if (write_fully(rw->fd, rw->tail.data, rw->tail.len) < 0 ||
	    (aof->mode == SMM_AOF_ALWAYS && fdatasync(rw->fd) < 0) || fstat(rw->fd, &st) < 0 ||
	    (*old = dup(aof->fd)) < 0 || rename(rw->tmp, aof->path) < 0) {
		snprintf(rw->why, sizeof rw->why, "cannot finish %s: %s", rw->tmp, strerror(errno));
		return -1;
	}
	/* Under always the rename is durable before the next reply, as every
	 * record is; under everysec the fsync thread makes it so within the
	 * second; under no the kernel decides, as for the records. */
	if (aof->mode == SMM_AOF_ALWAYS)
		sync_dir(aof->path);
	else if (aof->mode == SMM_AOF_EVERYSEC)
		atomic_store(&aof->dir_dirty, 1);
	/* The descriptor's number stays: the everysec thread may be syncing
	 * it right now, and names nothing else. */
	dup2(rw->fd, aof->fd);
	atomic_store(&aof->dirty, 1);
	aof->size = aof->base = (uint64_t)st.st_size;
	aof->rewrites++;
	return 0;
}

/* finish ends the rewrite whose thread is done: switches or gives up. */
static void finish(struct smm_aof *aof)
{
	struct rewrite *rw = aof->rw;
	uint64_t before = aof->size, t0 = mono_us(), took;
	int old = -1, ok;

	ok = atomic_load(&rw->done) > 0 && switch_to(aof, rw, &old) == 0;
	tell(rw, 0, old);
	took = mono_us() - t0;
	if (ok) {
		smm_log_write(aof->log, SMM_LOG_INFO,
			      "aof: rewrote the log: %zu blocks, %llu -> %llu bytes; the allocator "
			      "thread stopped %llu us to copy them, %llu us to switch",
			      rw->n, (unsigned long long)before, (unsigned long long)aof->size,
			      (unsigned long long)rw->copy_us, (unsigned long long)took);
	} else {
		unlink(rw->tmp);
		aof->errors++;
		aof->base = aof->size; /* not again before the log doubles */
		smm_log_write(aof->log, SMM_LOG_ERROR,
			      "aof: rewrite failed: %s; the log stays as it was", rw->why);
	}
	aof->retired = rw;
	aof->rw = NULL;
}

void smm_aof_tick(struct smm_aof *aof, const struct smm_arena *a)
{
	struct rewrite *rw = aof->rw;
	char err[200];

	if (rw && !rw->copied && atomic_load(&rw->ready)) {
		if (copy_blocks(rw, a) < 0) {
			snprintf(rw->why, sizeof rw->why, "out of memory for the copy");
			tell(rw, -1, -2); /* finished, as failed, once its thread says so */
		}
		return;
	}
	if (rw) {
		/* Switch only with nothing pending, so no record reaches the
		 * new file twice (from the tail and again from the buffer). */
		if (atomic_load(&rw->done) && aof->len == aof->done && !aof->failed)
			finish(aof);
		return;
	}
	if (aof->size < aof->rewrite_min || aof->size < 2 * aof->base)
		return;
	if (smm_aof_compact(aof, a, err, sizeof err) < 0) {
		aof->errors++;
		aof->base = aof->size;
		smm_log_write(aof->log, SMM_LOG_ERROR, "aof: cannot rewrite the log: %s", err);
	}
}

int smm_aof_rewriting(const struct smm_aof *aof)
{
	return aof->rw != NULL;
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

/* drop_stale removes what a rewrite cut short by a crash left: the log
 * itself is whole, as the rename never happened. */
static void drop_stale(struct smm_aof *aof, const char *path)
{
	char tmp[4096 + sizeof ".rewrite"];

	snprintf(tmp, sizeof tmp, "%s.rewrite", path);
	if (unlink(tmp) == 0)
		smm_log_write(aof->log, SMM_LOG_WARN,
			      "aof: removed %s, left by a rewrite that did not finish", tmp);
}

static int open_and_load(struct smm_aof *aof, const char *path, struct smm_arena *a,
			 const struct smm_arena_config *ac, char *err, size_t errlen)
{
	struct replay rp = { .arena = a, .want = ac };
	struct smm_aofrec *config = &aof->config;
	struct smm_stats st = { 0 };
	uint64_t t0 = mono_ms();
	int rc = -1;

	drop_stale(aof, path);
	aof->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (aof->fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (load(aof, path, &rp, err, errlen) < 0)
		goto out;
	config_of(ac, config);
	if ((rp.records == 0 && smm_aof_add(aof, config) < 0) || release_gone(aof, a, &rp) < 0 ||
	    smm_aof_commit(aof) < 0 || sync_now(aof) < 0) {
		snprintf(err, errlen, "%s: %s", path, aof->reason);
		goto out;
	}
	if (rp.records == 0)
		sync_dir(path);
	aof->base = aof->size;
	smm_arena_stats(a, &st);
	smm_log_write(aof->log, SMM_LOG_INFO, "aof: loaded %llu records (%llu blocks) in %llu ms",
		      (unsigned long long)rp.records, (unsigned long long)st.blocks,
		      (unsigned long long)(mono_ms() - t0));
	rc = 0;
out:
	free(rp.conns);
	return rc;
}

struct smm_aof *smm_aof_open(const char *path, enum smm_aof_fsync mode, uint64_t rewrite_min,
			     struct smm_arena *a, const struct smm_arena_config *ac,
			     const struct smm_cpus *cpus, const struct smm_log *log, char *err,
			     size_t errlen)
{
	struct smm_aof *aof = calloc(1, sizeof *aof);

	if (!aof || !(aof->path = strdup(path))) {
		free(aof);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	aof->mode = mode;
	aof->log = log;
	aof->rewrite_min = rewrite_min;
	aof->cpus = cpus;
	if (open_and_load(aof, path, a, ac, err, errlen) < 0 ||
	    start_syncer(aof, err, errlen) < 0) {
		if (aof->fd >= 0)
			close(aof->fd);
		free(aof->buf);
		free(aof->path);
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
	if (aof->rw) { /* cut short: the log it would replace is whole */
		tell(aof->rw, -1, -1);
		pthread_join(aof->rw->thread, NULL);
		unlink(aof->rw->tmp);
		free_rewrite(aof->rw);
	}
	if (aof->retired)
		pthread_join(aof->retired->thread, NULL);
	free_rewrite(aof->retired);
	if (smm_aof_commit(aof) == 0)
		sync_now(aof);
	if (atomic_load(&aof->dir_dirty))
		sync_dir(aof->path);
	pthread_cond_destroy(&aof->wake);
	pthread_mutex_destroy(&aof->lock);
	close(aof->fd);
	free(aof->buf);
	free(aof->path);
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
