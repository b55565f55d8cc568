/* main.c — smm-client: read the command line, run the command, turn its
 * outcome into an exit status. The only place that exits. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "commands.h"
#include "demo.h"
#include "load.h"
#include "watch.h"

/* Exit statuses, as --help documents them; 130 is what shells report
 * for a command killed by SIGINT. */
enum { EXIT_REPLY = 1, EXIT_NET = 2, EXIT_SIGINT = 130 };

/* sigint_fd blocks SIGINT in this thread (and so in the threads it starts
 * later) and returns a descriptor that becomes readable when one comes,
 * or -1 (then Ctrl-C kills the run as usual). */
static int sigint_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* run_load runs a load run and prints its summary, also when Ctrl-C or a
 * lost server cut it short. */
static int run_load(const struct smm_cli *cli, char *err, size_t errlen)
{
	struct smm_load_result res;
	int stop_fd = sigint_fd();
	enum smm_client_status st = smm_load_run(cli, isatty(STDERR_FILENO) ? stderr : NULL,
						 stop_fd, &res, err, errlen);

	if (stop_fd >= 0)
		close(stop_fd);
	if (st == SMM_CLIENT_OK || res.interrupted)
		smm_load_print(stdout, cli, &res, cli->json);
	if (st == SMM_CLIENT_OK && res.interrupted == SMM_LOAD_SIGINT) {
		snprintf(err, errlen, "interrupted");
		return EXIT_SIGINT;
	}
	return st == SMM_CLIENT_OK ? EXIT_SUCCESS : st == SMM_CLIENT_EREPLY ? EXIT_REPLY : EXIT_NET;
}

/* run_watch redraws until Ctrl-C, which ends it with status 0. */
static int run_watch(const struct smm_cli *cli, bool color, char *err, size_t errlen)
{
	int stop_fd = sigint_fd();
	enum smm_client_status st = smm_watch_run(cli, stdout, stop_fd, color, err, errlen);

	if (stop_fd >= 0)
		close(stop_fd);
	return st == SMM_CLIENT_OK ? EXIT_SUCCESS : st == SMM_CLIENT_EREPLY ? EXIT_REPLY : EXIT_NET;
}

/* use_color decides --color: auto is a terminal without $NO_COLOR
 * (no-color.org: set and not empty); the flag's other values win. */
static bool use_color(const struct smm_cli *cli)
{
	const char *no_color = getenv("NO_COLOR");

	if (cli->color != SMM_CLI_COLOR_AUTO)
		return cli->color == SMM_CLI_COLOR_ALWAYS;
	return isatty(STDOUT_FILENO) && !(no_color && *no_color);
}

static int run(const struct smm_cli *cli, char *err, size_t errlen)
{
	bool color = use_color(cli);
	enum smm_client_status st;

	switch (cli->cmd) {
	case SMM_CLI_DEMO:
		st = smm_demo_run(cli, stdout, cli->verbose ? stderr : NULL, color, err, errlen);
		break;
	case SMM_CLI_LOAD:
		return run_load(cli, err, errlen);
	case SMM_CLI_WATCH:
		return run_watch(cli, color, err, errlen);
	default:
		st = smm_commands_run(cli, stdout, cli->verbose ? stderr : NULL, color, err, errlen);
		break;
	}
	return st == SMM_CLIENT_OK ? EXIT_SUCCESS : st == SMM_CLIENT_EREPLY ? EXIT_REPLY : EXIT_NET;
}

int main(int argc, char **argv)
{
	struct smm_cli cli;
	char err[512];
	int status;

	if (smm_cli_parse(&cli, argc, argv, err, sizeof err) < 0) {
		fprintf(stderr, "smm-client: %s\nTry 'smm-client %s%s--help'.\n", err,
			smm_cli_cmd_name(cli.cmd), cli.cmd ? " " : "");
		return EXIT_NET;
	}
	if (cli.version) {
		printf("smm-client %s (protocol %d)\n", SMM_VERSION, SMM_PROTO_VERSION);
		return EXIT_SUCCESS;
	}
	if (cli.help) {
		smm_cli_usage(cli.cmd, stdout);
		return EXIT_SUCCESS;
	}
	status = run(&cli, err, sizeof err);
	if (fflush(stdout) != 0 && status == EXIT_SUCCESS) {
		snprintf(err, sizeof err, "cannot write the output");
		status = EXIT_NET;
	}
	if (status != EXIT_SUCCESS)
		fprintf(stderr, "smm-client: %s\n", err);
	return status;
}
