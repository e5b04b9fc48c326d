/* Where lines go: syslog (/dev/log, never waiting), stderr and a file,
 * behind a rate limit. The counters are the caller's (struct
 * cr_log_state, one a process), so that nothing here is hidden state. */
#ifndef CR_LOGSINK_H
#define CR_LOGSINK_H

#include "logfmt.h"
#include "rules.h"

#include <stdatomic.h>
#include <stdbool.h>

struct cr_log_state {
	atomic_long window_sec;   /* the rate limit's current second */
	atomic_uint window_count; /* lines in it so far */
	atomic_ulong suppressed;  /* over the rate, not yet reported */
	atomic_ulong dropped;     /* lost (below), not yet reported */
	atomic_ulong dropped_total;
	/* A line is lost when a sink failed to take it (a busy syslog, a file
	 * that cannot be written) or when no sink took it (no syslog receiver
	 * and nothing else): counted in dropped, and said once a process, at
	 * the first line no sink took or a file could not take. Where: set by
	 * the owner before the first line. */
	bool notice_stderr; /* on stderr (a program the user started), else syslog (host-wide) */
	atomic_bool noticed;
	/* The machine's name (uname), read once and again when a minute has
	 * gone by (a host renamed at boot, after its daemons started): a
	 * sequence lock over words, so that threads read it without a lock. */
	atomic_uint machine_seq; /* odd while it is written */
	atomic_long machine_at;  /* the monotonic second it was read; -1: never */
	atomic_ulong machine[9]; /* 72 bytes: uname's 65, NUL-terminated */
};
#define CR_LOG_STATE_INIT                           \
	{                                           \
		.window_sec = -1, .machine_at = -1, \
	}

/* Sends an event to the sinks of lc, within its rate limit. */
void cr_log_event(const struct cr_log_conf *lc, struct cr_log_state *st, const struct cr_event *ev);
/* A message that is not an event (a config error, a reload): syslog, the
 * file sink, and stderr if asked; no rate limit. */
void cr_log_message(const struct cr_log_conf *lc, int priority, bool to_stderr, const char *msg);
/* Writes the summary of what was suppressed or dropped, if anything was.
 * A summary that no sink takes keeps its counts for the next one. */
void cr_log_summary(const struct cr_log_conf *lc, struct cr_log_state *st, const char *comm);
/* In a child after fork: a machine name that another thread was writing
 * at the fork is read again. */
void cr_log_after_fork(struct cr_log_state *st);

#endif
