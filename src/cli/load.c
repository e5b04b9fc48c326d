/* What the commands that read a rules file share: loading it (check,
 * compile, match, run) and checking where its lines go (check, run). */
#include "cli.h"
#include "engine/config.h"
#include "engine/image.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cr_rules_load(const char *path, unsigned flags, struct cr_rules *r)
{
	char err[1024];
	memset(r, 0, sizeof *r);
	r->set = cr_config_load(path, err, sizeof err);
	if (r->set && (flags & CR_RULES_VERIFY) && cr_image_verify(r->set, err, sizeof err) != 0)
		cr_rules_free(r);
	else if (r->set && (flags & CR_RULES_DRAFT) && !(r->draft = cr_ruleset_to_draft(r->set))) {
		snprintf(err, sizeof err, "%s: out of memory", path);
		cr_rules_free(r);
	}
	if (!r->set)
		fprintf(stderr, "connrefuse: %s\n", err);
	return r->set ? 0 : -1;
}

void cr_rules_free(struct cr_rules *r)
{
	cr_draft_free(r->draft);
	cr_ruleset_free(r->set);
	memset(r, 0, sizeof *r);
}

int cr_check_log_file(const char *file, char *msg, size_t size)
{
	if (!*file)
		return 0;
	char dir[4096];
	const char *slash = strrchr(file, '/');
	snprintf(dir, sizeof dir, "%.*s", slash ? (slash == file ? 1 : (int)(slash - file)) : 1, slash ? file : ".");
	struct stat st;
	const char *why = NULL;
	if (stat(dir, &st) != 0)
		why = "its folder does not exist: create it (mkdir -p), or choose another log.file";
	else if (!S_ISDIR(st.st_mode))
		why = "its folder is not a folder";
	else if (access(file, F_OK) == 0 ? access(file, W_OK) != 0 : access(dir, W_OK | X_OK) != 0)
		why = "this user cannot write it: give it a file it may write, or run as its owner";
	if (!why)
		return 0;
	snprintf(msg, size, "log.file \"%s\": %s; no line could be written there", file, why);
	return -1;
}
