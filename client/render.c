/* render.c — text renderings of dump and stats replies. */
#include "render.h"

#include <stdint.h>

#include "reply.h"

/* Six distinguishable foreground colours; owners cycle through them. */
static const char *const colours[] = {
	"\033[31m", "\033[32m", "\033[33m", "\033[34m", "\033[35m", "\033[36m",
};
#define NCOLOURS (sizeof colours / sizeof colours[0])
#define RESET "\033[0m"

/* owner_of returns the index of the block holding addr, or -1. Blocks come
 * sorted by address; *hint walks forward with the rows. */
static long owner_of(const struct smm_reply *rep, uint64_t addr, size_t *hint)
{
	while (*hint < rep->nblocks &&
	       rep->blocks[*hint].addr + rep->blocks[*hint].size <= addr)
		(*hint)++;
	if (*hint < rep->nblocks && rep->blocks[*hint].addr <= addr)
		return (long)*hint;
	return -1;
}

void smm_render_memory(FILE *out, const struct smm_reply *rep, bool color)
{
	int width = 1;
	size_t hint = 0;

	for (uint64_t end = rep->offset + rep->length; end >= 10; end /= 10)
		width++;
	for (uint64_t i = 0; i < rep->length; i += SMM_RENDER_ROW) {
		long current = -1;
		fprintf(out, "%*llu  ", width, (unsigned long long)(rep->offset + i));
		for (uint64_t j = i; j < rep->length && j < i + SMM_RENDER_ROW; j++) {
			if (color && rep->has_blocks) {
				long b = owner_of(rep, rep->offset + j, &hint);
				if (b != current) {
					fputs(b < 0 ? RESET
						    : colours[(uint64_t)rep->blocks[b].id % NCOLOURS],
					      out);
					current = b;
				}
			}
			fputc(rep->memory[j], out);
		}
		fputs(current >= 0 ? RESET "\n" : "\n", out);
	}
	if (rep->truncated)
		fprintf(out, "(truncated: %llu of %llu bytes shown; use --offset and --length)\n",
			(unsigned long long)rep->length,
			(unsigned long long)(rep->memory_size - rep->offset));
}

void smm_render_blocks(FILE *out, const struct smm_reply *rep)
{
	fprintf(out, "%10s %10s %10s  %s\n", "addr", "size", "id", "char");
	for (size_t i = 0; i < rep->nblocks; i++) {
		const struct smm_block_info *b = &rep->blocks[i];
		fprintf(out, "%10llu %10llu %10lld  %c", (unsigned long long)b->addr,
			(unsigned long long)b->size, (long long)b->id, smm_id_char(b->id));
		if (b->has_ttl)
			fprintf(out, "  ttl_ms=%llu", (unsigned long long)b->ttl_ms);
		fputs(b->conn_scope ? "  scope=connection\n" : "\n", out);
	}
	fprintf(out, "%zu block%s\n", rep->nblocks, rep->nblocks == 1 ? "" : "s");
}

void smm_render_stats(FILE *out, const struct smm_stats *s)
{
	const struct { const char *name; uint64_t v; } rows[] = {
		{ "memory_size", s->memory_size }, { "used", s->used }, { "free", s->free },
		{ "largest_free", s->largest_free }, { "blocks", s->blocks },
		{ "free_extents", s->free_extents }, { "granted", s->granted },
		{ "denied", s->denied }, { "requests", s->requests },
		{ "connections", s->connections }, { "queue_depth", s->queue_depth },
		{ "uptime_ms", s->uptime_ms }, { "bad_requests", s->bad_requests },
		{ "too_large", s->too_large }, { "rejected_connections", s->rejected_connections },
		{ "output_paused", s->output_paused }, { "idle_closed", s->idle_closed },
		{ "accept_paused", s->accept_paused }, { "leases", s->leases },
		{ "expired", s->expired }, { "released_on_close", s->released_on_close },
	};

	fprintf(out, "%-21s %s\n", "policy", s->policy ? s->policy : "");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		fprintf(out, "%-21s %llu\n", rows[i].name, (unsigned long long)rows[i].v);
	fprintf(out, "%-21s %.3f\n", "fragmentation", smm_stats_fragmentation(s));
}
