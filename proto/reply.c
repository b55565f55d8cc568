/* reply.c — reply lines. Formatted by hand, not through a JSON tree: this
 * runs once per request on the event loop and must not allocate per field. */
#include "reply.h"

#include <string.h>

static void add_tag(struct smm_buf *out, const char *tag)
{
	if (tag) {
		smm_buf_adds(out, ",\"tag\":");
		smm_buf_adds(out, tag);
	}
}

static void format_error(enum smm_op op, const struct smm_reply *rep, struct smm_buf *out)
{
	smm_buf_adds(out, "{\"ok\":false");
	/* The seed's thread_message holds -1 for a denied request. */
	if (op == SMM_OP_MALLOC && rep->err == SMM_ERR_NO_MEMORY)
		smm_buf_adds(out, ",\"addr\":-1");
	smm_buf_addf(out, ",\"error\":\"%s\",\"message\":", smm_err_name(rep->err));
	smm_buf_add_json_string(out, rep->message, strnlen(rep->message, sizeof rep->message));
}

/* format_blocks adds a dump's or a map's block list, when it has one. */
static void format_blocks(const struct smm_reply *rep, struct smm_buf *out)
{
	if (!rep->has_blocks)
		return;
	smm_buf_adds(out, ",\"blocks\":[");
	for (size_t i = 0; i < rep->nblocks; i++) {
		const struct smm_block_info *b = &rep->blocks[i];
		smm_buf_addf(out, "%s{\"addr\":%llu,\"size\":%llu,\"id\":%lld", i ? "," : "",
			     (unsigned long long)b->addr, (unsigned long long)b->size,
			     (long long)b->id);
		if (b->has_ttl)
			smm_buf_addf(out, ",\"ttl_ms\":%llu", (unsigned long long)b->ttl_ms);
		smm_buf_adds(out, b->conn_scope ? ",\"scope\":\"connection\"}" : "}");
	}
	smm_buf_addc(out, ']');
}

static void format_dump(const struct smm_reply *rep, struct smm_buf *out)
{
	smm_buf_addf(out, ",\"size\":%llu,\"offset\":%llu,\"length\":%llu,\"memory\":",
		     (unsigned long long)rep->memory_size, (unsigned long long)rep->offset,
		     (unsigned long long)rep->length);
	smm_buf_add_json_string(out, rep->memory ? rep->memory : "", rep->length);
	if (rep->truncated)
		smm_buf_adds(out, ",\"truncated\":true");
	format_blocks(rep, out);
}

/* format_cells adds one array of the map's cells: field 0 used, 1 unfilled,
 * 2 owner. */
static void format_cells(const struct smm_reply *rep, const char *name, int field,
			 struct smm_buf *out)
{
	smm_buf_addf(out, ",\"%s\":[", name);
	for (size_t i = 0; i < rep->ncells; i++) {
		const struct smm_cell *c = &rep->cells[i];
		if (field == 2)
			smm_buf_addf(out, "%s%lld", i ? "," : "", (long long)c->owner);
		else
			smm_buf_addf(out, "%s%llu", i ? "," : "",
				     (unsigned long long)(field ? c->unfilled : c->used));
	}
	smm_buf_addc(out, ']');
}

static void format_map(const struct smm_reply *rep, struct smm_buf *out)
{
	smm_buf_addf(out, ",\"size\":%llu,\"offset\":%llu,\"length\":%llu,\"cells\":%zu",
		     (unsigned long long)rep->memory_size, (unsigned long long)rep->offset,
		     (unsigned long long)rep->length, rep->ncells);
	format_cells(rep, "used", 0, out);
	format_cells(rep, "unfilled", 1, out);
	format_cells(rep, "owner", 2, out);
	if (rep->truncated)
		smm_buf_adds(out, ",\"blocks_truncated\":true");
	format_blocks(rep, out);
}

/* format_counts adds the per-op request counts and per-code error counts. */
static void format_counts(const struct smm_stats *s, struct smm_buf *out)
{
	smm_buf_adds(out, ",\"ops\":{");
	for (int op = 0; op < SMM_PROTO_WIRE_OPS; op++)
		smm_buf_addf(out, "%s\"%s\":%llu", op ? "," : "", smm_op_name((enum smm_op)op),
			     (unsigned long long)s->by_op[op]);
	smm_buf_adds(out, "},\"errors\":{");
	for (int e = 1; e < SMM_ERR_COUNT; e++)
		smm_buf_addf(out, "%s\"%s\":%llu", e > 1 ? "," : "", smm_err_name((enum smm_err)e),
			     (unsigned long long)s->by_err[e]);
	smm_buf_addc(out, '}');
}

