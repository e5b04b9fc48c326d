/* What both front ends do once a verdict is in: make a simulated failure
 * through the kernel's own refusal (the port-0 sink), and log an attempt's
 * outcome at the level its rule asks for. The preload hook and the seccomp
 * supervisor differ only in how they reach the socket. */
#ifndef CR_OUTCOME_H
#define CR_OUTCOME_H

#include "addr.h"
#include "decide.h"
#include "logfmt.h"
#include "logsink.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/types.h>

/* Whether a simulated errno is made by the kernel, by connecting the
 * socket to the sink (a TCP socket and an errno the kernel reports later,
 * through poll and SO_ERROR); otherwise the call fails at once, as the
 * kernel fails unix and datagram sockets. */
bool cr_sink_needed(const struct cr_dest *d, int sotype, int err);
/* The errno the program sees after the sink (at address `sink`) answered
 * kernel_err: the simulated one in place of the sink's refusal, and in
 * place of ENETUNREACH, which the sink gets in a network namespace whose
 * loopback is down (`unshare -n`; there the failure comes at once, even on
 * a non-blocking socket). A v6-only socket given a v4-mapped address keeps
 * its ENETUNREACH: the kernel's answer for any destination. */
int cr_sink_errno(int kernel_err, int err, const struct sockaddr *sink);

/* A verdict whose action is only logged, not made (dry run): a failure, a
 * drop, a fault after connect, a pass that shapes. */
bool cr_verdict_dry_run(const struct cr_verdict *v);

/* Who and what an outcome's line names. */
struct cr_attempt {
	const char *rule; /* NULL or "": none */
	enum cr_action action;
	bool dry_run; /* cr_verdict_dry_run */
	int level;    /* the attempt's log level */
	pid_t pid;    /* 0: the calling process */
	const char *comm;
	const struct cr_dest *dest; /* NULL: a name look-up (proto=dns) */
	const char *host;           /* NULL: unknown; of a look-up, the name */
	int sotype;                 /* 0: unknown (no proto= key) */
	bool dropped;               /* a drop made: result=dropped, no errno */
};

/* A real connect under way: a state, shown at level "all". */
static inline bool cr_in_progress(int err, bool simulated)
{
	return err == EINPROGRESS && !simulated;
}

/* Whether the attempt's level asks for the line of this outcome: err 0 is
 * a connect, EINPROGRESS of a real connect a state (shown at "all").
 * Inline: every attempt asks, and most log nothing. */
static inline bool cr_outcome_wanted(const struct cr_attempt *a, int err, bool simulated)
{
	if (a->dropped)
		return a->level >= CR_LEVEL_FAILURES;
	return a->level >= (cr_in_progress(err, simulated) ? CR_LEVEL_ALL : cr_level_needed(err, a->dry_run));
}
/* Writes that line; keeps errno. */
void cr_outcome_write(const struct cr_log_conf *lc, struct cr_log_state *st, const struct cr_attempt *a, int err,
		      bool simulated);

/* "tcp", "udp", "unix", or NULL when the socket type is unknown. */
const char *cr_proto_name(int family, int sotype);

#endif
