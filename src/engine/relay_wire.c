/* The relay's exchange (relay_wire.h), shared by the library, the seccomp
 * supervisor and the relay: poll, then a non-blocking send or recv, until
 * the message has passed or its time is up; and the asker's side of one
 * relayed connect, the library's and the supervisor's alike. */
#include "relay_wire.h"
#include "clock.h"
#include "sys.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>

int cr_relay_exchange(int fd, void *buf, size_t n, bool out, double deadline)
{
	size_t done = 0;
	while (done < n) {
		double left = deadline - cr_monotonic_now();
		if (left <= 0)
			return -2;
		struct pollfd p = { .fd = fd, .events = out ? POLLOUT : POLLIN };
		if (poll(&p, 1, (int)(left * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!p.revents)
			continue;
		ssize_t k = out ? send(fd, (char *)buf + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT)
				: recv(fd, (char *)buf + done, n - done, MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (k > 0)
			done += (size_t)k;
	}
	return 0;
}

int cr_relay_dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = cr_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (cr_connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		int err = errno;
		cr_close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Whether an IPv6 socket's destination is an IPv4 one (::ffff:a.b.c.d). */
static bool v4_mapped(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

void cr_relay_ask_make(struct cr_relay_ask *a, const struct sockaddr *sa, socklen_t len, int domain,
		       const struct cr_verdict *v, const char *rule, const char *host, const char *comm)
{
	memset(a, 0, sizeof *a);
	a->magic = CR_RELAY_MAGIC;
	a->version = CR_RELAY_VERSION;
	a->dst_len = len <= sizeof a->dst ? len : sizeof a->dst;
	a->family = v4_mapped(sa) ? AF_INET : domain;
	a->action = (uint8_t)v->action;
	a->level = (uint8_t)v->level;
	a->fault = v->fault;
	a->shape = v->shape;
	memcpy(&a->dst, sa, a->dst_len);
	snprintf(a->rule, sizeof a->rule, "%s", rule ? rule : "");
	snprintf(a->host, sizeof a->host, "%s", host ? host : "");
	snprintf(a->comm, sizeof a->comm, "%s", comm ? comm : "");
}

/* The relay's listener, in the form of the program's destination: 127.0.0.1,
 * ::1, or ::ffff:127.0.0.1 (so that getsockname's form is the one the
 * program's connect would have had). */
static socklen_t loopback(const struct sockaddr *dst, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (dst->sa_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		if (v4_mapped(dst)) {
			static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };
			memcpy(&s6->sin6_addr, mapped, sizeof mapped);
		}
		s6->sin6_port = htons(port);
		return sizeof *s6;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s4->sin_port = htons(port);
	return sizeof *s4;
}

uint16_t cr_relay_port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
					       : ((const struct sockaddr_in *)ss)->sin_port);
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 ? cr_relay_port_of(&ss) : 0;
}

bool cr_relay_divert_fd(int ctl, int fd, const struct cr_relay_ask *a,
			int (*connect_fn)(int, const struct sockaddr *, socklen_t), double deadline,
			struct cr_relay_result *r)
{
	struct cr_relay_answer an = { 0 };
	*r = (struct cr_relay_result){ .io = cr_relay_exchange(ctl, (void *)a, sizeof *a, true, deadline) };
	if (r->io == 0)
		r->io = cr_relay_exchange(ctl, &an, sizeof an, false, deadline);
	if (r->io == 0 && an.magic != CR_RELAY_MAGIC)
		r->io = -1;
	if (r->io != 0)
		return false;
	r->status = an.status;
	if (an.status != CR_RELAY_OK)
		return false; /* the destination's own answer, or a relay that is full */
	r->port = an.port;
	struct sockaddr_storage to;
	socklen_t tlen = loopback((const struct sockaddr *)&a->dst, an.port, &to);
	r->ret = connect_fn(fd, (struct sockaddr *)&to, tlen);
	r->err = r->ret == 0 ? 0 : errno;
	struct cr_relay_bound b = { .magic = CR_RELAY_MAGIC };
	if (r->ret == 0 || r->err == EINPROGRESS)
		b.port = local_port(fd);
	r->named = cr_relay_exchange(ctl, &b, sizeof b, true, deadline) == 0 && b.port;
	return true;
}

const char *cr_relay_silence(int io)
{
	return io == -2 ? "it did not answer in time" : "it closed without answering (it ended?)";
}

void cr_relay_unreached(atomic_bool *said, const struct cr_log_conf *log, bool to_stderr, const char *rule,
			bool shapes_only, const char *why)
{
	if (atomic_exchange(said, true))
		return;
	char msg[700];
	snprintf(msg, sizeof msg, "rule %s: %s needs a relay, and %s: its connections pass untouched",
		 rule ? rule : "(default)", shapes_only ? "shaping" : "a fault after connect", why);
	cr_log_message(log, LOG_ERR, to_stderr, msg);
}
