/* Answering a trapped call: letting it continue, or making its outcome
 * on the program's own socket (a duplicate taken with pidfd_getfd), and
 * logging it as the library does. */
#define _GNU_SOURCE
#include "seccomp.h"
#include "engine/clock.h"
#include "engine/drop.h"
#include "engine/outcome.h"
#include "engine/relay_wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

void cr_sv_respond(const struct cr_sv *sv, uint64_t id, long val, int err, bool cont)
{
	struct seccomp_notif_resp resp = {
		.id = id, .val = val, .error = err ? -err : 0, .flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0
	};
	if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) {
		/* ENOENT: the call was interrupted (a signal) or the process is gone */
	}
}

/* Writes an attempt's line, if its level asks for it; dup, our duplicate of
 * the socket, tells its type when the attempt does not. */
static void write_line(struct cr_sv *sv, const struct cr_ruleset *rs, struct cr_attempt *a, int dup, int err,
		       bool simulated)
{
	if (!cr_outcome_wanted(a, err, simulated))
		return;
	if (!a->sotype && dup >= 0) /* for the line's proto */
		getsockopt(dup, SOL_SOCKET, SO_TYPE, &a->sotype, &(socklen_t){ sizeof a->sotype });
	cr_outcome_write(&rs->log, &sv->log, a, err, simulated);
}

/* Logs an outcome as the library does (a dry run reports the real outcome,
 * marked, at level failures). Always before the call is answered, as the
 * library logs before connect() returns: the program, still waiting in its
 * call, is there while its uid and cgroup are read from /proc (one that
 * exits at once would otherwise leave a line without them). */
static void log_call(struct cr_sv *sv, const struct cr_call *c, int err, bool simulated)
{
	struct cr_attempt a = cr_sv_attempt_of(c);
	write_line(sv, c->gen->rs, &a, c->dup, err, simulated);
}

/* After a question on a socket with an entry (SO_ERROR, a second connect)
 * was answered: an outcome not there yet keeps the entry for the next
 * question (which waits on the state lock till then); one that is there is
 * logged, for a pass under audit, with the pid and comm of its process p. */
void cr_sv_later_answered(struct cr_sv *sv, const struct cr_later *e, const struct cr_proc *p,
			  const struct cr_settled *s)
{
	if (!s->settled) {
		cr_later_keep(e);
	} else if (!e->f.logged) {
		struct cr_dest d;
		struct cr_attempt a = cr_inflight_attempt(&e->f, &d);
		a.pid = p->tgid;
		a.comm = p->comm;
		write_line(sv, sv->current->rs, &a, -1, s->outcome, false);
	}
}

/* Makes the simulated failure on the program's socket and answers. */
static void act_simulate(struct cr_sv *sv, struct cr_call *c)
{
	int err = c->v.err;
	if (cr_sink_needed(&c->dest, c->sotype, err)) {
		/* The kernel refuses the socket itself: its state, and what a
		 * non-blocking program sees next (POLLERR, SO_ERROR), are real. */
		struct sockaddr_storage sink;
		socklen_t slen = cr_sink_address(&c->dest, c->sa.ss_family, &sink);
		int rc = connect(c->dup, (struct sockaddr *)&sink, slen),
		    kerr = rc == 0 ? 0 : cr_sink_errno(errno, err, (struct sockaddr *)&sink);
		if (kerr == EINPROGRESS && err != ECONNREFUSED)
			cr_later_put(c, err);
		log_call(sv, c, kerr == EINPROGRESS ? err : kerr, kerr == err || kerr == EINPROGRESS);
		cr_sv_respond(sv, c->id, rc, kerr, false);
		return;
	}
	/* Unix and datagram sockets, and the errnos connect() itself returns,
	 * fail at once in the kernel too. */
	log_call(sv, c, err, true);
	cr_sv_respond(sv, c->id, -1, err, false);
}

bool cr_sv_may_connect_for(const struct cr_call *c)
{
	return c->dest.family != CR_FAM_UNIX;
}

/* Answers a connect the supervisor made on the program's socket with the
 * kernel's result, as a pass: a non-blocking one's outcome is logged where
 * the program learns it (SO_ERROR trapped, or a second connect). */
static void answer_connect(struct cr_sv *sv, const struct cr_call *c, int rc, int err)
{
	if (err == EINPROGRESS && sv->so_error_trapped)
		cr_later_put(c, 0);                            /* before the program can ask */
	if (err != EINTR && err != EALREADY && err != EISCONN) /* those are states, not outcomes */
		log_call(sv, c, err, false);
	cr_sv_respond(sv, c->id, rc, err, false);
}

