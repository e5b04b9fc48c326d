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
	atomic_ulong dropped;     /* syslog could not take them, not yet reported */
	atomic_ulong dropped_total;
};
#define CR_LOG_STATE_INIT        \
	{                        \
		.window_sec = -1 \
	}

/* Sends an event to the sinks of lc, within its rate limit. */
void cr_log_event(const struct cr_log_conf *lc, struct cr_log_state *st, const struct cr_event *ev);
/* A message that is not an event (a config error, a reload): syslog, the
 * file sink, and stderr if asked; no rate limit. */
void cr_log_message(const struct cr_log_conf *lc, int priority, bool to_stderr, const char *msg);
/* Writes the summary of what was suppressed or dropped, if anything was. */
void cr_log_summary(const struct cr_log_conf *lc, struct cr_log_state *st, const char *comm);

#endif