double smm_stats_fragmentation(const struct smm_stats *st)
{
	if (st->free == 0)
		return 0.0;
	return 1.0 - (double)st->largest_free / (double)st->free;
}

static void format_stats(const struct smm_stats *s, struct smm_buf *out)
{
	smm_buf_addf(out,
		     ",\"memory_size\":%llu,\"used\":%llu,\"free\":%llu,\"largest_free\":%llu"
		     ",\"blocks\":%llu,\"free_extents\":%llu,\"fragmentation\":%.6g"
		     ",\"policy\":\"%s\",\"requests\":%llu,\"granted\":%llu,\"denied\":%llu"
		     ",\"connections\":%llu,\"queue_depth\":%llu,\"uptime_ms\":%llu"
		     ",\"bad_requests\":%llu,\"too_large\":%llu,\"rejected_connections\":%llu"
		     ",\"output_paused\":%llu,\"idle_closed\":%llu,\"accept_paused\":%llu"
		     ",\"leases\":%llu,\"expired\":%llu,\"released_on_close\":%llu"
		     ",\"aof_size\":%llu,\"aof_rewrites\":%llu,\"aof_last_fsync_ms_ago\":%llu"
		     ",\"aof_errors\":%llu",
		     (unsigned long long)s->memory_size, (unsigned long long)s->used,
		     (unsigned long long)s->free, (unsigned long long)s->largest_free,
		     (unsigned long long)s->blocks, (unsigned long long)s->free_extents,
		     smm_stats_fragmentation(s), s->policy ? s->policy : "",
		     (unsigned long long)s->requests, (unsigned long long)s->granted,
		     (unsigned long long)s->denied, (unsigned long long)s->connections,
		     (unsigned long long)s->queue_depth, (unsigned long long)s->uptime_ms,
		     (unsigned long long)s->bad_requests, (unsigned long long)s->too_large,
		     (unsigned long long)s->rejected_connections,
		     (unsigned long long)s->output_paused, (unsigned long long)s->idle_closed,
		     (unsigned long long)s->accept_paused, (unsigned long long)s->leases,
		     (unsigned long long)s->expired, (unsigned long long)s->released_on_close,
		     (unsigned long long)s->aof_size, (unsigned long long)s->aof_rewrites,
		     (unsigned long long)s->aof_last_fsync_ms_ago,
		     (unsigned long long)s->aof_errors);
}

static void format_ok(enum smm_op op, const struct smm_reply *rep, struct smm_buf *out)
{
	char key[SMM_PROTO_KEY_HEX + 1];

	smm_buf_adds(out, "{\"ok\":true");
	switch (op) {
	case SMM_OP_MALLOC:
		smm_key_format(rep->key, key);
		smm_buf_addf(out, ",\"addr\":%llu,\"size\":%llu,\"id\":%lld,\"key\":\"%s\"",
			     (unsigned long long)rep->addr, (unsigned long long)rep->size,
			     (long long)rep->id, key);
		break;
	case SMM_OP_FILL:
	case SMM_OP_FREE:
	case SMM_OP_RENEW:
		smm_buf_addf(out, ",\"addr\":%llu,\"size\":%llu",
			     (unsigned long long)rep->addr, (unsigned long long)rep->size);
		break;
	case SMM_OP_DUMP:
		format_dump(rep, out);
		break;
	case SMM_OP_STATS:
		format_stats(&rep->stats, out);
		format_counts(&rep->stats, out);
		break;
	case SMM_OP_MAP:
		format_map(rep, out);
		break;
	case SMM_OP_RESET:
		smm_buf_addf(out, ",\"freed\":%llu", (unsigned long long)rep->freed);
		break;
	default:
		break;
	}
	if (rep->has_ttl)
		smm_buf_addf(out, ",\"ttl_ms\":%llu", (unsigned long long)rep->ttl_ms);
}

void smm_reply_format(enum smm_op op, const char *tag, const struct smm_reply *rep,
		      struct smm_buf *out)
{
	if (rep->err != SMM_ERR_NONE)
		format_error(op, rep, out);
	else
		format_ok(op, rep, out);
	add_tag(out, tag);
	smm_buf_adds(out, "}\n");
}