/* A call that passes, under audit: the supervisor makes the connect itself,
 * on the program's socket, to learn and log its outcome. On a non-blocking
 * socket the outcome comes later, where the program asks for it (SO_ERROR,
 * trapped, or a second connect). Otherwise the call continues unseen. */
static void act_pass(struct cr_sv *sv, struct cr_call *c)
{
	bool audit = c->v.level >= CR_LEVEL_FAILURES && cr_sv_may_connect_for(c);
	if (!audit || (c->nonblock && !sv->so_error_trapped) || c->nr != __NR_connect || c->dup < 0) {
		cr_sv_respond(sv, c->id, 0, 0, true);
		return;
	}
	int rc = connect(c->dup, (struct sockaddr *)&c->sa, c->salen);
	answer_connect(sv, c, rc, rc == 0 ? 0 : errno);
}

/* A fault after connect (reset, close, stall): the library's part of the
 * relay's exchange (engine/relay_wire.h), on the program's socket. The
 * relay connects to the destination first: when that fails (or no relay
 * answers, said once), the call passes, so the kernel answers the program
 * as it would have; otherwise the program's socket is connected to the
 * relay's loopback port, in its own blocking mode as with the sink (a
 * non-blocking one gets EINPROGRESS, and its outcome where it asks), and
 * kept for getpeername (relayed.c). */
static void act_relay(struct cr_sv *sv, struct cr_call *c)
{
	static atomic_bool said;
	const struct cr_log_conf *log = &c->gen->rs->log;
	int ctl = sv->relay ? cr_relay_dial(sv->relay) : -1;
	if (ctl < 0) {
		char why[300];
		if (sv->relay)
			snprintf(why, sizeof why, "none answers at %s (%s)", sv->relay, strerror(errno));
		else
			snprintf(why, sizeof why,
				 "run has none (it starts one for rules with such a fault at start, and says when it cannot)");
		cr_relay_unreached(&said, log, sv->log.notice_stderr, c->rule, c->v.action == CR_ACT_PASS, why);
		act_pass(sv, c);
		return;
	}
	struct cr_relay_ask ask;
	cr_relay_ask_make(&ask, (struct sockaddr *)&c->sa, c->salen, c->domain, &c->v, c->rule, NULL, c->comm);
	ask.pid = c->pid;
	struct cr_relay_result r;
	bool made = cr_relay_divert_fd(ctl, c->dup, &ask, connect, cr_monotonic_now() + CR_RELAY_WAIT_S, &r);
	close(ctl);
	if (!made) {
		if (r.io != 0)
			cr_relay_unreached(&said, log, sv->log.notice_stderr, c->rule, c->v.action == CR_ACT_PASS,
					   cr_relay_silence(r.io));
		act_pass(sv, c);
		return;
	}
	if (r.named)
		cr_relayed_keep(c, r.port);
	answer_connect(sv, c, r.ret, r.err);
}

/* action = "drop": the program's socket is connected to the drop listener
 * (engine/drop.h, held by the supervisor), where the kernel makes it hang;
 * a blocking one holds this thread until the program's own timeout. */
static void act_drop(struct cr_sv *sv, struct cr_call *c)
{
	struct sockaddr_storage to;
	socklen_t tlen = cr_sv_drop_address(c->dup, &c->dest, c->sa.ss_family, &to);
	if (!tlen) {
		log_call(sv, c, ETIMEDOUT, true);
		cr_sv_respond(sv, c->id, -1, ETIMEDOUT, false);
		return;
	}
	struct cr_attempt a = cr_sv_attempt_of(c);
	a.sotype = SOCK_STREAM;
	a.dropped = true;
	if (cr_outcome_wanted(&a, 0, true))
		cr_outcome_write(&c->gen->rs->log, &sv->log, &a, 0, true);
	int rc = connect(c->dup, (struct sockaddr *)&to, tlen);
	cr_sv_respond(sv, c->id, rc, rc == 0 ? 0 : errno, false);
}

