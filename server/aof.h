/* aof.h — the append-only log: every state change as a record (aofrec.h)
 * in a file, replayed at start so a restart loses nothing that was
 * acknowledged.
 *
 * The allocator thread adds the records of a batch and commits them with
 * one write(2); with SMM_AOF_ALWAYS one fdatasync(2) follows before the
 * batch's replies are handed back. With SMM_AOF_EVERYSEC a thread of this
 * module calls fdatasync at most once a second, so the allocator thread
 * never waits for the disk; with SMM_AOF_NO the kernel decides. When a
 * write or sync fails, the unwritten bytes are kept, in order, and retried;
 * until they are written the log is not writable and the server refuses
 * changes with `unavailable`.
 *
 * Once the log has grown past rewrite_min bytes and to twice its size
 * after the last rewrite (or `compact` asks), it is rewritten: one record
 * per live block, written by a thread of this module from a flat copy the
 * allocator thread makes, plus the changes made meanwhile, then renamed
 * over the log (aof.c says how). */
#ifndef SMM_AOF_H
#define SMM_AOF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "aofrec.h"
#include "arena.h"
#include "cpus.h"
#include "log.h"

enum smm_aof_fsync { SMM_AOF_ALWAYS, SMM_AOF_EVERYSEC, SMM_AOF_NO };

struct smm_aof; /* opaque */

/* smm_aof_fsync_parse sets *mode from "always", "everysec" or "no".
 * Returns 0, or -1 for any other name (nothing set). */
int smm_aof_fsync_parse(const char *name, enum smm_aof_fsync *mode);

/* smm_aof_open opens the log at path, creating it mode 0600, removes a
 * PATH.rewrite that a crash left (with a warning), replays the log into a
 * (an empty arena built from *ac), truncates a torn last record with a
 * warning on log, frees the blocks of connections that are gone (logging
 * that) and starts the fsync thread for SMM_AOF_EVERYSEC. The log is
 * rewritten once past rewrite_min bytes and twice its size after the last
 * rewrite (or its size at open).
 * Returns the log, or NULL with a reason naming the file and the offset
 * in err when the file cannot be used: a bad checksum or an impossible
 * record, or a log written for another arena. The log's threads run on
 * cpus, the server's CPUs (when empty: on their starter's), not on the
 * one CPU the allocator thread that starts a rewrite may keep to. a, ac,
 * log and cpus stay the caller's and must outlive the log. Main thread,
 * before the allocator thread starts. */
struct smm_aof *smm_aof_open(const char *path, enum smm_aof_fsync mode, uint64_t rewrite_min,
			     struct smm_arena *a, const struct smm_arena_config *ac,
			     const struct smm_cpus *cpus, const struct smm_log *log, char *err,
			     size_t errlen);

/* smm_aof_close writes what is pending, syncs, stops the fsync thread,
 * abandons a rewrite under way (removing its file) and frees the log (NULL
 * allowed). Main thread, after the allocator thread ended. */
void smm_aof_close(struct smm_aof *aof);

/* smm_aof_add appends r to the batch being built. Returns 0, or -1 when
 * memory ran out: r is then lost, so the log stays not writable (changes
 * are refused) until the server restarts. Allocator thread only. */
int smm_aof_add(struct smm_aof *aof, const struct smm_aofrec *r);

/* smm_aof_commit writes every pending record (one write when it can) and,
 * with SMM_AOF_ALWAYS, syncs. Returns 0, or -1 when something is still
 * unwritten or unsynced (counted in aof_errors; logged at most once a
 * second); it is retried at the next commit. Allocator thread only. */
int smm_aof_commit(struct smm_aof *aof);

/* smm_aof_writable returns 1 when the last commit and the background sync
 * worked; after a failed commit it first retries it. Else it returns 0
 * with the reason in err. Allocator thread only. */
int smm_aof_writable(struct smm_aof *aof, char *err, size_t errlen);

/* smm_aof_healthy returns 1 while the last commit and the background sync
 * worked, else 0 (changes are being refused). It only reads flags, so any
 * thread may call it: the event loop's /healthz does. */
int smm_aof_healthy(struct smm_aof *aof);

/* smm_aof_reason returns why the last commit failed (owned by aof, valid
 * until the next call on it). Allocator thread only. */
const char *smm_aof_reason(const struct smm_aof *aof);

/* smm_aof_compact starts a rewrite of the log from a's blocks now, unless
 * one is under way. Returns 0, or -1 with the reason in err when its file
 * cannot be created or memory ran out (the log stays as it is). Stops the
 * calling thread only to copy the block table. Allocator thread only. */
int smm_aof_compact(struct smm_aof *aof, const struct smm_arena *a, char *err, size_t errlen);

/* smm_aof_tick puts a finished rewrite in the log's place, or starts one
 * when the log has grown enough (a failure is logged and counted in
 * aof_errors). Call it between batches, after the commit. Allocator
 * thread only. */
void smm_aof_tick(struct smm_aof *aof, const struct smm_arena *a);

/* smm_aof_rewriting says whether a rewrite is under way: the allocator
 * thread then wakes often enough to finish it. Allocator thread only. */
int smm_aof_rewriting(const struct smm_aof *aof);

/* smm_aof_stats sets the aof_* fields of *st. Allocator thread only. */
void smm_aof_stats(struct smm_aof *aof, struct smm_stats *st);

/* smm_aof_check reads the log at path and writes to out what it holds and
 * where it is damaged; with fix, it truncates a damaged or torn log to its
 * last good record after saying how much is lost. Returns 0 when the log
 * is whole (or was fixed), 1 when it is damaged, -1 with a reason in err
 * when it cannot be read. Main thread. */
int smm_aof_check(const char *path, int fix, FILE *out, char *err, size_t errlen);

#endif
