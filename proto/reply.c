/* reply.c — reply lines. Formatted by hand, not through a JSON tree and
 * not through printf: this runs once per request on the event loop, often
 * straight into a connection's output buffer. */
#include "reply.h"

#include <string.h>

/* add_field appends ,"name": and the integer v. */
static void add_field(struct smm_buf *out, const char *name, uint64_t v)
{
	smm_buf_adds(out, name);
	smm_buf_addu(out, v);
}

static void format_error(enum smm_op op, const struct smm_reply *rep, struct smm_buf *out)
{
	smm_buf_adds(out, "{\"ok\":false");
	/* The seed's thread_message holds -1 for a denied request. */
	if (op == SMM_OP_MALLOC && rep->err == SMM_ERR_NO_MEMORY)
		smm_buf_adds(out, ",\"addr\":-1");
	smm_buf_adds(out, ",\"error\":\"");
	smm_buf_adds(out, smm_err_name(rep->err));
	smm_buf_adds(out, "\",\"message\":");
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
		add_field(out, i ? ",{\"addr\":" : "{\"addr\":", b->addr);
		add_field(out, ",\"size\":", b->size);
		smm_buf_adds(out, ",\"id\":");
		smm_buf_addi(out, b->id);
		if (b->has_ttl)
			add_field(out, ",\"ttl_ms\":", b->ttl_ms);
		smm_buf_adds(out, b->conn_scope ? ",\"scope\":\"connection\"}" : "}");
	}
	smm_buf_addc(out, ']');
}

/* format_window adds the arena's size and the window a dump or map shows. */
static void format_window(const struct smm_reply *rep, struct smm_buf *out)
{
	add_field(out, ",\"size\":", rep->memory_size);
	add_field(out, ",\"offset\":", rep->offset);
	add_field(out, ",\"length\":", rep->length);
}

static void format_dump(const struct smm_reply *rep, struct smm_buf *out)
{
	format_window(rep, out);
	smm_buf_adds(out, ",\"memory\":");
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
	smm_buf_adds(out, ",\"");
	smm_buf_adds(out, name);
	smm_buf_adds(out, "\":[");
	for (size_t i = 0; i < rep->ncells; i++) {
		const struct smm_cell *c = &rep->cells[i];
		if (i)
			smm_buf_addc(out, ',');
		if (field == 2)
			smm_buf_addi(out, c->owner);
		else
			smm_buf_addu(out, field ? c->unfilled : c->used);
	}
	smm_buf_addc(out, ']');
}

static void format_map(const struct smm_reply *rep, struct smm_buf *out)
{
	format_window(rep, out);
	add_field(out, ",\"cells\":", rep->ncells);
	format_cells(rep, "used", 0, out);
	format_cells(rep, "unfilled", 1, out);
	format_cells(rep, "owner", 2, out);
	if (rep->truncated)
		smm_buf_adds(out, ",\"blocks_truncated\":true");
	format_blocks(rep, out);
}

/* add_count adds "name":v to an object, after a comma unless first. */
static void add_count(struct smm_buf *out, int comma, const char *name, uint64_t v)
{
	smm_buf_adds(out, comma ? ",\"" : "\"");
	smm_buf_adds(out, name);
	smm_buf_adds(out, "\":");
	smm_buf_addu(out, v);
}

/* format_counts adds the per-op request counts and per-code error counts. */
static void format_counts(const struct smm_stats *s, struct smm_buf *out)
{
	smm_buf_adds(out, ",\"ops\":{");
	for (int op = 0; op < SMM_PROTO_WIRE_OPS; op++)
		add_count(out, op > 0, smm_op_name((enum smm_op)op), s->by_op[op]);
	smm_buf_adds(out, "},\"errors\":{");
	for (int e = 1; e < SMM_ERR_COUNT; e++)
		add_count(out, e > 1, smm_err_name((enum smm_err)e), s->by_err[e]);
	smm_buf_addc(out, '}');
}

double smm_stats_fragmentation(const struct smm_stats *st)
{
	if (st->free == 0)
		return 0.0;
	return 1.0 - (double)st->largest_free / (double)st->free;
}

/* format_stats writes the counters in SMM_STATS_FIELDS' order, then the
 * two values that are not counters. */
static void format_stats(const struct smm_stats *s, struct smm_buf *out)
{
#define SMM_STATS_FORMAT(name) add_field(out, ",\"" #name "\":", s->name);
	SMM_STATS_FIELDS(SMM_STATS_FORMAT)
#undef SMM_STATS_FORMAT
	smm_buf_addf(out, ",\"fragmentation\":%.6g,\"policy\":", smm_stats_fragmentation(s));
	smm_buf_add_json_string(out, s->policy ? s->policy : "", s->policy ? strlen(s->policy) : 0);
}

static void format_ok(enum smm_op op, const struct smm_reply *rep, struct smm_buf *out)
{
	char key[SMM_PROTO_KEY_HEX + 1];

	smm_buf_adds(out, "{\"ok\":true");
	switch (op) {
	case SMM_OP_MALLOC:
		smm_key_format(rep->key, key);
		add_field(out, ",\"addr\":", rep->addr);
		add_field(out, ",\"size\":", rep->size);
		smm_buf_adds(out, ",\"id\":");
		smm_buf_addi(out, rep->id);
		smm_buf_adds(out, ",\"key\":\"");
		smm_buf_add(out, key, SMM_PROTO_KEY_HEX);
		smm_buf_addc(out, '"');
		break;
	case SMM_OP_FILL:
	case SMM_OP_FREE:
	case SMM_OP_RENEW:
		add_field(out, ",\"addr\":", rep->addr);
		add_field(out, ",\"size\":", rep->size);
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
		add_field(out, ",\"freed\":", rep->freed);
		break;
	default:
		break;
	}
	if (rep->has_ttl)
		add_field(out, ",\"ttl_ms\":", rep->ttl_ms);
}

void smm_reply_format(enum smm_op op, const char *tag, size_t tag_len,
		      const struct smm_reply *rep, struct smm_buf *out)
{
	if (rep->err != SMM_ERR_NONE)
		format_error(op, rep, out);
	else
		format_ok(op, rep, out);
	if (tag) {
		smm_buf_adds(out, ",\"tag\":");
		smm_buf_add(out, tag, tag_len);
	}
	smm_buf_adds(out, "}\n");
}

/* Room for everything a reply holds besides its tag, stats and dump window:
 * the longest error name and a message of SMM_PROTO_MAX_MESSAGE bytes,
 * each escaped to \u00XX at worst, or the most fields an ok reply has. */
#define FIXED_BOUND (256 + 6 * SMM_PROTO_MAX_MESSAGE)
/* One stats counter or value: its name, quotes, colon and 20 digits. */
#define STATS_FIELD_BOUND 48
/* One listed block with 20-digit numbers, its lease and its scope. */
#define BLOCK_BOUND 160

size_t smm_reply_bound(enum smm_op op, size_t tag_len, const struct smm_reply *rep)
{
	size_t n = FIXED_BOUND + tag_len;

	if (op == SMM_OP_STATS)
		n += STATS_FIELD_BOUND * 24 +
		     6 * (rep->stats.policy ? strlen(rep->stats.policy) : 0);
	if (op == SMM_OP_DUMP)
		n += 6 * rep->length + BLOCK_BOUND * rep->nblocks;
	return n;
}