void cr_sv_act(struct cr_sv *sv, struct cr_call *c)
{
	if (c->v.delay_ms)
		cr_sleep_ms(c->v.delay_ms);
	if (c->v.drop && c->dup >= 0) {
		act_drop(sv, c);
	} else if (c->v.simulate && c->dup >= 0) {
		act_simulate(sv, c);
	} else if (c->v.relay && c->dup >= 0) {
		act_relay(sv, c);
	} else if (c->v.simulate) {
		/* The socket could not be reached (pidfd_getfd refused): fail
		 * the call at once, as on a blocking socket. */
		log_call(sv, c, c->v.err, true);
		cr_sv_respond(sv, c->id, -1, c->v.err, false);
	} else {
		act_pass(sv, c);
	}
}

/* getsockopt(SO_ERROR) on a socket the supervisor keeps an entry for: the
 * supervisor reads (and so clears) the error on its duplicate and gives it
 * to the program, the simulated errno in place of the kernel's refusal; a
 * pass under audit has its outcome logged, once it has one. */
void cr_sv_so_error_call(struct cr_sv *sv, const struct seccomp_notif *req, double now)
{
	uint64_t id = req->id;
	struct cr_proc *p = cr_later_any() ? cr_sv_proc_of(sv, req->pid, now) : NULL;
	int dup = p && p->pidfd >= 0 ? (int)syscall(SYS_pidfd_getfd, p->pidfd, (int)req->data.args[0], 0) : -1;
	struct cr_later e;
	bool held = dup >= 0 && cr_later_take(p->tgid, dup, &e);
	socklen_t olen = 0;
	if (!held || !cr_sv_read_memory(p, req->pid, req->data.args[4], &olen, sizeof olen) || olen < sizeof(int)) {
		if (dup >= 0)
			close(dup);
		cr_sv_respond(sv, id, 0, 0, true);
		return;
	}
	int so = 0;
	getsockopt(dup, SOL_SOCKET, SO_ERROR, &so, &(socklen_t){ sizeof so });
	/* Neither failed nor connected: still under way, asked too early. A
	 * pass under audit asks whether it connected, to log it and let go. */
	struct sockaddr_storage peer;
	bool connected = !so && !e.f.err &&
			 getpeername(dup, (struct sockaddr *)&peer, &(socklen_t){ sizeof peer }) == 0;
	struct cr_settled s = cr_inflight_settle(&e.f, so, false, connected);
	so = s.seen;
	olen = sizeof so;
	struct iovec local[2] = { { &so, sizeof so }, { &olen, sizeof olen } },
		     remote[2] = { { (void *)(uintptr_t)req->data.args[3], sizeof so },
				   { (void *)(uintptr_t)req->data.args[4], sizeof olen } };
	bool written = ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 &&
		       process_vm_writev(req->pid, local, 2, remote, 2, 0) == (ssize_t)(sizeof so + sizeof olen);
	cr_sv_later_answered(sv, &e, p, &s);
	cr_sv_respond(sv, id, 0, 0, !written);
	close(dup);
}

void cr_sv_getpeername_call(struct cr_sv *sv, const struct seccomp_notif *req, double now)
{
	uint64_t id = req->id;
	struct cr_proc *p = cr_relayed_any() ? cr_sv_proc_of(sv, req->pid, now) : NULL;
	int dup = p && p->pidfd >= 0 ? (int)syscall(SYS_pidfd_getfd, p->pidfd, (int)req->data.args[0], 0) : -1;
	struct sockaddr_storage peer;
	socklen_t full = 0;
	int len = 0;
	/* A length the kernel refuses (negative: EINVAL), or memory it cannot
	 * read (EFAULT): the kernel answers. */
	bool relayed = dup >= 0 && cr_relayed_peer(dup, &peer, &full);
	if (dup >= 0)
		close(dup);
	if (!relayed || !cr_sv_read_memory(p, req->pid, req->data.args[2], &len, sizeof len) || len < 0) {
		cr_sv_respond(sv, id, 0, 0, true);
		return;
	}
	/* As the kernel: the address cut to the buffer, its whole length said. */
	size_t n = (size_t)len < full ? (size_t)len : full;
	struct iovec local[2] = { { &full, sizeof full }, { &peer, n } },
		     remote[2] = { { (void *)(uintptr_t)req->data.args[2], sizeof full },
				   { (void *)(uintptr_t)req->data.args[1], n } };
	unsigned k = n ? 2 : 1;
	bool written = ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 &&
		       process_vm_writev(req->pid, local, k, remote, k, 0) == (ssize_t)(sizeof full + n);
	cr_sv_respond(sv, id, 0, 0, !written);
}
