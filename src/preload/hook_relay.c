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
#include <unistd.h>

/* ---- the sockets relayed: their original destinations ---- */

/* Keyed by the socket's inode, so that a dup of it answers too; looked at
 * only once a socket was relayed. An entry answers only while its socket
 * is still connected to the relay's port, so one left by a socket closed
 * (close() is not followed: a dup may live on) never answers for another;
 * when the table is full, the entries whose socket is no longer at its
 * descriptor are forgotten, and beyond, a new socket is not kept (its
 * getpeername says the relay's address). Lock-free (a fork taken while a
 * lock is held would leave the child's getpeername waiting for good): a
 * slot is claimed with a compare-and-swap, filled, then published; a
 * reader copies it and keeps the copy only if the slot still holds the
 * same socket. */
#define PEERS_MAX 256
#define SLOT_FILLING UINT64_MAX
static struct {
	_Atomic uint64_t ino; /* 0: free */
	int fd;               /* its descriptor when it was relayed */
	uint16_t port;        /* the relay's port it is connected to */
	socklen_t len;
	struct sockaddr_storage peer;
} peers[PEERS_MAX];
static atomic_bool any_relayed;

static uint64_t socket_ino(int fd)
{
	struct stat st;
	return cr_fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? (uint64_t)st.st_ino : 0;
}

/* Forgets the entries of socket ino, or (ino 0) those whose socket is no
 * longer at its descriptor: whether any was. */
static bool forget(uint64_t ino)
{
	bool any = false;
	for (unsigned i = 0; i < PEERS_MAX; i++) {
		uint64_t at = atomic_load_explicit(&peers[i].ino, memory_order_acquire);
		if (!at || at == SLOT_FILLING || (ino ? at != ino : socket_ino(peers[i].fd) == at))
			continue;
		/* (A slot filled again meanwhile holds another socket: kept.) */
		any |= atomic_compare_exchange_strong(&peers[i].ino, &at, 0);
	}
	return any;
}

static bool claim(int fd, const struct sockaddr *sa, socklen_t len, uint16_t port, uint64_t ino)
{
	for (unsigned i = 0; i < PEERS_MAX; i++) {
		uint64_t free_slot = 0;
		if (!atomic_compare_exchange_strong(&peers[i].ino, &free_slot, SLOT_FILLING))
			continue;
		peers[i].fd = fd;
		peers[i].port = port;
		peers[i].len = len;
		memcpy(&peers[i].peer, sa, len);
		atomic_store_explicit(&peers[i].ino, ino, memory_order_release);
		atomic_store(&any_relayed, true);
		return true;
	}
	return false;
}

static void remember(int fd, const struct sockaddr *sa, socklen_t len, uint16_t port)
{
	uint64_t ino = socket_ino(fd);
	if (!ino || ino == SLOT_FILLING || len > sizeof peers[0].peer)
		return;
	forget(ino); /* a socket of that number closed behind the hooks' back */
	if (!claim(fd, sa, len, port, ino) && forget(0))
		claim(fd, sa, len, port, ino);
}

/* Whether fd is connected to the relay's port. */
static bool at_relay(int fd, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	return cr_real.getpeername(fd, (struct sockaddr *)&ss, &len) == 0 && cr_relay_port_of(&ss) == port;
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
	for (unsigned i = 0; ino && i < PEERS_MAX; i++) {
		if (atomic_load_explicit(&peers[i].ino, memory_order_acquire) != ino)
			continue;
		struct sockaddr_storage peer = peers[i].peer;
		socklen_t plen = peers[i].len;
		uint16_t port = peers[i].port;
		atomic_thread_fence(memory_order_acquire); /* the copy, before the check again */
		if (atomic_load_explicit(&peers[i].ino, memory_order_relaxed) != ino || plen > sizeof peer)
			continue;
		if (!at_relay(fd, port))
			break;
		/* As the kernel: the address cut to the buffer, its whole length said. */
		memcpy(sa, &peer, *len < plen ? *len : plen);
		*len = plen;
		break;
	}
	errno = saved;
	return ret;
}

/* ---- asking the relay ---- */

/* One line a process: why a fault after connect (or shaping) was not made. */
static void say_once(const struct cr_relay_req *q, const char *why)
{
	static atomic_bool said;
	cr_relay_unreached(&said, q->log, cr_self_log.notice_stderr, q->rule, q->v->action == CR_ACT_PASS, why);
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
	int fd = cr_relay_dial(path);
	if (fd < 0) {
		char why[400];
		if (errno == ENAMETOOLONG)
			snprintf(why, sizeof why, "%s names a path too long for a unix socket", named);
		else
			snprintf(why, sizeof why, "none answers at %s (%s; %s)", path, strerror(errno), named);
		say_once(q, why);
	}
	return fd;
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
	/* On the stack (under a kilobyte): no allocation on a connect. */
	struct cr_relay_ask ask;
	cr_relay_ask_make(&ask, q->sa, q->len, q->domain, q->v, q->rule, q->host, cr_self.comm);
	struct cr_relay_result r;
	errno = saved;
	bool made = cr_relay_divert_fd(ctl, q->fd, &ask, cr_real.connect, cr_monotonic_now() + CR_RELAY_WAIT_S, &r);
	cr_real.close(ctl);
	if (!made) {
		/* No answer: said. The destination's own answer (the real connect
		 * gets it again from the kernel), or a relay that is full:
		 * untouched. */
		if (r.io != 0)
			say_once(q, cr_relay_silence(r.io));
		else if (r.status == CR_RELAY_REFUSED)
			say_once(q, "it refused the ask (a relay of another connrefuse version?)");
		errno = saved;
		return 0;
	}
	if (r.named)
		remember(q->fd, q->sa, q->len, r.port);
	*ret = r.ret;
	errno = r.ret == 0 ? saved : r.err;
	return 1;
}
