/* main.c — smm-client: read the command line, run the command, turn its
 * outcome into an exit status. The only place that exits. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "commands.h"
#include "demo.h"
#include "load.h"

/* Exit statuses, as --help documents them. */
enum { EXIT_REPLY = 1, EXIT_NET = 2 };

static int run(const struct smm_cli *cli, char *err, size_t errlen)
{
	bool color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	struct smm_load_result res;
	enum smm_client_status st;

	switch (cli->cmd) {
	case SMM_CLI_DEMO:
		st = smm_demo_run(cli, stdout, color, err, errlen);
		break;
	case SMM_CLI_LOAD:
		st = smm_load_run(cli, isatty(STDERR_FILENO) ? stderr : NULL, &res, err, errlen);
		if (st == SMM_CLIENT_OK)
			smm_load_print(stdout, cli, &res, cli->json);
		break;
	default:
		st = smm_commands_run(cli, stdout, color, err, errlen);
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
