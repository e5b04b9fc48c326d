#include "reload.h"
#include "sys.h"
#include "config.h"
#include "config_file.h"
#include "logsink.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

void cr_watch_start(struct cr_watch *w, const char *path, size_t text_max)
{
	w->path = path;
	w->syslog_only = false;
	w->text_max = text_max;
	w->start_dir = NULL;
	if (!path || cr_stat(path, &w->st) != 0)
		memset(&w->st, 0, sizeof w->st);
}

bool cr_watch_changed(struct cr_watch *w)
{
	struct stat st;
	if (cr_stat(w->path, &st) != 0)
		memset(&st, 0, sizeof st);
	if (st.st_ino == w->st.st_ino && st.st_dev == w->st.st_dev && st.st_size == w->st.st_size &&
	    st.st_mtim.tv_sec == w->st.st_mtim.tv_sec && st.st_mtim.tv_nsec == w->st.st_mtim.tv_nsec)
		return false;
	w->st = st;
	return true;
}

struct cr_ruleset *cr_reload(const struct cr_watch *w, const struct cr_log_conf *in_force)
{
	char err[1024], msg[1400];
	struct cr_ruleset *fresh = cr_config_load_bounded(w->path, w->text_max, err, sizeof err);
	if (!fresh) {
		snprintf(msg, sizeof msg, "config error: %s; the rules loaded before stay in force", err);
		cr_log_message(in_force, LOG_ERR, !w->syslog_only, msg);
		return NULL;
	}
	cr_log_file_absolute(&fresh->log, w->start_dir);
	snprintf(msg, sizeof msg, "config reloaded: %s (%u rules)", w->path, fresh->nrules);
	cr_log_message(&fresh->log, LOG_INFO, false, msg);
	return fresh;
}
