/* connrefuse check FILE: the rules as understood, or the error. */
#include "cli.h"
#include "engine/config.h"
#include "engine/rules.h"

#include <stdio.h>
#include <string.h>

/* A path pattern that can match no absolute path: '*', '?' and [...] never
 * match '/', so only a '/' after the leading stars can begin one (abstract
 * names, "@...", are not paths). */
static bool matches_no_absolute_path(const char *pattern)
{
	if (pattern[0] == '@')
		return false;
	while (*pattern == '*')
		pattern++;
	return *pattern != '/';
}

/* Warnings: the file is valid, but a key will not do what it seems to. */
static void warn_paths(const struct cr_ruleset *rs)
{
	for (unsigned i = 0; i < rs->nrules; i++)
		for (unsigned j = 0; j < rs->rules[i].npaths; j++)
			if (matches_no_absolute_path(rs->rules[i].paths[j]))
				fprintf(stderr, "connrefuse: warning: %s:%u: rule \"%s\": path \"%s\" can match no absolute path "
						"('*', '?' and [...] do not match '/'): only relative paths and abstract sockets; "
						"for every unix socket, use proto = \"unix\"\n",
					rs->source, rs->rules[i].line, rs->rules[i].name, rs->rules[i].paths[j]);
}

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
	warn_paths(rs);
	cr_ruleset_free(rs);
	return 0;
}
