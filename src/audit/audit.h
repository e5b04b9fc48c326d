/* connrefuse audit: the kernel's view of every failed TCP connect of the
 * machine, and of ICMP errors on its connected UDP sockets (eBPF), turned into the library's log line. A front end of its
 * own: it includes the engine only, and the command (cli/audit.c) calls it.
 * load.c loads the kernel program (connaudit.bpf.c, through its libbpf
 * skeleton) and reads its ring buffer; line.c makes each record a line. */
#ifndef CR_AUDIT_H
#define CR_AUDIT_H

#include "engine/logsink.h"
#include "engine/rules.h"

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "event.h"

/* ---- load.c: the kernel program ---- */

#define CR_AUDIT_RING_DEFAULT (256 * 1024)

struct cr_audit_opts {
	int uid;             /* -1: every user's connects */
	const char *cgroup;  /* NULL: every cgroup; else this one and those under it */
	unsigned ring_bytes; /* the ring buffer: a power of two, at least a page; 0: the default */
};

struct cr_audit;
/* Loads and attaches the program. NULL with why and what to do in msg
 * (no BTF, no privilege, a cgroup that does not exist). */
struct cr_audit *cr_audit_open(const struct cr_audit_opts *o, char *msg, size_t size);
/* Waits up to timeout_ms for records and hands each to fn. Returns the
 * number handed, or -1 (errno) when waiting failed (EINTR: a signal). */
int cr_audit_poll(struct cr_audit *a, int timeout_ms, void (*fn)(const struct cr_audit_record *r, void *arg),
		  void *arg);
/* What the auditor does not follow here, and why ("" when all): say it. */
const char *cr_audit_note(const struct cr_audit *a);
/* Records the kernel could not hand over (ring buffer full) so far. */
unsigned long long cr_audit_lost(const struct cr_audit *a);
void cr_audit_close(struct cr_audit *a);

/* The cgroup v2 mount ("" when none) and the path of cgroup id there,
 * as /proc/PID/cgroup names it ("/" for the root; "" when unknown). */
const char *cr_audit_cgroup_root(void);
void cr_audit_cgroup_path(unsigned long long id, char *out, size_t size);

/* ---- line.c: a record as the library's line ---- */

struct cr_audit_sink {
	const struct cr_log_conf *conf;
	struct cr_log_state *state;
};

struct cr_audit_log {
	const struct cr_ruleset *rules; /* NULL: no filter; else rules with action "log" choose what is logged */
	bool filter;                    /* the rules hold at least one "log" rule */
	struct cr_audit_sink sinks[2];  /* stdout, and the config's sinks */
	unsigned nsinks;
	unsigned long long lost_seen; /* kernel losses already counted in the summaries */
};

/* Prepares the filter of rules (may be NULL). */
void cr_audit_log_init(struct cr_audit_log *l, const struct cr_ruleset *rules);
/* Logs one record, unless a filter or the library's own sink leaves it out.
 * Returns whether it was logged. */
bool cr_audit_log_record(struct cr_audit_log *l, const struct cr_audit_record *r);
/* Counts the kernel's losses up to lost, then writes each sink's summary
 * of lines suppressed or dropped, if any. */
void cr_audit_log_summary(struct cr_audit_log *l, unsigned long long lost);

#endif
