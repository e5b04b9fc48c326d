#include "outcome.h"
#include "logfmt.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

bool cr_sink_needed(const struct cr_dest *d, int sotype, int err)
{
	return d->family != CR_FAM_UNIX && sotype == SOCK_STREAM && cr_err_reported_later(err);
}

int cr_sink_errno(int kernel_err, int err, const struct sockaddr *sink)
{
	bool mapped = sink->sa_family == AF_INET6 &&
		      IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sink)->sin6_addr);
	return kernel_err == ECONNREFUSED || (kernel_err == ENETUNREACH && !mapped) ? err : kernel_err;
}

bool cr_verdict_dry_run(const struct cr_verdict *v)
{
	/* Every action that does something; a pass only when it shapes. */
	return v->dry_run &&
	       (v->action == CR_ACT_REFUSE || v->action == CR_ACT_FAIL || v->action == CR_ACT_DROP ||
		cr_action_after_connect(v->action) || (v->action == CR_ACT_PASS && cr_shape_any(&v->shape)));
}

const char *cr_proto_name(int family, int sotype)
{
	if (family == CR_FAM_UNIX)
		return "unix";
	return sotype == SOCK_STREAM ? "tcp" : sotype == SOCK_DGRAM ? "udp" : NULL;
}

void cr_outcome_write(const struct cr_log_conf *lc, struct cr_log_state *st, const struct cr_attempt *a, int err,
		      bool simulated)
{
	int saved = errno;
	struct cr_event ev = {
		.result = a->dropped                       ? CR_RES_DROPPED
			  : cr_in_progress(err, simulated) ? CR_RES_IN_PROGRESS
			  : !a->dest && !err               ? CR_RES_RESOLVED
							   : cr_result_of(err),
		.simulated = simulated,
		.rule = a->rule && *a->rule ? a->rule : NULL,
		.action = a->action,
		.dry_run = a->dry_run,
		.pid = a->pid,
		.comm = a->comm,
		.dest = a->dest,
		.host = a->host,
		.proto = a->dest ? cr_proto_name(a->dest->family, a->sotype) : "dns",
		.err = err,
	};
	cr_log_event(lc, st, &ev);
	errno = saved;
}
