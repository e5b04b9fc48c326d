/* connect(), and the connects that bypass it (TCP Fast Open through sendto
 * and sendmsg with MSG_FASTOPEN): match, decide, act, log.
 *
 * The hot path (no rule matches, nothing to log) is: parse the address from
 * the caller's memory, walk the rules, call the real function. No
 * allocation, no lock, no system call of our own, no formatting.
 *
 * A simulated failure on a TCP socket is made by the kernel itself: the
 * socket is connected to port 0 on loopback, where nothing can ever listen,
 * in the same address form the program used (127.0.0.1, ::1, or
 * ::ffff:127.0.0.1). The kernel then answers exactly as for a real refusal,
 * for blocking and non-blocking sockets alike: -1/ECONNREFUSED, or
 * -1/EINPROGRESS followed by POLLERR and SO_ERROR = ECONNREFUSED; the
 * socket's later state (a retry, getsockname, a v6-only socket's ENETUNREACH
 * for a v4-mapped address, EISCONN on a connected socket) is the kernel's.
 * For another errno the kernel's ECONNREFUSED is replaced by it, at once on a
 * blocking socket, and on a non-blocking one where the program learns the
 * outcome: getsockopt(SO_ERROR) (hook_socket.c) or a repeated connect(). */
#define _GNU_SOURCE
#include "current.h"
#include "engine/drop.h"
#include "fdtable.h"
#include "hook_relay.h"
#include "hostcache.h"
#include "preload.h"
#include "engine/clock.h"
#include "engine/decide.h"
#include "engine/export.h"
#include "engine/outcome.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The real call an attempt stands for, made with a given address: the
 * program's, or a sink's. */
struct cr_op {
	enum { OP_CONNECT, OP_SENDTO, OP_SENDMSG } kind;
	int fd;
	const void *buf;
	size_t len;
	int flags;
	const struct msghdr *msg;
};

static ssize_t op_call(const struct cr_op *op, const struct sockaddr *sa, socklen_t salen)
{
	switch (op->kind) {
	case OP_CONNECT:
		return cr_real.connect(op->fd, sa, salen);
	case OP_SENDTO:
		return cr_real.sendto(op->fd, op->buf, op->len, op->flags, sa, salen);
	case OP_SENDMSG: {
		struct msghdr m = *op->msg;
		m.msg_name = (void *)sa;
		m.msg_namelen = salen;
		return cr_real.sendmsg(op->fd, &m, op->flags);
	}
	}
	return -1;
}

