/* commands.c — build the request a one-shot command names, send it, show
 * the reply. */
#include "commands.h"

#include <string.h>

#include "render.h"

/* build fills req from the command line; -1 with err when it cannot. */
static int build(const struct smm_cli *cli, struct smm_request *req, char *err, size_t errlen)
{
	static const enum smm_op ops[SMM_CLI_NCMDS] = {
		[SMM_CLI_PING] = SMM_OP_PING, [SMM_CLI_MALLOC] = SMM_OP_MALLOC,
		[SMM_CLI_FILL] = SMM_OP_FILL, [SMM_CLI_FREE] = SMM_OP_FREE,
		[SMM_CLI_DUMP] = SMM_OP_DUMP, [SMM_CLI_STATS] = SMM_OP_STATS,
		[SMM_CLI_RESET] = SMM_OP_RESET, [SMM_CLI_RENEW] = SMM_OP_RENEW,
		[SMM_CLI_COMPACT] = SMM_OP_COMPACT,
	};

	memset(req, 0, sizeof *req);
	req->op = ops[cli->cmd];
	req->id = cli->id;
	req->size = cli->size_min;
	req->addr = cli->addr;
	req->key = cli->key;
	req->fill_char = cli->fill_char;
	req->offset = cli->offset;
	req->has_length = cli->length != SMM_CLIENT_TO_END;
	req->length = req->has_length ? cli->length : 0;
	req->blocks = cli->blocks;
	if (cli->cmd == SMM_CLI_DUMP && cli->cells) {
		req->op = SMM_OP_MAP;
		req->cells = (uint64_t)cli->cells;
	}
	req->has_ttl = cli->has_ttl;
	req->ttl_ms = cli->ttl_ms;
	req->conn_scope = cli->conn_scope;
	/* free without --key is the operator's free, by the admin token. */
	req->has_token = req->op == SMM_OP_FREE && !cli->has_key;
	if (req->op != SMM_OP_RESET && req->op != SMM_OP_COMPACT && !req->has_token)
		return 0;
	if (smm_cli_admin_token(cli, req->token, err, errlen) < 0)
		return -1;
	req->token_len = strlen(req->token);
	return 0;
}

static void show(const struct smm_cli *cli, const struct smm_reply *rep, bool color, FILE *out)
{
	char key[SMM_PROTO_KEY_HEX + 1];

	switch (cli->cmd) {
	case SMM_CLI_PING:
		fputs("pong\n", out);
		break;
	case SMM_CLI_MALLOC:
		smm_key_format(rep->key, key);
		fprintf(out, "addr=%llu size=%llu id=%lld key=%s", (unsigned long long)rep->addr,
			(unsigned long long)rep->size, (long long)rep->id, key);
		if (rep->has_ttl)
			fprintf(out, " ttl_ms=%llu", (unsigned long long)rep->ttl_ms);
		fputc('\n', out);
		break;
	case SMM_CLI_RENEW:
		if (rep->ttl_ms)
			fprintf(out, "lease of addr %llu ends in %llu ms\n",
				(unsigned long long)rep->addr, (unsigned long long)rep->ttl_ms);
		else
			fprintf(out, "addr %llu has no lease\n", (unsigned long long)rep->addr);
		break;
	case SMM_CLI_FILL:
	case SMM_CLI_FREE:
		fprintf(out, "%s %llu bytes at addr %llu\n",
			cli->cmd == SMM_CLI_FILL ? "filled" : "freed", (unsigned long long)rep->size,
			(unsigned long long)rep->addr);
		break;
	case SMM_CLI_DUMP:
		if (cli->cells)
			smm_render_map(out, rep, color);
		else if (cli->raw)
			fprintf(out, "%s\n", rep->memory);
		else
			smm_render_memory(out, rep, color);
		if (cli->blocks)
			smm_render_blocks(out, rep);
		break;
	case SMM_CLI_STATS:
		smm_render_stats(out, &rep->stats);
		break;
	case SMM_CLI_COMPACT:
		fputs("rewriting the log\n", out);
		break;
	default:
		fprintf(out, "freed %llu block%s\n", (unsigned long long)rep->freed,
			rep->freed == 1 ? "" : "s");
		break;
	}
}

enum smm_client_status smm_commands_run(const struct smm_cli *cli, FILE *out, FILE *trace,
					bool color, char *err, size_t errlen)
{
	struct smm_render_trace tr = { .out = trace, .who = "main" };
	struct smm_client *c = NULL;
	struct smm_request req;
	struct smm_reply rep = { 0 };
	enum smm_client_status st = SMM_CLIENT_ENET;

	if (build(cli, &req, err, errlen) < 0)
		goto out;
	color = color && cli->cmd == SMM_CLI_DUMP && !cli->raw && !cli->json;
	/* The text map needs each byte's owner: colour, and unfilled bytes. */
	req.blocks = req.blocks || (cli->cmd == SMM_CLI_DUMP && !cli->raw && !cli->json && !cli->cells);
	if (smm_client_connect(cli->host, cli->port, cli->timeout_ms, &c, err, errlen) < 0)
		goto out;
	if (trace)
		smm_client_trace(c, smm_render_trace_cb, &tr);
	st = smm_client_call(c, &req, &rep);
	if (st != SMM_CLIENT_OK)
		smm_client_describe(st, &rep, err, errlen);
	if (st != SMM_CLIENT_ENET && cli->json)
		fprintf(out, "%s\n", smm_client_last_line(c));
	else if (st == SMM_CLIENT_OK)
		show(cli, &rep, color, out);
out:
	smm_reply_clear(&rep);
	smm_client_close(c);
	return st;
}
