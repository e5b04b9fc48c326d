/* The event line of the spec: logfmt key=value pairs in a fixed order.
 * Pure formatting: no system call, no allocation; the unit tests and the
 * fuzzer call it directly. */
#ifndef CR_LOGFMT_H
#define CR_LOGFMT_H

#include "addr.h"
#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

enum cr_result {
	CR_RES_REFUSED,
	CR_RES_FAILED,
	CR_RES_CONNECTED,
	CR_RES_IN_PROGRESS,
	CR_RES_DROPPED,
	CR_RES_RESOLVED, /* a look-up that succeeded (level all) */
	/* faults after connect, when they fire */
	CR_RES_RESET,
	CR_RES_CLOSED,
	CR_RES_STALLED,
	CR_RES_SHAPED /* a pass that shapes, when its connection ends (level all) */
};

struct cr_event {
	enum cr_result result;
	bool simulated;
	const char *source; /* who saw it: "kernel" for connrefuse audit; NULL: left out (the library) */
	const char *rule;   /* NULL: left out */
	enum cr_action action;
	bool dry_run;
	pid_t pid; /* 0: the calling process */
	const char *comm;
	const struct cr_dest *dest;
	const char *host;   /* NULL: left out */
	const char *proto;  /* "tcp", "udp", "unix"; NULL: left out */
	int err;            /* 0 for connected */
	bool has_ids;       /* uid, euid and cgroup given (cr_log_event reads them when not) */
	int uid, euid;      /* real and effective uid; euid is written when it differs */
	const char *cgroup; /* NULL or "/" (the root): left out */
	/* A fault after connect: bytes each way before it, and when. */
	bool traffic;
	unsigned long long sent, received; /* from the program, toward it */
	unsigned long long after_ms;       /* since the connect */
};

#define CR_LOG_LINE_MAX 2048
/* The longest rule name the config accepts (config_rule.c): every line
 * names its rule whole, and a connect in flight keeps it (inflight.h). */
#define CR_RULE_NAME_MAX 255

/* Formats one line (no newline): logfmt, or with json one JSON object with
 * the same keys in the same order (numbers as numbers). Returns its length;
 * the buffer is always NUL-terminated. In JSON a key that does not fit in
 * what is left of the buffer is left out whole: the line stays valid. */
size_t cr_log_format_as(const struct cr_event *ev, bool json, char *buf, size_t size);
size_t cr_log_format(const struct cr_event *ev, char *buf, size_t size); /* logfmt */

/* A line built key by key, in either format. */
struct cr_line {
	char *buf;
	size_t size, pos;
	bool json;
};
void cr_line_begin(struct cr_line *l, char *buf, size_t size, bool json);
void cr_line_str(struct cr_line *l, const char *key, const char *value);
void cr_line_mem(struct cr_line *l, const char *key, const char *value, size_t n);
void cr_line_num(struct cr_line *l, const char *key, long long n);
void cr_line_hex(struct cr_line *l, const char *key, long long n);
size_t cr_line_end(struct cr_line *l); /* the line's length */
/* Appends key=value with logfmt quoting and escaping. */
size_t cr_log_append(char *buf, size_t size, size_t pos, const char *key, const char *value, size_t vlen);
size_t cr_log_append_str(char *buf, size_t size, size_t pos, const char *key, const char *value);
size_t cr_log_append_num(char *buf, size_t size, size_t pos, const char *key, long long n, bool hex);

/* ---- the stamp: what a line read alone needs (log.file, JSON) ---- */

/* A UTC time in its parts (no lock, no time zone: gmtime_r takes glibc's
 * time-zone lock, which a fork can leave held). */
struct cr_utc {
	long long year;
	unsigned mon, day, hour, min, sec; /* mon 1..12, day 1..31 */
};
void cr_utc_of(long long t, struct cr_utc *u);
/* RFC 3339, UTC, microseconds: "2026-12-05T23:44:38.123456Z". Returns its
 * length; the buffer is always NUL-terminated. */
size_t cr_log_time(const struct timespec *ts, char *buf, size_t size);

/* Each line of log.file, and each JSON line, starts with time= and
 * machine= (SPEC.md, Log line); syslog's own header says both instead. */
struct cr_stamp {
	struct timespec time; /* CLOCK_REALTIME */
	const char *machine;  /* the host name */
};
/* What the stamp may add to a line (the machine escaped at its longest). */
#define CR_LOG_STAMP_MAX 512
/* Begins a line with the stamp's keys: time=... machine=... in logfmt,
 * {"time":"...","machine":"..." in JSON. */
void cr_line_begin_stamped(struct cr_line *l, char *buf, size_t size, bool json, const struct cr_stamp *s);
/* Appends the keys of a line made by cr_log_format_as (or cr_line_end) in
 * the same format: logfmt text, or a JSON object whose braces are dropped. */
void cr_line_keys_of(struct cr_line *l, const char *line, size_t len);

/* The result an outcome errno is logged as (0: connected). */
enum cr_result cr_result_of(int err);
/* The log level an outcome needs to be written: failures at "failures",
 * successes at "all"; a dry run's would-be failures at "failures" too. */
static inline int cr_level_needed(int err, bool dry_run)
{
	return err || dry_run ? CR_LEVEL_FAILURES : CR_LEVEL_ALL;
}

#endif
