/* watch.c — one connection, one map and one stats request a round, and a
 * poll on the Ctrl-C descriptor as the wait between rounds. */
#include "watch.h"

#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "render.h"

/* Cursor to the top left, then clear the screen: a redraw in place. */
#define HOME_CLEAR "\033[H\033[2J"

static enum smm_client_status round_trip(struct smm_client *c, const struct smm_cli *cli,
					 struct smm_reply *map, struct smm_reply *stats)
{
	struct smm_request req = { .op = SMM_OP_MAP };
	enum smm_client_status st;

	req.cells = (uint64_t)(cli->cells ? cli->cells : SMM_CLI_WATCH_CELLS);
	st = smm_client_call(c, &req, map);
	if (st != SMM_CLIENT_OK)
		return st;
	return smm_client_stats(c, stats);
}

static void draw(FILE *out, bool tty, bool color, const struct smm_reply *map,
		 const struct smm_reply *stats)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof when, "%H:%M:%S", localtime_r(&now, &tm));
	fputs(tty ? HOME_CLEAR : "\n", out);
	fprintf(out, "smm-client watch, %s (Ctrl-C to stop)\n", when);
	smm_render_map(out, map, color);
	smm_render_stats(out, &stats->stats);
	fflush(out);
}

/* wait_stop returns 1 when stop_fd fires within ms, else 0. */
static int wait_stop(int stop_fd, int ms)
{
	struct pollfd p = { .fd = stop_fd, .events = POLLIN };

	if (stop_fd < 0) {
		usleep((useconds_t)ms * 1000);
		return 0;
	}
	return poll(&p, 1, ms) > 0;
}

enum smm_client_status smm_watch_run(const struct smm_cli *cli, FILE *out, int stop_fd,
				     bool color, char *err, size_t errlen)
{
	struct smm_client *c = NULL;
	struct smm_reply map = { 0 }, stats = { 0 };
	enum smm_client_status st = SMM_CLIENT_ENET;
	bool tty = isatty(fileno(out));

	if (smm_client_connect(cli->host, cli->port, cli->timeout_ms, &c, err, errlen) < 0)
		goto out;
	do {
		st = round_trip(c, cli, &map, &stats);
		if (st != SMM_CLIENT_OK) {
			smm_client_describe(st, st == SMM_CLIENT_EREPLY && map.err ? &map : &stats,
					    err, errlen);
			goto out;
		}
		draw(out, tty, color, &map, &stats);
	} while (!wait_stop(stop_fd, cli->interval_ms));
out:
	smm_reply_clear(&map);
	smm_reply_clear(&stats);
	smm_client_close(c);
	return st;
}