static int socket_type(int fd)
{
	int type = 0;
	socklen_t len = sizeof type;
	if (cr_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return 0;
	return type;
}

/* Connects the socket to port 0 on loopback, in the address form the
 * program used: the kernel refuses it, exactly as a real refusal. */
static ssize_t refuse_through_sink(const struct cr_op *op, const struct sockaddr *sa, const struct cr_dest *d, int err)
{
	struct sockaddr_storage sink;
	socklen_t slen = cr_sink_address(d, sa->sa_family, &sink);
	ssize_t ret = op_call(op, (struct sockaddr *)&sink, slen);
	if (ret < 0)
		errno = cr_sink_errno(errno, err, (struct sockaddr *)&sink);
	/* The kernel's state of a refused socket is not a fresh one (a retry
	 * gets ECONNABORTED first): from now on the kernel answers. */
	cr_fd_set_fresh(op->fd, false);
	return ret;
}

/* Fails at once, as a blocking connect() that the kernel refused returns. */
static ssize_t fail_now(int err)
{
	pthread_testcancel();
	errno = err;
	return -1;
}

/* Fails the attempt the way the kernel would; sets errno, returns -1 (or
 * the kernel's own answer). *simulated says whether we did it. si is what
 * the library knows of the socket. */
static ssize_t simulate(const struct cr_op *op, const struct sockaddr *sa, socklen_t len, const struct cr_dest *d,
			struct cr_sockinfo si, int sotype, int err, bool *simulated)
{
	*simulated = true;
	if (si.known && si.fresh && si.domain == sa->sa_family) {
		/* A socket we saw made and never connected: no need to ask the
		 * kernel anything. A blocking one fails at once (the kernel's
		 * refusal would leave it just as reusable); a non-blocking TCP
		 * one is refused by the kernel, through the sink. */
		if (si.nonblock && cr_sink_needed(d, si.type, err))
			return refuse_through_sink(op, sa, d, err);
		return fail_now(err);
	}
	/* Otherwise ask: a bad descriptor, an address of another family than
	 * the socket's, a connected or listening socket get the kernel's own
	 * answer, through the sink. */
	int domain = 0;
	socklen_t olen = sizeof domain;
	if (cr_real.getsockopt(op->fd, SOL_SOCKET, SO_DOMAIN, &domain, &olen) != 0 || domain != sa->sa_family ||
	    (!sotype && !(sotype = socket_type(op->fd)))) {
		*simulated = false;
		return op_call(op, sa, len);
	}
	if (cr_sink_needed(d, sotype, err))
		return refuse_through_sink(op, sa, d, err);
	/* Unix sockets fail at once in the kernel too; so do the errnos a
	 * kernel reports from connect() itself. Datagram sockets: see README. */
	return fail_now(err);
}

/* Logs one outcome, if the attempt's level asks for it; keeps errno. The
 * host name and the socket type are looked up only for a line written. */
/* The line of an outcome the level asks for: out of the hot path's way. */
__attribute__((noinline)) static void write_outcome(const struct cr_ruleset *rs, struct cr_attempt *a, int fd, int err,
						    bool simulated)
{
	int saved = errno;
	char host[CR_HOST_MAX];
	if (!a->host && cr_hostcache_get(a->dest, host, sizeof host))
		a->host = host;
	if (!a->sotype && fd >= 0 && a->dest->family != CR_FAM_UNIX)
		a->sotype = socket_type(fd);
	cr_outcome_write(&rs->log, &cr_self_log, a, err, simulated);
	errno = saved;
}

static inline void log_outcome(const struct cr_ruleset *rs, struct cr_attempt *a, int fd, int err, bool simulated)
{
	if (cr_outcome_wanted(a, err, simulated))
		write_outcome(rs, a, fd, err, simulated);
}

void cr_log_inflight(const struct cr_ruleset *rs, const struct cr_inflight *f, int err)
{
	struct cr_dest d;
	struct cr_attempt a = cr_inflight_attempt(f, &d);
	a.comm = cr_self.comm;
	log_outcome(rs, &a, -1, err, f->err != 0);
}

/* A repeated call on a socket whose connect is still in flight, to the same
 * destination: the same attempt. No new decision; its outcome, if this call
 * reports it, is logged once. */
static ssize_t same_attempt(const struct cr_ruleset *rs, const struct cr_op *op, const struct sockaddr *sa,
			    socklen_t len, const struct cr_inflight *f)
{
	ssize_t ret = op_call(op, sa, len);
	struct cr_settled s = cr_inflight_settle(f, ret >= 0 ? 0 : errno, true, false);
	if (ret < 0)
		errno = s.seen;
	struct cr_inflight mine;
	if (!s.settled || !cr_fd_pending_take(op->fd, &mine))
		return ret; /* still in flight, or another thread reported it */
	if (!mine.logged)
		cr_log_inflight(rs, &mine, s.outcome);
	return ret;
}

/* Records a connect in flight on fd: err, the simulated errno the program
 * must see (0: the kernel's own); logged, its line is written already. */
static void record_in_flight(int fd, const struct cr_attempt *a, int err, bool logged)
{
	struct cr_inflight f;
	cr_inflight_make(&f, a, err, logged);
	cr_fd_pending_set(fd, &f);
}

/* A non-blocking connect under way: its outcome comes later, through
 * SO_ERROR or a repeated connect, where it is logged. A simulated one is
 * logged now, with the errno the program is going to see. */
static void keep_in_flight(const struct cr_ruleset *rs, int fd, const struct cr_verdict *v, struct cr_attempt *a,
			   bool simulated)
{
	a->sotype = SOCK_STREAM;
	record_in_flight(fd, a, simulated ? v->err : 0, simulated);
	log_outcome(rs, a, fd, simulated ? v->err : EINPROGRESS, simulated);
}

/* action = "drop" on a TCP socket: the connect goes to the drop listener
 * (drop.h), where the kernel makes it hang until the program's own timeout.
 * It is logged first (result=dropped), and once: what ends it later (a
 * timeout) is not an outcome of ours. With no listener to be had (no
 * descriptor left), it fails at once with ETIMEDOUT, as a drop would end. */
static ssize_t drop_connect(const struct cr_ruleset *rs, const struct cr_op *op, const struct sockaddr *sa,
			    struct cr_attempt *a, int saved_errno)
{
	struct sockaddr_storage to;
	socklen_t tlen = cr_drop_address(a->dest, sa->sa_family, &to);
	cr_fd_set_fresh(op->fd, false);
	if (!tlen) {
		log_outcome(rs, a, op->fd, ETIMEDOUT, true);
		return fail_now(ETIMEDOUT);
	}
	a->dropped = true;
	log_outcome(rs, a, op->fd, 0, true);
	errno = saved_errno;
	ssize_t ret = op_call(op, (struct sockaddr *)&to, tlen);
	if (ret < 0 && errno == EINPROGRESS) {
		int saved = errno;
		record_in_flight(op->fd, a, 0, true);
		errno = saved;
	}
	return ret;
}

/* Whether a drop (or a relay) applies: a TCP socket of the address's
 * family (another family gets the kernel's own answer, as for a refusal). */
static bool droppable(int fd, const struct sockaddr *sa, const struct cr_dest *dest, struct cr_sockinfo si, int *sotype)
{
	if (dest->family == CR_FAM_UNIX)
		return false;
	if (!*sotype)
		*sotype = socket_type(fd);
	int domain = si.known ? si.domain : 0;
	socklen_t olen = sizeof domain;
	if (!si.known && cr_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &olen) != 0)
		return false;
	return *sotype == SOCK_STREAM && domain == sa->sa_family;
}

