/* leases.h — the terms a block may carry besides its key: a lease (a
 * deadline after which it is freed) and a connection scope (it is freed
 * when that connection closes). A side table keyed by block address, so a
 * block without terms costs nothing and the packed block records stay as
 * they are; a block with terms costs one 48-byte record, an index slot and
 * a heap entry. Deadlines sit in a binary min-heap whose positions are kept
 * in the records, so adding, renewing, dropping and taking the earliest
 * lease each cost O(log n); a connection's blocks sit on a ring of their
 * own, so releasing them costs what it frees. Pure: no clock of its own
 * (deadlines are the caller's milliseconds), no threads, no I/O; one owner
 * thread, the arena's. */
#ifndef SMM_LEASES_H
#define SMM_LEASES_H

#include <stddef.h>
#include <stdint.h>

/* A deadline that never comes: the block has no lease. */
#define SMM_LEASES_NEVER UINT64_MAX

struct smm_leases; /* opaque */

/* smm_leases_new returns an empty table, or NULL when memory ran out. The
 * caller owns it and releases it with smm_leases_destroy (NULL allowed). */
struct smm_leases *smm_leases_new(void);
void smm_leases_destroy(struct smm_leases *l);

/* smm_leases_add gives the new block at addr (which has no terms yet) a
 * lease ending at deadline (SMM_LEASES_NEVER: none) and the owner
 * connection conn (0: none, the block is server-scoped). Both absent adds
 * nothing. Returns 0, or -1 when memory ran out (table unchanged). */
int smm_leases_add(struct smm_leases *l, uint64_t addr, uint64_t deadline, uint64_t conn);

/* smm_leases_renew moves the lease of the block at addr to deadline
 * (SMM_LEASES_NEVER: the block keeps no lease), keeping its connection.
 * Returns 0, or -1 when memory ran out (table unchanged). */
int smm_leases_renew(struct smm_leases *l, uint64_t addr, uint64_t deadline);

/* smm_leases_get sets *deadline and *conn to the terms of the block at
 * addr and returns 0, or returns -1 when it has none (nothing set). */
int smm_leases_get(const struct smm_leases *l, uint64_t addr, uint64_t *deadline,
		   uint64_t *conn);

/* smm_leases_drop forgets the terms of the block at addr, if any: call it
 * whenever a block is freed. */
void smm_leases_drop(struct smm_leases *l, uint64_t addr);

/* smm_leases_next returns the earliest deadline, or SMM_LEASES_NEVER. */
uint64_t smm_leases_next(const struct smm_leases *l);

/* smm_leases_pop_due takes the block whose lease ended earliest, when that
 * is at or before now: sets *addr, forgets its terms and returns 1.
 * Returns 0 when no lease has ended (nothing changed). */
int smm_leases_pop_due(struct smm_leases *l, uint64_t now, uint64_t *addr);

/* smm_leases_pop_conn takes one block owned by connection conn: sets
 * *addr, forgets its terms and returns 1. Returns 0 when conn owns none. */
int smm_leases_pop_conn(struct smm_leases *l, uint64_t conn, uint64_t *addr);

/* smm_leases_count returns the number of blocks with a lease. */
size_t smm_leases_count(const struct smm_leases *l);

/* smm_leases_clear forgets every term, keeping the storage. */
void smm_leases_clear(struct smm_leases *l);

/* smm_leases_bytes returns the heap the table uses. */
size_t smm_leases_bytes(const struct smm_leases *l);

#endif
