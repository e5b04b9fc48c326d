/* Logging: the logfmt event line of the spec, and the sinks (syslog, stderr,
 * file) behind a per-process rate limit. Nothing here blocks, takes a lock,
 * allocates, or keeps a descriptor open between lines: each sink opens,
 * writes without waiting and closes, through raw system calls (so no
 * interposed function and no cancellation point is reached). Lines that
 * syslog cannot take at once are dropped and counted. */
#ifndef CR_LOG_H
#define CR_LOG_H

#include "addr.h"
#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum cr_result { CR_RES_REFUSED, CR_RES_FAILED, CR_RES_CONNECTED, CR_RES_IN_PROGRESS };

struct cr_event {
	enum cr_result result;
	bool simulated;
	const char *rule;           /* NULL: left out */
	enum cr_action action;
	bool dry_run;
	pid_t pid;                  /* 0: the calling process */
	const char *comm;
	const struct cr_dest *dest;
	const char *host;           /* NULL: left out */
	const char *proto;          /* "tcp", "udp", "unix"; NULL: left out */
	int err;                    /* 0 for connected */
};

#define CR_LOG_LINE_MAX 2048

/* Formats one line (no newline). Returns its length; the buffer is always
 * NUL-terminated. Pure: the unit tests call it directly. */
size_t cr_log_format(const struct cr_event *ev, char *buf, size_t size);
/* Appends key=value with logfmt quoting and escaping. */
size_t cr_log_append(char *buf, size_t size, size_t pos, const char *key, const char *value, size_t vlen);

/* The result an outcome errno is logged as (0: connected). */
enum cr_result cr_result_of(int err);
/* The log level an outcome needs to be written: failures at "failures",
 * successes at "all"; a dry run's would-be failures at "failures" too. */
int cr_level_needed(int err, bool dry_run);

/* Sends an event to the sinks of lc, within its rate limit. */
void cr_log_event(const struct cr_log_conf *lc, const struct cr_event *ev);
/* A message that is not an event (a config error, a reload): syslog, the
 * file sink, and stderr if asked; no rate limit. */
void cr_log_message(const struct cr_log_conf *lc, int priority, bool to_stderr, const char *msg);
/* Writes the summary of what was suppressed or dropped, if anything was. */
void cr_log_summary(const struct cr_log_conf *lc, const char *comm);

/* Counters, for tests and the exit summary. */
unsigned long cr_log_dropped_total(void);

/* Where syslog lines go: "/dev/log". */
extern const char *cr_log_syslog_path;

#endif
