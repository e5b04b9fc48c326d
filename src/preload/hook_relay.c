/* Faults after connect, the library's side: a connect that a rule with
 * reset, close or stall decided is sent through a relay (src/relay/,
 * engine/relay_wire.h): connrefuse run's, or connrefuse relay's at the
 * rules' relay.socket, and getpeername() on that socket
 * says the destination the program asked for.
 *
 * The relay connects to the destination first. Only when that succeeded
 * is the program's socket connected to the relay; when it failed, the real
 * connect is made, so the kernel answers the program as it would have (a
 * refusal, an unreachable network, a drop that hangs). No relay, or one
 * that does not answer: the connection passes untouched, and one error
 * line a process says why. */
#define _GNU_SOURCE
#include "preload.h"
#include "hook_relay.h"
#include "engine/clock.h"
#include "engine/relay_wire.h"
#include "engine/sys.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h> /* secure_getenv */
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

/* How long a connect waits for the relay: its own wait for the destination
 * (3 s, relay.c) and a margin. */
#define RELAY_WAIT_S 5.0

/* ---- the sockets relayed: their original destinations ---- */

/* Keyed by the socket's inode, so that a dup of it answers too; looked at
 * only once a socket was relayed. Lock-free (a fork taken while a lock is
 * held would leave the child's getpeername waiting for good): a slot is
 * claimed with a compare-and-swap, filled, then published; a reader copies
 * it and keeps the copy only if the slot still holds the same socket. */
#define PEERS_MAX 256
#define SLOT_FILLING UINT64_MAX
static struct {
	_Atomic uint64_t ino; /* 0: free */
	socklen_t len;
	struct sockaddr_storage peer;
} peers[PEERS_MAX];
static atomic_bool any_relayed;

static uint64_t socket_ino(int fd)
{
	struct stat st;
	return cr_fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? (uint64_t)st.st_ino : 0;
}

static void forget_ino(uint64_t ino)
{
	for (unsigned i = 0; i < PEERS_MAX; i++) {
		uint64_t at = ino;
		atomic_compare_exchange_strong(&peers[i].ino, &at, 0);
	}
}

static void remember(int fd, const struct sockaddr *sa, socklen_t len)
{
	uint64_t ino = socket_ino(fd);
	if (!ino || ino == SLOT_FILLING || len > sizeof peers[0].peer)
		return;
	forget_ino(ino); /* a socket of that number closed behind the hooks' back */
	for (unsigned i = 0; i < PEERS_MAX; i++) {
		uint64_t free_slot = 0;
		if (!atomic_compare_exchange_strong(&peers[i].ino, &free_slot, SLOT_FILLING))
			continue;
		peers[i].len = len;
		memcpy(&peers[i].peer, sa, len);
		atomic_store_explicit(&peers[i].ino, ino, memory_order_release);
		atomic_store(&any_relayed, true);
		return;
	}
}

void cr_relay_forget(int fd)
{
	if (!atomic_load_explicit(&any_relayed, memory_order_relaxed))
		return;
	int saved = errno;
	uint64_t ino = socket_ino(fd);
	errno = saved;
	if (ino)
		forget_ino(ino);
}

CR_EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	if (!cr_real.getpeername)
		cr_preload_init();
	int ret = cr_real.getpeername(fd, sa, len);
	if (ret != 0 || !atomic_load_explicit(&any_relayed, memory_order_relaxed) || !len)
		return ret;
	int saved = errno;
	uint64_t ino = socket_ino(fd);
	errno = saved;
	for (unsigned i = 0; ino && i < PEERS_MAX; i++) {
		if (atomic_load_explicit(&peers[i].ino, memory_order_acquire) != ino)
			continue;
		struct sockaddr_storage peer = peers[i].peer;
		socklen_t plen = peers[i].len;
		atomic_thread_fence(memory_order_acquire); /* the copy, before the check again */
		if (atomic_load_explicit(&peers[i].ino, memory_order_relaxed) != ino || plen > sizeof peer)
			continue;
		/* As the kernel: the address cut to the buffer, its whole length said. */
		memcpy(sa, &peer, *len < plen ? *len : plen);
		*len = plen;
		break;
	}
	return ret;
}

/* ---- asking the relay ---- */

