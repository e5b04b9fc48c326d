/* connect(): match, decide, act, log.
 *
 * The hot path (no rule matches, nothing to log) is: parse the address from
 * the caller's memory, walk the rules, call the real connect(). No
 * allocation, no lock, no system call of our own, no formatting.
 *
 * A simulated refusal on a TCP socket is made by the kernel itself: the
 * socket is connected to port 0 on loopback, where nothing can ever listen,
 * in the same address form the program used (127.0.0.1, ::1, or
 * ::ffff:127.0.0.1). The kernel then answers exactly as for a real refusal,
 * for blocking and non-blocking sockets alike: -1/ECONNREFUSED, or
 * -1/EINPROGRESS followed by POLLERR and SO_ERROR = ECONNREFUSED; the
 * socket's later state (a retry, getsockname, a v6-only socket's ENETUNREACH
 * for a v4-mapped address, EISCONN on a connected socket) is the kernel's. */
#define _GNU_SOURCE
#include "current.h"
#include "decide.h"
#include "export.h"
#include "log.h"
#include "preload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double monotonic_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int socket_type(int fd)
{
	int type = 0;
	socklen_t len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return 0;
	return type;
}

/* Sleeps delay_ms in full: a signal does not shorten it. nanosleep is a
 * cancellation point, as the connect() it stands for is. */
static void delay(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Fails the connect the way the kernel would; sets errno, returns -1 (or
 * the kernel's own answer). *simulated says whether we did it. */
static int simulate(int fd, const struct sockaddr *sa, socklen_t len, const struct cr_dest *d,
		    int sotype, int err, bool *simulated)
{
	int domain = 0;
	socklen_t olen = sizeof domain;
	*simulated = false;
	/* A bad descriptor, or an address of another family than the socket's,
	 * gets the kernel's own answer. */
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &olen) != 0 || domain != sa->sa_family)
		return cr_real_connect(fd, sa, len);
	if (!sotype && !(sotype = socket_type(fd)))
		return cr_real_connect(fd, sa, len);
	*simulated = true;
	if (sotype == SOCK_STREAM && err == ECONNREFUSED && d->family != CR_FAM_UNIX) {
		union {
			struct sockaddr_in in;
			struct sockaddr_in6 in6;
		} sink;
		memset(&sink, 0, sizeof sink);
		socklen_t slen;
		if (sa->sa_family == AF_INET) {
			sink.in.sin_family = AF_INET;
			sink.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			slen = sizeof sink.in;
		} else {
			sink.in6.sin6_family = AF_INET6;
			if (d->mapped) {
				sink.in6.sin6_addr.s6_addr[10] = sink.in6.sin6_addr.s6_addr[11] = 0xff;
				sink.in6.sin6_addr.s6_addr[12] = 127;
				sink.in6.sin6_addr.s6_addr[15] = 1;
			} else {
				sink.in6.sin6_addr = in6addr_loopback;
			}
			slen = sizeof sink.in6;
		}
		return cr_real_connect(fd, (struct sockaddr *)&sink, slen);
	}
	/* Unix sockets fail at once in the kernel too; datagram sockets and the
	 * other errnos are failed at once (see README, "Fidelity"). */
	pthread_testcancel();
	errno = err;
	return -1;
}

static const char *proto_name(const struct cr_dest *d, int sotype)
{
	if (d->family == CR_FAM_UNIX)
		return "unix";
	return sotype == SOCK_STREAM ? "tcp" : sotype == SOCK_DGRAM ? "udp" : NULL;
}

static int decide_and_connect(const struct cr_ruleset *rs, int fd, const struct sockaddr *sa, socklen_t len,
			      const struct cr_dest *dest)
{
	int saved_errno = errno;
	int sotype = 0;
	if (rs->needs_sotype && dest->family != CR_FAM_UNIX)
		sotype = socket_type(fd);
	struct cr_query q = {
		.dest = dest, .sotype = sotype, .comm = cr_self.comm, .exe = cr_self.exe,
		.now = rs->needs_clock ? monotonic_now() : 0,
	};
	struct cr_verdict v;
	cr_decide(rs, &q, &v);

	if (v.delay_ms)
		delay(v.delay_ms);
	errno = saved_errno;

	int ret;
	bool simulated = false;
	if (v.simulate)
		ret = simulate(fd, sa, len, dest, sotype, v.err, &simulated);
	else
		ret = cr_real_connect(fd, sa, len);
	int ret_errno = errno, err = ret == 0 ? 0 : errno;

	/* What happened, and is it worth a line at this level? */
	enum cr_result result;
	int need = CR_LEVEL_FAILURES;
	if (ret == 0) {
		result = CR_RES_CONNECTED;
		need = CR_LEVEL_ALL;
	} else if (err == EINPROGRESS && simulated) {
		/* The program will learn the refusal from SO_ERROR: the line
		 * says what it is going to see. */
		result = CR_RES_REFUSED;
		err = v.err;
	} else if (err == EINPROGRESS) {
		result = CR_RES_IN_PROGRESS;
		need = CR_LEVEL_ALL;
	} else if (err == EALREADY || err == EISCONN) {
		return ret; /* states of a repeated connect, not outcomes */
	} else {
		result = err == ECONNREFUSED ? CR_RES_REFUSED : CR_RES_FAILED;
	}
	bool dry_run = v.dry_run && (v.action == CR_ACT_REFUSE || v.action == CR_ACT_FAIL);
	if (dry_run)
		need = CR_LEVEL_FAILURES; /* a dry run reports what it would have done */
	if (v.level < need) {
		errno = ret == 0 ? saved_errno : ret_errno;
		return ret;
	}

	if (!sotype && dest->family != CR_FAM_UNIX)
		sotype = socket_type(fd);
	struct cr_event ev = {
		.result = result, .simulated = simulated, .rule = v.rule ? v.rule->name : NULL,
		.action = v.action, .dry_run = dry_run,
		.pid = getpid(), .comm = cr_self.comm, .dest = dest, .host = NULL,
		.proto = proto_name(dest, sotype), .err = err,
	};
	cr_log_event(&rs->log, &ev);
	errno = ret == 0 ? saved_errno : ret_errno;
	return ret;
}

static int cr_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	cr_preload_init();
	struct cr_dest dest;
	if (cr_dest_from_sockaddr(sa, len, &dest) != 0)
		return cr_real_connect(fd, sa, len);

	cr_current_poll();
	struct cr_reader reader;
	const struct cr_ruleset *rs = cr_current_enter(&reader);
	/* No rule set only while the library itself initialises. */
	int ret = rs ? decide_and_connect(rs, fd, sa, len, &dest) : cr_real_connect(fd, sa, len);
	cr_current_leave(&reader);
	return ret;
}

CR_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return cr_connect(fd, sa, len);
}
