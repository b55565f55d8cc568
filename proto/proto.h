/* proto.h — smm wire protocol v1: the types, names and limits shared by
 * the request parser (request.h), the reply builder (reply.h), the server
 * and the client. Pure data: no I/O, no threads, no libevent.
 *
 * Integers on the wire are kept within I-JSON's exact range (RFC 7493,
 * |n| <= 2^53-1) so that every JSON implementation reads them exactly;
 * in C they are 64-bit everywhere. */
#ifndef SMM_PROTO_H
#define SMM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMM_PROTO_VERSION 1

/* Largest integer a request may carry: 2^53-1, exact in every JSON reader. */
#define SMM_PROTO_MAX_INT 9007199254740991ULL
/* Largest thread id: the seed's ids are C ints. */
#define SMM_PROTO_MAX_ID 2147483647LL
/* A block key is 64 random bits, sent as 16 lowercase hex digits. */
#define SMM_PROTO_KEY_HEX 16
/* Admin tokens longer than this are rejected unread: no real token needs more. */
#define SMM_PROTO_MAX_TOKEN 256
/* JSON nesting deeper than this is refused before parsing, so a hostile
 * line cannot drive the parser's recursion deep. */
#define SMM_PROTO_MAX_DEPTH 32
/* A tag is echoed verbatim; its serialised form may not exceed this. */
#define SMM_PROTO_MAX_TAG 1024
/* One dump reply carries at most this many bytes of memory (1 MiB). */
#define SMM_PROTO_MAX_DUMP (1024u * 1024u)
/* ...and lists at most this many blocks (about 0.7 MiB of JSON), so a
 * reply stays bounded however small the blocks. */
#define SMM_PROTO_MAX_DUMP_BLOCKS 16384u
/* Bytes one listed block takes in a dump reply, at most. */
#define SMM_PROTO_DUMP_BLOCK_BYTES 64u
/* A map reply has at most this many cells (about 0.5 MiB of JSON)... */
#define SMM_PROTO_MAX_CELLS 16384u
/* ...of at most this many bytes each, and lists blocks only when its
 * window holds at most this many (enough for a tooltip on each). */
#define SMM_PROTO_MAP_CELL_BYTES 32u
#define SMM_PROTO_MAX_MAP_BLOCKS 2048u
/* Longest lease a request may ask for: 30 days, in milliseconds. */
#define SMM_PROTO_MAX_TTL 2592000000ULL
/* Default and hard bounds for the server's line limit. */
#define SMM_PROTO_DEFAULT_MAX_LINE 65536
/* Human error messages are cut to this length. */
#define SMM_PROTO_MAX_MESSAGE 160

enum smm_op {
	SMM_OP_PING,
	SMM_OP_MALLOC,
	SMM_OP_FILL,
	SMM_OP_FREE,
	SMM_OP_DUMP,
	SMM_OP_STATS,
	SMM_OP_RESET,
	SMM_OP_RENEW,
	SMM_OP_MAP,     /* a scaled memory map: cells of a window, from the block table */
	SMM_OP_COMPACT, /* rewrite the append-only log now (admin) */
	SMM_OP_STOP,    /* internal: never parsed from the wire; ends the allocator thread */
	SMM_OP_RELEASE, /* internal: connection conn closed; free its connection-scoped blocks */
};

/* Error codes, in the order PROTOCOL.md lists them. SMM_ERR_NONE is success. */
enum smm_err {
	SMM_ERR_NONE,
	SMM_ERR_BAD_JSON,    /* not JSON, or not an object */
	SMM_ERR_BAD_REQUEST, /* missing or invalid field */
	SMM_ERR_UNKNOWN_OP,  /* "op" names no operation */
	SMM_ERR_NO_MEMORY,   /* not enough space for a malloc */
	SMM_ERR_BAD_ADDR,    /* no live block starts at "addr" */
	SMM_ERR_FORBIDDEN,   /* wrong key or admin token */
	SMM_ERR_TOO_LARGE,   /* line longer than the server's limit */
	SMM_ERR_BUSY,        /* server at a limit (connections) */
	SMM_ERR_UNAVAILABLE, /* the log cannot be written: changes refused */
	SMM_ERR_COUNT
};

/* smm_err_name returns the wire name of err ("bad_json", ...); "none" for
 * SMM_ERR_NONE and "unknown" for values out of range. Static storage. */
const char *smm_err_name(enum smm_err err);

/* smm_err_from_name returns the code whose wire name is name, or
 * SMM_ERR_COUNT when none matches. */
enum smm_err smm_err_from_name(const char *name);

/* smm_op_name returns the wire name of op ("malloc", ...). Static storage. */
const char *smm_op_name(enum smm_op op);

