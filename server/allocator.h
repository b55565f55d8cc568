/* allocator.h — the allocator thread: the seed's server thread. It alone
 * touches the arena. It takes every queued job in one go, answers each,
 * hands each loop its part of the batch and wakes it once per batch. Between
 * batches it frees blocks whose lease ended, waking for the earliest. */
#ifndef SMM_ALLOCATOR_H
#define SMM_ALLOCATOR_H

#include <stddef.h>

#include "aof.h"
#include "arena.h"
#include "cpus.h"
#include "port.h"
#include "queue.h"

struct smm_allocator; /* opaque */

/* smm_allocator_start starts the thread. It pops jobs (struct smm_job)
 * from requests, runs each on arena, and hands each job back to its port
 * (job.h), home when it has none: each port gets its part of a batch in
 * one smm_port_hand_back. A job whose
 * op is SMM_OP_STOP ends the thread after its batch is handed back.
 * With a log (aof, else NULL) every change is recorded and the batch's
 * records committed before its replies are pushed; while the log cannot be
 * written, changes get `unavailable`. The arena's clock is wall-clock
 * milliseconds (as the log's lease ends are).
 * When home->followed is set the thread keeps to the CPU home's loop last
 * ran on (smm_port_note_cpu), moving there before each batch it takes when
 * the loop has moved: for a machine with no CPU to spare for it, where a
 * wake-up elsewhere would preempt another process (bench/README.md). A
 * refused move puts it back on cpus, the server's CPUs (without them, it
 * does not move at all), until the loop is seen on another CPU.
 * Returns the handle, or NULL with a reason in err. arena, requests, home,
 * aof and cpus stay the caller's and must outlive the thread. */
struct smm_allocator *smm_allocator_start(struct smm_arena *arena,
					  struct smm_queue *requests,
					  struct smm_port *home, struct smm_aof *aof,
					  const struct smm_cpus *cpus, char *err, size_t errlen);

/* smm_allocator_join waits for the thread to end (after a stop job was
 * queued) and frees the handle. */
void smm_allocator_join(struct smm_allocator *al);

#endif
