/* connrefuse check FILE: the rules as understood, or the error. */
#include "cli.h"
#include "engine/config.h"

#include <stdio.h>
#include <string.h>

int cr_cmd_check(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cr_help("check");
	if (argc != 2)
		return cr_usage_error("check", "%s", "check takes one FILE");
	char err[1024];
	struct cr_ruleset *rs = cr_config_load(argv[1], err, sizeof err);
	if (!rs) {
		fprintf(stderr, "connrefuse: %s\n", err);
		return 1;
	}
	cr_config_print(rs, stdout);
	cr_ruleset_free(rs);
	return 0;
}
