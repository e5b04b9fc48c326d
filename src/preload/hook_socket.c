/* Descriptor hooks. getsockopt(SO_ERROR) is where most programs learn the
 * outcome of a non-blocking connect: a real failure is logged there, with its
 * destination, once; a simulated errno other than a refusal replaces the
 * kernel's ECONNREFUSED. The others keep the table of connects in flight
 * honest: a descriptor number that is closed, replaced or made anew forgets
 * its destination. Each is one array store on top of the real call. */
#define _GNU_SOURCE
#include "current.h"
#include "engine/drop.h"
#include "fdtable.h"
#include "preload.h"
#include "engine/export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC /* linux/close_range.h; musl's headers lack it */
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void outcome(int fd, int *value)
{
	struct cr_inflight f;
	if (!cr_fd_pending_peek(fd, &f))
		return;
	bool connected = false;
	if (*value == 0 && cr_inflight_wants_peer(&f)) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof peer;
		int saved = errno;
		connected = getpeername(fd, (struct sockaddr *)&peer, &len) == 0;
		errno = saved;
	}
	struct cr_settled s = cr_inflight_settle(&f, *value, false, connected);
	*value = s.seen;
	if (!s.settled || !cr_fd_pending_take(fd, &f) || f.logged)
		return; /* under way, another thread reported it, or logged already */
	struct cr_reader reader;
	const struct cr_ruleset *rs = cr_current_enter(&reader);
	if (rs)
		cr_log_inflight(rs, &f, s.outcome);
	cr_current_leave(&reader);
}

CR_EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
	if (!cr_real.getsockopt)
		cr_preload_init();
	int ret = cr_real.getsockopt(fd, level, name, value, len);
	if (ret == 0 && level == SOL_SOCKET && name == SO_ERROR && value && len && *len >= sizeof(int) &&
	    cr_fd_pending_maybe(fd))
		outcome(fd, value);
	return ret;
}

CR_EXPORT int socket(int domain, int type, int protocol)
{
	if (!cr_real.socket)
		cr_preload_init();
	int fd = cr_real.socket(domain, type, protocol);
	if (fd < 0)
		return fd;
	int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	bool ours = domain == AF_INET || domain == AF_INET6 || domain == AF_UNIX;
	cr_fd_made(fd, (struct cr_sockinfo){ .known = ours,
					     .domain = (uint8_t)domain,
					     .type = (uint8_t)kind,
					     .nonblock = !!(type & SOCK_NONBLOCK),
					     .fresh = 1 });
	return fd;
}

/* An accepted socket is connected, never fresh. */
static void accepted(int listener, int fd, int flags)
{
	if (fd < 0)
		return;
	struct cr_sockinfo l = cr_fd_look(listener).sock;
	cr_fd_made(fd, (struct cr_sockinfo){ .known = l.known,
					     .domain = l.domain,
					     .type = l.type,
					     .nonblock = !!(flags & SOCK_NONBLOCK),
					     .fresh = 0 });
}

CR_EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	if (!cr_real.accept)
		cr_preload_init();
	int nfd = cr_real.accept(fd, sa, len);
	accepted(fd, nfd, 0);
	return nfd;
}

CR_EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	if (!cr_real.accept4)
		cr_preload_init();
	int nfd = cr_real.accept4(fd, sa, len, flags);
	accepted(fd, nfd, flags);
	return nfd;
}

CR_EXPORT int close(int fd)
{
	if (!cr_real.close)
		cr_preload_init();
	cr_fd_forget(fd);
	int ret = cr_real.close(fd), saved = errno;
	cr_drop_closed((unsigned)fd, (unsigned)fd);
	errno = saved;
	return ret;
}

CR_EXPORT int dup2(int old, int new)
{
	if (!cr_real.dup2)
		cr_preload_init();
	int ret = cr_real.dup2(old, new);
	if (ret >= 0 && old != new) {
		cr_fd_forget(new);
		cr_fd_shared(old); /* two numbers for one socket: ask the kernel from now on */
		cr_drop_closed((unsigned)new, (unsigned)new);
	}
	return ret;
}

CR_EXPORT int dup3(int old, int new, int flags)
{
	if (!cr_real.dup3)
		cr_preload_init();
	int ret = cr_real.dup3(old, new, flags);
	if (ret >= 0) {
		cr_fd_forget(new);
		cr_fd_shared(old);
		cr_drop_closed((unsigned)new, (unsigned)new);
	}
	return ret;
}

CR_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	if (!cr_real.close_range)
		cr_preload_init();
	int ret = cr_real.close_range(first, last, flags);
	/* CLOSE_RANGE_CLOEXEC only marks them; the descriptors stay. */
	if (ret == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) {
		cr_fd_forget_range(first, last);
		cr_drop_closed(first, last);
	}
	return ret;
}

CR_EXPORT int dup(int fd)
{
	if (!cr_real.dup)
		cr_preload_init();
	int nfd = cr_real.dup(fd);
	if (nfd >= 0) {
		cr_fd_forget(nfd);
		cr_fd_shared(fd);
	}
	return nfd;
}

CR_EXPORT int listen(int fd, int backlog)
{
	if (!cr_real.listen)
		cr_preload_init();
	int ret = cr_real.listen(fd, backlog);
	if (ret == 0)
		cr_fd_set_fresh(fd, false);
	return ret;
}

static void after_fcntl(int fd, int cmd, void *arg, int ret)
{
	if (ret < 0)
		return;
	if (cmd == F_SETFL)
		cr_fd_set_nonblock(fd, ((long)arg & O_NONBLOCK) != 0);
	else if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
		cr_fd_forget(ret);
		cr_fd_shared(fd);
	}
}

/* fcntl and ioctl are variadic: the argument is taken as a pointer-sized
 * value and handed on unchanged, as the C library itself does. */
CR_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!cr_real.fcntl)
		cr_preload_init();
	int ret = cr_real.fcntl(fd, cmd, arg);
	after_fcntl(fd, cmd, arg, ret);
	return ret;
}

CR_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!cr_real.fcntl64)
		cr_preload_init();
	int ret = cr_real.fcntl64(fd, cmd, arg);
	after_fcntl(fd, cmd, arg, ret);
	return ret;
}

CR_EXPORT int ioctl(int fd, cr_ioctl_req req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!cr_real.ioctl)
		cr_preload_init();
	int ret = cr_real.ioctl(fd, req, arg);
	if (ret == 0 && req == FIONBIO && arg)
		cr_fd_set_nonblock(fd, *(const int *)arg != 0);
	return ret;
}