/* A parsed request. Fields an op does not use are zero. */
struct smm_request {
	enum smm_op op;
	int64_t id;        /* malloc: owner id, 0..SMM_PROTO_MAX_ID */
	bool my_malloc;    /* malloc: named by the seed's word "my_malloc" */
	uint64_t size;     /* malloc: bytes, >= 1 */
	uint64_t addr;     /* fill, free, renew: block start */
	uint64_t key;      /* fill, free, renew: the block's key */
	uint64_t ttl_ms;   /* malloc, renew: lease length; has_ttl says if given */
	bool has_ttl;
	bool conn_scope;   /* malloc: "scope":"connection" */
	bool has_token;    /* free: by the admin token instead of the key */
	char fill_char;    /* fill: explicit character, 0 when absent */
	uint64_t offset;   /* dump, map: window start */
	uint64_t length;   /* dump, map: window length; has_length says if given */
	bool has_length;
	bool blocks;       /* dump, map: list blocks too */
	uint64_t cells;    /* map: cells to cut the window into, 1..SMM_PROTO_MAX_CELLS */
	char token[SMM_PROTO_MAX_TOKEN + 1]; /* reset, free: admin token, NUL-terminated */
	size_t token_len;
	/* The "tag" value's raw bytes as sent (tag_len of them, not
	 * NUL-terminated), or NULL. Borrowed: it points into the line it was
	 * parsed from (or wherever the caller put it) and is never freed. */
	const char *tag;
	size_t tag_len;
	uint64_t conn;     /* never on the wire: the server's id of the sending connection */
};

/* One live block as reported by dump. Keys are never reported. */
struct smm_block_info {
	uint64_t addr;
	uint64_t size;
	int64_t id;
	uint64_t ttl_ms;  /* lease time left, when has_ttl */
	bool has_ttl;
	bool conn_scope;  /* freed when its connection closes */
};

/* One cell of a scaled map: the bytes of live blocks in it, those of
 * them in blocks never filled, and the id owning the most (-1: none). */
struct smm_cell {
	uint64_t used, unfilled;
	int64_t owner;
};

/* Ops a client can send (ping..compact): the per-op counters' indexes. */
#define SMM_PROTO_WIRE_OPS SMM_OP_STOP

/* Every counter stats reports, in the order the client prints them: the
 * one list that the struct, the reply builder, the client's decoder and
 * its renderer are built from, so a new counter is one line here. The
 * allocator thread fills the arena's counters, the event loop the
 * connection ones (requests onwards, up to leases); the aof_ ones come
 * from the log, on the allocator thread. */
#define SMM_STATS_FIELDS(X) \
	X(memory_size) X(used) X(free) X(largest_free) X(blocks) X(free_extents) \
	X(granted) X(denied) X(requests) X(connections) X(queue_depth) X(uptime_ms) \
	X(bad_requests) X(too_large) X(rejected_connections) X(output_paused) \
	X(idle_closed) X(accept_paused) X(leases) X(expired) X(released_on_close) \
	X(aof_size) X(aof_rewrites) X(aof_last_fsync_ms_ago) X(aof_errors) X(allocator_moves)

/* Counters reported by stats, plus the policy's name. */
struct smm_stats {
#define SMM_STATS_MEMBER(name) uint64_t name;
	SMM_STATS_FIELDS(SMM_STATS_MEMBER)
#undef SMM_STATS_MEMBER
	const char *policy; /* static storage */
	uint64_t by_op[SMM_PROTO_WIRE_OPS]; /* requests parsed, per op */
	uint64_t by_err[SMM_ERR_COUNT];     /* error replies, per code (by_err[0] unused) */
};

/* The answer to one request: the seed's thread_message slot, grown up. */
struct smm_reply {
	enum smm_err err;
	char message[SMM_PROTO_MAX_MESSAGE]; /* for errors; empty = default text */
	uint64_t addr, size;                 /* malloc, fill, free, renew */
	int64_t id;                          /* malloc */
	uint64_t key;                        /* malloc */
	uint64_t ttl_ms;                     /* malloc, renew: the lease, when has_ttl */
	bool has_ttl;
	/* dump: memory[0..length) is the window [offset, offset+length) of an
	 * arena of memory_size bytes; malloc'd, owned by the reply. */
	char *memory;
	uint64_t offset, length, memory_size;
	bool truncated;
	struct smm_block_info *blocks; /* dump with blocks: malloc'd, owned */
	size_t nblocks;
	bool has_blocks;
	struct smm_cell *cells; /* map: malloc'd, owned; offset, length, memory_size too */
	size_t ncells;
	struct smm_stats stats; /* stats */
	uint64_t freed;         /* reset: blocks freed */
};

/* smm_request_clear zeroes req (it owns nothing). */
void smm_request_clear(struct smm_request *req);

/* smm_reply_clear frees what rep owns (memory, blocks, cells) and zeroes it. */
void smm_reply_clear(struct smm_reply *rep);

/* smm_reply_owns says whether rep holds memory that smm_reply_clear would
 * free, so a hot path can skip clearing a reply that holds none. */
bool smm_reply_owns(const struct smm_reply *rep);

/* smm_reply_fail sets rep to error err with message msg (NULL: the
 * default text for err). Returns -1 so callers can `return smm_reply_fail(..)`. */
int smm_reply_fail(struct smm_reply *rep, enum smm_err err, const char *msg);

/* smm_id_char returns the seed's character for owner id: 0-9, A-Z, a-z,
 * wrapping modulo 62. */
char smm_id_char(int64_t id);

/* smm_key_parse reads a key written as exactly SMM_PROTO_KEY_HEX hex
 * digits. Returns 0 and sets *key, or -1 (nothing set). */
int smm_key_parse(const char *s, size_t len, uint64_t *key);

/* smm_key_format writes key as SMM_PROTO_KEY_HEX lowercase hex digits and a NUL. */
void smm_key_format(uint64_t key, char out[SMM_PROTO_KEY_HEX + 1]);

#endif