/* One line a process: why a fault after connect was not made. */
static void say_once(const struct cr_relay_req *q, const char *why)
{
	static atomic_bool said;
	if (atomic_exchange(&said, true))
		return;
	char msg[700];
	snprintf(msg, sizeof msg,
		 "rule %s: a fault after connect needs a relay, and %s: its connections pass untouched",
		 q->rule ? q->rule : "(default)", why);
	cr_log_message(q->log, LOG_ERR, cr_self_log.notice_stderr, msg);
}

/* The relay's socket, connected; -1 after saying why. connrefuse run's own
 * relay (CR_RELAY_ENV) first, then the rules' relay.socket (connrefuse
 * relay, the service). */
static int relay_socket(const struct cr_relay_req *q)
{
	const char *path = secure_getenv("CONNREFUSE_RELAY"); /* CR_RELAY_ENV */
	const char *named = CR_RELAY_ENV ", connrefuse run's";
	if (!path || !*path) {
		path = q->socket;
		named = "the rules' relay.socket: is connrefuse relay running there?";
	}
	if (!path || !*path) {
		say_once(q,
			 "none is named (" CR_RELAY_ENV " is not set: the program was not started by connrefuse run; "
			 "the rules have no relay.socket for connrefuse relay)");
		return -1;
	}
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sun.sun_path) {
		say_once(q, "its path is too long for a unix socket");
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = cr_real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		say_once(q, "no socket could be made to reach it");
		return -1;
	}
	if (cr_real.connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		char why[400];
		snprintf(why, sizeof why, "none answers at %s (%s; %s)", path, strerror(errno), named);
		say_once(q, why);
		cr_real.close(fd);
		return -1;
	}
	return fd;
}

/* Whether an IPv6 socket's destination is an IPv4 one (::ffff:a.b.c.d). */
static bool v4_mapped(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
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

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

int cr_relay_divert(const struct cr_relay_req *q, int *ret)
{
	int saved = errno;
	if (q->len > sizeof(struct sockaddr_storage))
		return 0; /* (the kernel takes at most that much of an address) */
	int ctl = relay_socket(q);
	if (ctl < 0) {
		errno = saved;
		return 0;
	}
	/* On the stack (under a kilobyte): no allocation on a connect. Zeroed
	 * whole first: no byte of this process's stack goes to the relay. */
	struct cr_relay_ask ask, *a = &ask;
	memset(a, 0, sizeof *a);
	a->magic = CR_RELAY_MAGIC;
	a->version = CR_RELAY_VERSION;
	a->dst_len = q->len;
	a->family = v4_mapped(q->sa) ? AF_INET : q->domain;
	a->action = (uint8_t)q->v->action;
	a->level = (uint8_t)q->v->level;
	a->fault = q->v->fault;
	memcpy(&a->dst, q->sa, q->len);
	snprintf(a->rule, sizeof a->rule, "%s", q->rule ? q->rule : "");
	snprintf(a->host, sizeof a->host, "%s", q->host ? q->host : "");
	snprintf(a->comm, sizeof a->comm, "%s", cr_self.comm);
	double deadline = cr_monotonic_now() + RELAY_WAIT_S;
	struct cr_relay_answer an = { 0 };
	int io = cr_relay_exchange(ctl, a, sizeof *a, true, deadline);
	if (io == 0)
		io = cr_relay_exchange(ctl, &an, sizeof an, false, deadline);
	if (io != 0 || an.magic != CR_RELAY_MAGIC) {
		say_once(q, io == -2 ? "it did not answer in time" : "it closed without answering (it ended?)");
		cr_real.close(ctl);
		errno = saved;
		return 0;
	}
	if (an.status == CR_RELAY_REFUSED)
		say_once(q, "it refused the ask (a relay of another connrefuse version?)");
	if (an.status != CR_RELAY_OK) {
		/* The destination's own answer (the real connect gets it again
		 * from the kernel), or a relay that is full: untouched. */
		cr_real.close(ctl);
		errno = saved;
		return 0;
	}
	struct sockaddr_storage to;
	socklen_t tlen = loopback(q->sa, an.port, &to);
	errno = saved;
	*ret = cr_real.connect(q->fd, (struct sockaddr *)&to, tlen);
	int err = errno;
	struct cr_relay_bound b = { .magic = CR_RELAY_MAGIC };
	if (*ret == 0 || err == EINPROGRESS)
		b.port = local_port(q->fd);
	if (cr_relay_exchange(ctl, &b, sizeof b, true, deadline) == 0 && b.port)
		remember(q->fd, q->sa, q->len);
	cr_real.close(ctl);
	errno = err;
	return 1;
}
