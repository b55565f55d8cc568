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
/* Added to the owner's colour for bytes still holding the filler. */
#define UNFILLED_STYLE "\033[7m"

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

/* filler_of returns the character the server shows for free bytes: any
 * byte of the window outside every block holds it. A window wholly inside
 * blocks has none to look at; '.' is the server's default. */
static char filler_of(const struct smm_reply *rep)
{
	size_t hint = 0;

	for (uint64_t j = 0; j < rep->length; j++)
		if (owner_of(rep, rep->offset + j, &hint) < 0)
			return rep->memory[j];
	return '.';
}

/* style_of says how to draw byte j: -1 free, else 2 * block + unfilled. */
static long style_of(const struct smm_reply *rep, uint64_t j, char filler, size_t *hint)
{
	long b = rep->has_blocks ? owner_of(rep, rep->offset + j, hint) : -1;

	return b < 0 ? -1 : 2 * b + (rep->memory[j] == filler);
}

static void set_style(FILE *out, const struct smm_reply *rep, long style)
{
	fputs(colours[(uint64_t)rep->blocks[style / 2].id % NCOLOURS], out);
	if (style % 2)
		fputs(UNFILLED_STYLE, out);
}

/* write_row writes bytes [i, i + SMM_RENDER_ROW) of the window; returns
 * how many were live but unfilled. */
static uint64_t write_row(FILE *out, const struct smm_reply *rep, uint64_t i, bool color,
			  char filler, char unfilled, size_t *hint)
{
	long current = -1;
	uint64_t n = 0;

	for (uint64_t j = i; j < rep->length && j < i + SMM_RENDER_ROW; j++) {
		long style = style_of(rep, j, filler, hint);
		if (color && style != current) {
			if (current >= 0)
				fputs(RESET, out);
			if (style >= 0)
				set_style(out, rep, style);
			current = style;
		}
		n += style >= 0 && style % 2;
		fputc(style >= 0 && style % 2 ? unfilled : rep->memory[j], out);
	}
	fputs(current >= 0 ? RESET "\n" : "\n", out);
	return n;
}

void smm_render_memory(FILE *out, const struct smm_reply *rep, bool color)
{
	char filler = rep->has_blocks ? filler_of(rep) : '.';
	char unfilled = filler == SMM_RENDER_UNFILLED ? SMM_RENDER_UNFILLED_ALT : SMM_RENDER_UNFILLED;
	int width = 1;
	size_t hint = 0;
	uint64_t shown = 0;

	for (uint64_t end = rep->offset + rep->length; end >= 10; end /= 10)
		width++;
	for (uint64_t i = 0; i < rep->length; i += SMM_RENDER_ROW) {
		fprintf(out, "%*llu  ", width, (unsigned long long)(rep->offset + i));
		shown += write_row(out, rep, i, color, filler, unfilled, &hint);
	}
	if (shown)
		fprintf(out, "(%s%c%s allocated, not yet filled; %c free)\n",
			color ? UNFILLED_STYLE : "", unfilled, color ? RESET : "", filler);
	if (rep->truncated)
		fprintf(out, "(truncated: %llu of %llu bytes shown; use --offset and --length)\n",
			(unsigned long long)rep->length,
			(unsigned long long)(rep->memory_size - rep->offset));
}

/* map_row writes cells [i, i + SMM_RENDER_ROW) of a map. */
static void map_row(FILE *out, const struct smm_reply *rep, size_t i, bool color)
{
	for (size_t j = i; j < rep->ncells && j < i + SMM_RENDER_ROW; j++) {
		const struct smm_cell *c = &rep->cells[j];
		bool unfilled = c->used && c->unfilled * 2 >= c->used;
		if (!c->used) {
			fputc('.', out);
			continue;
		}
		if (color)
			fprintf(out, "%s%s", colours[(uint64_t)c->owner % NCOLOURS],
				unfilled ? UNFILLED_STYLE : "");
		fputc(unfilled ? SMM_RENDER_UNFILLED : smm_id_char(c->owner), out);
		if (color)
			fputs(RESET, out);
	}
	fputc('\n', out);
}

void smm_render_map(FILE *out, const struct smm_reply *rep, bool color)
{
	uint64_t end = rep->offset + rep->length;
	int width = 1;

	for (uint64_t e = end; e >= 10; e /= 10)
		width++;
	fprintf(out, "Map of bytes %llu to %llu of %llu: %zu cells of %s%llu bytes\n",
		(unsigned long long)rep->offset, (unsigned long long)(end ? end - 1 : 0),
		(unsigned long long)rep->memory_size, rep->ncells,
		rep->ncells && rep->length % rep->ncells ? "about " : "",
		(unsigned long long)(rep->ncells ? rep->length / rep->ncells : 0));
	for (size_t i = 0; i < rep->ncells; i += SMM_RENDER_ROW) {
		uint64_t addr = rep->offset +
				(uint64_t)((unsigned __int128)rep->length * i / rep->ncells);
		fprintf(out, "%*llu  ", width, (unsigned long long)addr);
		map_row(out, rep, i, color);
	}
	fprintf(out, "(a cell: the id owning most of it; %s%c%s mostly allocated, not yet filled; "
		     ". free)\n",
		color ? UNFILLED_STYLE : "", SMM_RENDER_UNFILLED, color ? RESET : "");
}

void smm_render_trace_cb(void *arg, char dir, const char *line, size_t len)
{
	const struct smm_render_trace *t = arg;

	fprintf(t->out, "[%s] %c %.*s\n", t->who, dir, (int)len, line);
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
#define ROW(x) { #x, s->x },
		SMM_STATS_FIELDS(ROW)
#undef ROW
	};

	fprintf(out, "%-21s %s\n", "policy", s->policy ? s->policy : "");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		fprintf(out, "%-21s %llu\n", rows[i].name, (unsigned long long)rows[i].v);
	fprintf(out, "%-21s %.3f\n", "fragmentation", smm_stats_fragmentation(s));
}
