/* The rule set in force, and its hot reload.
 *
 * Readers (every connect) enter a read section, use the rule set, and leave:
 * two atomic increments on a shared counter, no lock. A reload (at most once
 * a second, when the file changed) builds a whole new rule set, swaps the
 * pointer, and retires the old one; a retired set is freed only once every
 * reader that could still hold it has left. Rules that a reload leaves
 * unchanged keep their counters and clocks. */
#ifndef CR_CURRENT_H
#define CR_CURRENT_H

#include "engine/rules.h"

struct cr_reader {
	unsigned slot;
};

/* Installs the first rule set; path is the file to watch (NULL: none;
 * syslog_only: the system file, whose reload errors never reach stderr);
 * start_dir: the folder a reloaded set's relative log.file is joined with.
 * bind_process: every rule set loaded is bound to this process (each
 * process pattern is asked once, lazily, not per connect). */
void cr_current_start(struct cr_ruleset *rs, const char *path, const char *start_dir, bool syslog_only,
		      bool bind_process);
/* The shared schedule states, before cr_current_start: the run's (run,
 * NULL or "": not under connrefuse run) and the rules file's (file: its
 * state file's path; NULL: no rules file). Opens them (the file's made if
 * missing, but for the system file without scheduled rules), says once if
 * one cannot be used, and points rs's scheduled rules at them. */
struct cr_share_paths {
	const char *run;
	const char *file;
};
void cr_current_share(struct cr_ruleset *rs, const struct cr_share_paths *sp, bool syslog_only);
const struct cr_ruleset *cr_current_enter(struct cr_reader *r);
void cr_current_leave(const struct cr_reader *r);
/* The same for __attribute__((cleanup)): a section around a call that can
 * block (a connect, a delay) is left even when the thread is cancelled
 * there; the library is built with -fexceptions so that cancellation
 * unwinds through its frames and runs this. */
static inline void cr_current_leave_scope(struct cr_reader *r)
{
	cr_current_leave(r);
}
/* On a connect, before entering: reloads if a second has passed since the
 * last look and the file changed. Returns quickly otherwise. */
void cr_current_poll(void);
/* The same now, whatever the time: the file is looked at, and loaded if it
 * changed. */
void cr_current_reload_now(void);
/* For the child of a fork: no other thread exists, so no reader either. */
void cr_current_after_fork(void);

#endif
