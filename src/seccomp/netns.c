/* Drops for sockets of another network namespace than the supervisor's (a
 * program that ran `unshare -n`, or one in a container's namespace). The
 * drop listeners of engine/drop.h live in the supervisor's namespace, where
 * such a socket would reach nothing (a refusal, or ENETUNREACH) instead of
 * hanging. Its listeners are made in the socket's own namespace instead, by
 * a short thread that enters it (setns, which needs CAP_SYS_ADMIN there and
 * in the supervisor's), and kept for the run. */
#define _GNU_SOURCE
#include "seccomp.h"
#include "engine/drop.h"

#include <linux/sockios.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CR_MAX_NETNS 16

/* The namespaces met so far, with their listeners ([0] IPv4, [1] IPv6). */
static struct {
	dev_t dev;
	ino_t ino;
	int fd[2];
	uint16_t port[2];
} spaces[CR_MAX_NETNS];
static unsigned nspaces;
static pthread_mutex_t spaces_lock = PTHREAD_MUTEX_INITIALIZER;

struct entry_job {
	int nsfd, af, fd;
	uint16_t port;
};

/* In a thread of its own, which ends in the namespace it entered. */
static void *make_inside(void *arg)
{
	struct entry_job *job = arg;
	if (setns(job->nsfd, CLONE_NEWNET) == 0)
		job->fd = cr_drop_listener_make(job->af, &job->port);
	return NULL;
}

static int make_in(int nsfd, int af, uint16_t *port)
{
	struct entry_job job = { .nsfd = nsfd, .af = af, .fd = -1 };
	pthread_t t;
	if (pthread_create(&t, NULL, make_inside, &job) != 0)
		return -1;
	pthread_join(t, NULL);
	*port = job.port;
	return job.fd;
}

/* The port of the namespace's listener of family i, made if need be; 0 if
 * none can be had (no rights to enter it, the table full). */
static uint16_t port_in(int nsfd, const struct stat *ns, int i)
{
	unsigned k;
	for (k = 0; k < nspaces; k++)
		if (spaces[k].dev == ns->st_dev && spaces[k].ino == ns->st_ino)
			break;
	if (k == nspaces) {
		if (nspaces == CR_MAX_NETNS)
			return 0;
		spaces[k].dev = ns->st_dev;
		spaces[k].ino = ns->st_ino;
		spaces[k].fd[0] = spaces[k].fd[1] = -1;
		nspaces++;
	}
	if (spaces[k].fd[i] < 0)
		spaces[k].fd[i] = make_in(nsfd, i ? AF_INET6 : AF_INET, &spaces[k].port[i]);
	return spaces[k].fd[i] < 0 ? 0 : spaces[k].port[i];
}

socklen_t cr_sv_drop_address(int dup, const struct cr_dest *d, int sa_family, struct sockaddr_storage *out)
{
	/* EPERM: a namespace the supervisor holds no rights in, which for a
	 * socket of its descendants is its own (an unprivileged supervisor's). */
	int nsfd = ioctl(dup, SIOCGSKNS);
	if (nsfd < 0)
		return cr_drop_address(d, sa_family, out);
	struct stat ns, own;
	if (fstat(nsfd, &ns) != 0 || stat("/proc/thread-self/ns/net", &own) != 0 ||
	    (ns.st_dev == own.st_dev && ns.st_ino == own.st_ino)) {
		close(nsfd);
		return cr_drop_address(d, sa_family, out);
	}
	pthread_mutex_lock(&spaces_lock);
	uint16_t port = port_in(nsfd, &ns, d->family == CR_FAM_INET6 ? 1 : 0);
	pthread_mutex_unlock(&spaces_lock);
	close(nsfd);
	return port ? cr_drop_address_at(d, sa_family, port, out) : 0;
}

bool cr_sv_own_netns(int dup, pid_t tgid)
{
	/* The socket's own namespace needs CAP_NET_ADMIN there; without it,
	 * the process's (where it made the socket, unless it moved since). */
	struct stat ns, own;
	int nsfd = ioctl(dup, SIOCGSKNS);
	bool known = nsfd >= 0 && fstat(nsfd, &ns) == 0;
	if (nsfd >= 0)
		close(nsfd);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)tgid);
	if (!known && stat(path, &ns) != 0)
		return false;
	return stat("/proc/thread-self/ns/net", &own) == 0 && ns.st_dev == own.st_dev && ns.st_ino == own.st_ino;
}
