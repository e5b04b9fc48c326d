/* connrefuse check FILE: the rules as understood, or the error. */
#include "cli.h"
#include "engine/config.h"
#include "engine/image.h"
#include "engine/rules.h"

#include <sys/stat.h>

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
static void warn_paths(const struct cr_draft *rs)
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
	if (argc == 3 && strcmp(argv[1], "--image") == 0)
		return cr_check_image(argv[2]);
	if (argc != 2)
		return cr_usage_error("check", "%s", "check takes one FILE, or --image ROOT");
	char err[1024];
	struct cr_ruleset *rs = cr_config_load(argv[1], err, sizeof err);
	if (!rs || cr_image_verify(rs, err, sizeof err) != 0) {
		fprintf(stderr, "connrefuse: %s\n", err);
		cr_ruleset_free(rs);
		return 1;
	}
	struct cr_draft *d = cr_ruleset_decode(rs);
	if (!d) {
		fprintf(stderr, "connrefuse: out of memory\n");
		cr_ruleset_free(rs);
		return 1;
	}
	if (rs->compiled)
		printf("# compiled, format %u: %u rule%s, %zu bytes, source text hash %016llx, checksum verified\n",
		       rs->format, rs->nrules, rs->nrules == 1 ? "" : "s", rs->image_len,
		       (unsigned long long)rs->source_hash);
	if (rs->compiled && rs->format < CR_IMAGE_VERSION)
		fprintf(stderr, "connrefuse: note: %s is of format %u, an earlier connrefuse's; compile its source "
			"again for format %u, whose unix path look-ups are faster\n",
			argv[1], rs->format, CR_IMAGE_VERSION);
	cr_config_print(d, stdout);
	warn_paths(d);
	struct stat st;
	if (!rs->compiled && stat(argv[1], &st) == 0 && (size_t)st.st_size > CR_RELOAD_TEXT_MAX)
		fprintf(stderr, "connrefuse: note: %s is %lld bytes of text, more than the %u KiB a running program "
				"reloads: a change is not reloaded until the program restarts; compile it "
				"(connrefuse compile %s) for hot reload at any size\n",
			argv[1], (long long)st.st_size, CR_RELOAD_TEXT_MAX >> 10, argv[1]);
	cr_draft_free(d);
	cr_ruleset_free(rs);
	return 0;
}
