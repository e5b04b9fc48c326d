/* connrefuse: the command-line tool. The commands are in one file each,
 * their usage and help in usage.c; here, the dispatch. */
#define _GNU_SOURCE
#include "cli.h"
#include "engine/suggest.h"
#include "connrefuse.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "run", cr_cmd_run },       { "check", cr_cmd_check },   { "compile", cr_cmd_compile },
	{ "match", cr_cmd_match },   { "decode", cr_cmd_decode }, { "report", cr_cmd_report },
	{ "reload", cr_cmd_reload }, { "stats", cr_cmd_stats },   { "audit", cr_cmd_audit },
	{ "relay", cr_cmd_relay },
};

static const char *command_at(size_t i, const void *arg)
{
	(void)arg;
	return commands[i].name;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cr_usage_error(NULL, "%s", "no command given");
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("connrefuse %s\n", CONNREFUSE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
		return cr_help(argc > 2 ? argv[2] : NULL);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	const char *near = cr_suggest(cmd, sizeof commands / sizeof commands[0], command_at, NULL);
	if (near) {
		fprintf(stderr, "connrefuse: unknown command '%s'; did you mean '%s'? (connrefuse --help lists them)\n",
			cmd, near);
		return 2;
	}
	return cr_usage_error(NULL, "unknown command '%s'", cmd);
}
