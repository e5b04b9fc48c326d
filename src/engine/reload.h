/* Hot reload, as both front ends do it: a changed file (looked at no more
 * than once a second by the caller) is loaded whole into a new rule set; a
 * file that fails to load is reported and the rules in force stay. */
#ifndef CR_RELOAD_H
#define CR_RELOAD_H

#include "rules.h"

#include <stdbool.h>
#include <sys/stat.h>

struct cr_watch {
	const char *path;
	struct stat st;        /* of the file the rules in force came from; zero: missing */
	bool syslog_only;      /* the system file: its errors never go to stderr */
	size_t text_max;       /* the largest text file reloaded (a compiled one: any size) */
	const char *start_dir; /* a relative log.file is joined with it (config_file.h); NULL: left */
};

/* text_max: CR_RELOAD_TEXT_MAX inside a program (the reload runs inside a
 * connect), CR_CONFIG_MAX_BYTES outside it. */
void cr_watch_start(struct cr_watch *w, const char *path, size_t text_max);
/* Whether the file changed since the last look (identity, size, mtime);
 * remembers what it saw. A file missing then and now has not changed. */
bool cr_watch_changed(struct cr_watch *w);
/* Loads the changed file (its relative log.file joined with start_dir). On success logs "config reloaded: PATH (N
 * rules)" to the new set's sinks and returns it; on failure logs "config
 * error: ...; the rules loaded before stay in force" to those in force
 * (and stderr, but for the system file) and returns NULL. */
struct cr_ruleset *cr_reload(const struct cr_watch *w, const struct cr_log_conf *in_force);

#endif
