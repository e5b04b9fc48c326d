/* The program's sockets that the supervisor connected to the relay (faults
 * after connect, act.c), and getpeername() on them: the destination the
 * program asked for, not the relay's loopback port.
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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

/* The destination dup's socket was relayed for, into *e; false when it was
 * not, or is no longer connected to the relay (not connected yet: the
 * kernel answers ENOTCONN). */
static bool relayed_peer(int dup, struct relayed *out)
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

bool cr_relayed_is(int dup)
{
	struct relayed e;
	return relayed_peer(dup, &e);
}

bool cr_relayed_any(void)
{
	return atomic_load(&nrelayed) != 0;
}

void cr_sv_getpeername_call(struct cr_sv *sv, const struct seccomp_notif *req, double now)
{
	uint64_t id = req->id;
	struct cr_proc *p = cr_relayed_any() ? cr_sv_proc_of(sv, req->pid, now) : NULL;
	int dup = p && p->pidfd >= 0 ? (int)syscall(SYS_pidfd_getfd, p->pidfd, (int)req->data.args[0], 0) : -1;
	struct relayed e;
	int len = 0;
	/* A length the kernel refuses (negative: EINVAL), or memory it cannot
	 * read (EFAULT): the kernel answers. */
	if (dup < 0 || !relayed_peer(dup, &e) || !cr_sv_read_memory(p, req->pid, req->data.args[2], &len, sizeof len) ||
	    len < 0) {
		if (dup >= 0)
			close(dup);
		cr_sv_respond(sv, id, 0, 0, true);
		return;
	}
	close(dup);
	/* As the kernel: the address cut to the buffer, its whole length said. */
	socklen_t full = e.len;
	size_t n = (size_t)len < full ? (size_t)len : full;
	struct iovec local[2] = { { &full, sizeof full }, { &e.peer, n } },
		     remote[2] = { { (void *)(uintptr_t)req->data.args[2], sizeof full },
				   { (void *)(uintptr_t)req->data.args[1], n } };
	unsigned k = n ? 2 : 1;
	bool written = ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 &&
		       process_vm_writev(req->pid, local, k, remote, k, 0) == (ssize_t)(sizeof full + n);
	cr_sv_respond(sv, id, 0, 0, !written);
}