/* The connect sent through the relay (hook_relay.c): out of the hot
 * path's way, as a fault after connect is rare. */
__attribute__((noinline)) static int relay_connect(const struct cr_ruleset *rs, int fd, const struct sockaddr *sa,
						   socklen_t len, const struct cr_verdict *v, const char *host,
						   int *ret)
{
	struct cr_relay_req rq = { .fd = fd,
				   .domain = sa->sa_family,
				   .sa = sa,
				   .len = len,
				   .v = v,
				   .rule = v->rule ? cr_rule_name(rs, v->rule) : NULL,
				   .host = host,
				   .log = &rs->log,
				   .socket = rs->relay_socket };
	return cr_relay_divert(&rq, ret);
}

/* A new attempt: decide, wait out a delay, then fail it ourselves or make
 * the real call; log what came of it. si is the descriptor's entry, read
 * once by the caller. */
static ssize_t decide_and_call(const struct cr_ruleset *rs, const struct cr_op *op, const struct sockaddr *sa,
			       socklen_t len, const struct cr_dest *dest, struct cr_sockinfo si)
{
	int saved_errno = errno;
	int sotype = si.known ? si.type : 0;
	if (!sotype && rs->needs_sotype && dest->family != CR_FAM_UNIX)
		sotype = socket_type(op->fd);
	char host[CR_HOST_MAX];
	struct cr_query q = {
		.dest = dest,
		.sotype = sotype,
		.comm = cr_self.comm,
		.exe = cr_self.exe,
		.now = rs->needs_clock ? cr_monotonic_now() : 0,
		.host = rs->needs_host && cr_hostcache_get(dest, host, sizeof host) ? host : NULL,
	};
	struct cr_verdict v;
	cr_decide(rs, &q, &v);

	if (v.delay_ms)
		cr_sleep_ms(v.delay_ms);
	errno = saved_errno;
	if (v.drop && droppable(op->fd, sa, dest, si, &sotype)) {
		struct cr_attempt a = { .rule = v.rule ? cr_rule_name(rs, v.rule) : NULL,
					.action = v.action,
					.level = v.level,
					.comm = cr_self.comm,
					.dest = dest,
					.host = q.host,
					.sotype = SOCK_STREAM };
		return drop_connect(rs, op, sa, &a, saved_errno);
	}

	ssize_t ret;
	bool simulated = false;
	int relayed;
	/* A fault after connect: the relay connects to the destination first
	 * (hook_relay.c); TCP Fast Open's connects pass untouched. */
	if (v.relay && op->kind == OP_CONNECT && droppable(op->fd, sa, dest, si, &sotype) &&
	    relay_connect(rs, op->fd, sa, len, &v, q.host, &relayed))
		ret = relayed;
	else if (v.simulate)
		ret = simulate(op, sa, len, dest, si, sotype, v.err, &simulated);
	else
		ret = op_call(op, sa, len);
	int ret_errno = errno, err = ret >= 0 ? 0 : errno;
	/* A connect that went through, or is under way, ends freshness; one
	 * that failed leaves the socket as reusable as before. */
	if (si.known && !simulated)
		cr_fd_set_fresh(op->fd, err != 0 && err != EINPROGRESS && err != EALREADY && err != EISCONN);

	struct cr_attempt a = { .rule = v.rule ? cr_rule_name(rs, v.rule) : NULL,
				.action = v.action,
				.dry_run = cr_verdict_dry_run(&v),
				.level = v.level,
				.comm = cr_self.comm,
				.dest = dest,
				.host = q.host,
				.sotype = sotype };
	if (err == EINPROGRESS)
		keep_in_flight(rs, op->fd, &v, &a, simulated);
	else if (err != EALREADY && err != EISCONN) /* those are states of a repeated connect, not outcomes */
		log_outcome(rs, &a, op->fd, err, simulated);
	errno = ret >= 0 ? saved_errno : ret_errno;
	return ret;
}

