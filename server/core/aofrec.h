/* aofrec.h — the records of the append-only log (aof.h): encoding a state
 * change, decoding and checking one record, and replaying it on an arena.
 * Pure: no threads, no I/O, no clock (the time is in the record), so the
 * unit tests and the fuzzer drive it alone.
 *
 * A record is an 8-byte header — payload length and the payload's CRC32C,
 * both little-endian u32 — then the payload: a type byte and fixed
 * little-endian fields. A block's bytes are always the filler or its one
 * fill character, so no record ever holds arena bytes.
 *
 * Replay puts a malloc's block back at its logged address with the key its
 * client was told (smm_arena_claim), rather than asking the policy again:
 * a rewritten log (aof.c) holds one BLOCK record per live block, and no
 * policy's internal order (TLSF's lists, next-fit's rotor) can be rebuilt
 * from those, so placement after a rewrite could differ from the log's.
 * Every other record re-runs its request through exec at its logged time
 * and must end as it did (the same number freed). Times are the server's
 * wall-clock milliseconds (allocator.c's clock), so a lease keeps its end
 * across a restart. */
#ifndef SMM_AOFREC_H
#define SMM_AOFREC_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "proto.h"

#define SMM_AOFREC_HEADER 8  /* length and CRC32C */
#define SMM_AOFREC_MAX 128   /* bytes one record takes at most, header included */
#define SMM_AOFREC_POLICY 32 /* policy name bytes kept in the config record */

enum smm_aofrec_type {
	SMM_AOFREC_CONFIG = 1, /* first record: the arena the log is for */
	SMM_AOFREC_MALLOC,
	SMM_AOFREC_FILL,
	SMM_AOFREC_FREE,       /* by key or by the operator: replayed as evict */
	SMM_AOFREC_RENEW,
	SMM_AOFREC_RESET,
	SMM_AOFREC_RELEASE,    /* a closed connection's blocks */
	SMM_AOFREC_EXPIRE,     /* one slice of ended leases */
	SMM_AOFREC_BLOCK,      /* a rewrite's copy of one live block */
	SMM_AOFREC_TYPES
};

/* One decoded record; fields a type does not use are zero. */
struct smm_aofrec {
	enum smm_aofrec_type type;
	uint64_t now;     /* MALLOC, RENEW, EXPIRE: the time it ran */
	int64_t id;       /* MALLOC */
	uint64_t size;    /* MALLOC: asked; CONFIG: arena bytes */
	uint64_t ttl_ms;  /* MALLOC, RENEW: 0 none */
	uint64_t conn;    /* MALLOC: owner connection, 0 none; RELEASE */
	uint64_t addr;    /* MALLOC (granted), FILL, FREE, RENEW */
	uint64_t key;     /* MALLOC, FILL, RENEW */
	uint64_t count;   /* RELEASE, EXPIRE: blocks freed; CONFIG: align */
	uint64_t deadline; /* BLOCK: its lease's end, SMM_LEASES_NEVER none */
	char ch;          /* FILL: the asked character, 0 the owner's; CONFIG: filler;
			     BLOCK: the character its bytes hold, 0 never filled */
	char policy[SMM_AOFREC_POLICY]; /* CONFIG, NUL-terminated */
};

/* smm_aofrec_crc32c returns the CRC32C (Castagnoli) of p[0..n), continuing
 * from crc (0 to start). */
uint32_t smm_aofrec_crc32c(uint32_t crc, const void *p, size_t n);

/* smm_aofrec_encode writes r as one record to out and returns its length. */
size_t smm_aofrec_encode(const struct smm_aofrec *r, uint8_t out[SMM_AOFREC_MAX]);

/* smm_aofrec_of_request sets *r to the record of req, which exec just ran
 * at now with reply rep. Returns 1, or 0 when req changed nothing (an
 * error, or an op that only reads). */
int smm_aofrec_of_request(const struct smm_request *req, const struct smm_reply *rep,
			  uint64_t now, struct smm_aofrec *r);

/* smm_aofrec_of_entry sets *r to the BLOCK record of e (arena.h). */
void smm_aofrec_of_entry(const struct smm_arena_entry *e, struct smm_aofrec *r);

/* smm_aofrec_decode reads the record at p[0..avail). Returns its length
 * with *r set; 0 when p holds only its beginning (a torn tail, if nothing
 * follows); -1 with a reason in err when the checksum or a field is wrong.
 * Nothing is set on 0 or -1. */
long smm_aofrec_decode(const uint8_t *p, size_t avail, struct smm_aofrec *r, char *err,
		       size_t errlen);

/* smm_aofrec_apply replays r on a (CONFIG records are not for the arena
 * and do nothing). MALLOC and BLOCK claim their logged address. Returns 0,
 * or -1 with a reason in err when r does not end as logged: then a may hold part of it, and the log is not for this
 * arena. Caller: the thread that owns a. */
int smm_aofrec_apply(struct smm_arena *a, const struct smm_aofrec *r, char *err,
		     size_t errlen);

#endif
