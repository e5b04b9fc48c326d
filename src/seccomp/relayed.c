/* The program's sockets that the supervisor connected to the relay (faults
 * after connect, act.c), with the destination the program asked for, which
 * getpeername() on them says (act.c), not the relay's loopback port.
 *
 * getpeername is trapped only when the rules at start have a fault after
 * connect (filter.c). A socket is known by its inode, so that a dup of it,
 * or a child that inherited it, is answered too; an entry holds only while
 * the socket is still connected to the relay's port (checked at each
 * answer), so a number the kernel gave again is never answered for. The
 * supervisor does not see a close: when the table is full, entries whose
 * socket is no longer at its descriptor in its process are forgotten, then
 * the oldest gives way. */
#define _GNU_SOURCE
#include "seccomp.h"
#include "engine/relay_wire.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELAYED_MAX 1024

struct relayed {
	ino_t ino; /* 0: free */
	pid_t tgid;
	int fd;        /* its descriptor in tgid when it was relayed */
	uint16_t port; /* the relay's port it is connected to */
	socklen_t len;
	struct sockaddr_storage peer; /* the destination the program asked for */
	unsigned long seq;
};
static struct relayed relayed[RELAYED_MAX];
static pthread_mutex_t relayed_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int nrelayed; /* none: getpeername continues at once */

static ino_t socket_ino(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? st.st_ino : 0;
}

static void forget(struct relayed *e)
{
	e->ino = 0;
	atomic_fetch_sub(&nrelayed, 1);
}

/* Whether e's socket is still at its descriptor in its process. */
static bool still_there(const struct relayed *e)
{
	char path[64], link[64], want[64];
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)e->tgid, e->fd);
	ssize_t n = readlink(path, link, sizeof link - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)e->ino);
	return strcmp(link, want) == 0;
}

/* A free entry (under the lock): a free one, else one whose socket is gone,
 * else the oldest. */
static struct relayed *free_entry(void)
{
	struct relayed *oldest = &relayed[0];
	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < RELAYED_MAX; i++) {
			struct relayed *e = &relayed[i];
			if (!e->ino)
				return e;
			if (pass == 1 && !still_there(e)) {
				forget(e);
				return e;
			}
			if (e->seq < oldest->seq)
				oldest = e;
		}
	forget(oldest);
	return oldest;
}

void cr_relayed_keep(const struct cr_call *c, uint16_t port)
{
	static unsigned long seq;
	ino_t ino = socket_ino(c->dup);
	if (!ino)
		return;
	pthread_mutex_lock(&relayed_lock);
	struct relayed *e = NULL;
	for (unsigned i = 0; i < RELAYED_MAX && !e; i++)
		if (relayed[i].ino == ino)
			e = &relayed[i]; /* a socket of that number closed unseen */
	if (!e) {
		e = free_entry();
		atomic_fetch_add(&nrelayed, 1);
	}
	*e = (struct relayed){
		.ino = ino, .tgid = c->pid, .fd = c->fd, .port = port, .len = c->salen, .peer = c->sa, .seq = ++seq
	};
	pthread_mutex_unlock(&relayed_lock);
}

/* The socket's real peer port: the relay's, while it is relayed. */
static uint16_t peer_port(int dup)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	return getpeername(dup, (struct sockaddr *)&ss, &len) == 0 ? cr_relay_port_of(&ss) : 0;
}

/* dup's entry, into *out; false when it has none, or is no longer
 * connected to the relay (not connected yet: the kernel answers ENOTCONN). */
static bool relayed_entry(int dup, struct relayed *out)
{
	if (atomic_load(&nrelayed) == 0)
		return false;
	ino_t ino = socket_ino(dup);
	bool found = false;
	pthread_mutex_lock(&relayed_lock);
	for (unsigned i = 0; ino && i < RELAYED_MAX && !found; i++)
		if (relayed[i].ino == ino) {
			*out = relayed[i];
			found = true;
		}
	pthread_mutex_unlock(&relayed_lock);
	return found && peer_port(dup) == out->port;
}

bool cr_relayed_peer(int dup, struct sockaddr_storage *peer, socklen_t *len)
{
	struct relayed e;
	if (!relayed_entry(dup, &e))
		return false;
	*peer = e.peer;
	*len = e.len;
	return true;
}

bool cr_relayed_is(int dup)
{
	struct relayed e;
	return relayed_entry(dup, &e);
}

bool cr_relayed_any(void)
{
	return atomic_load(&nrelayed) != 0;
}