/* A connect under the rule set rs: the same attempt again, or a new one. */
static ssize_t attempt_under(const struct cr_ruleset *rs, const struct cr_op *op, const struct sockaddr *sa,
			     socklen_t len, const struct cr_dest *dest)
{
	struct cr_fd_view fv = cr_fd_look(op->fd);
	struct cr_inflight f;
	if (fv.pending && cr_fd_pending_peek(op->fd, &f) && cr_inflight_same_dest(&f, dest))
		return same_attempt(rs, op, sa, len, &f);
	if (fv.pending)
		cr_fd_pending_clear(op->fd); /* another destination: a new attempt */
	return decide_and_call(rs, op, sa, len, dest, fv.sock);
}

static ssize_t attempt(const struct cr_op *op, const struct sockaddr *sa, socklen_t len)
{
	cr_preload_init();
	struct cr_dest dest;
	if (cr_dest_from_sockaddr(sa, len, &dest) != 0)
		return op_call(op, sa, len);

	cr_current_poll();
	struct cr_reader reader __attribute__((cleanup(cr_current_leave_scope)));
	const struct cr_ruleset *rs = cr_current_enter(&reader);
	/* No rule set only while the library itself initialises. */
	ssize_t ret = rs ? attempt_under(rs, op, sa, len, &dest) : op_call(op, sa, len);
	return ret;
}

CR_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct cr_op op = { .kind = OP_CONNECT, .fd = fd };
	return (int)attempt(&op, sa, len);
}

/* TCP Fast Open: the connect happens inside sendto/sendmsg. */
CR_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len)
{
	struct cr_op op = { .kind = OP_SENDTO, .fd = fd, .buf = buf, .len = n, .flags = flags };
	if (!(flags & MSG_FASTOPEN) || !sa) {
		if (!cr_real.sendto)
			cr_preload_init();
		return op_call(&op, sa, len);
	}
	return attempt(&op, sa, len);
}

CR_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!cr_real.sendmsg)
		cr_preload_init();
	if (!(flags & MSG_FASTOPEN) || !msg || !msg->msg_name)
		return cr_real.sendmsg(fd, msg, flags);
	struct cr_op op = { .kind = OP_SENDMSG, .fd = fd, .flags = flags, .msg = msg };
	return attempt(&op, msg->msg_name, msg->msg_namelen);
}
