/* Descriptor hooks. getsockopt(SO_ERROR) is where most programs learn the
 * outcome of a non-blocking connect: a real failure is logged there, with its
 * destination, once; a simulated errno other than a refusal replaces the
 * kernel's ECONNREFUSED. The others keep the table of connects in flight
 * honest: a descriptor number that is closed, replaced or made anew forgets
 * its destination. Each is one array store on top of the real call. */
#define _GNU_SOURCE
#include "current.h"
#include "export.h"
#include "fdinfo.h"
#include "pending.h"
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void outcome(int fd, int *value)
{
	struct cr_pending p;
	if (!cr_pending_peek(fd, &p))
		return;
	int err = *value;
	if (err == ECONNREFUSED && p.err)
		err = *value = p.err; /* the simulated errno */
	if (err == 0) {
		/* Connected, or still in flight: only a level that logs
		 * connects asks the kernel which. */
		if (p.level < CR_LEVEL_ALL || p.logged)
			return;
		struct sockaddr_storage peer;
		socklen_t len = sizeof peer;
		int saved = errno;
		bool connected = getpeername(fd, (struct sockaddr *)&peer, &len) == 0;
		errno = saved;
		if (!connected)
			return;
	}
	if (!cr_pending_take(fd, &p))
		return; /* another thread reported it */
	if (p.logged || p.level < cr_level_needed(err, false))
		return;
	struct cr_reader reader;
	const struct cr_ruleset *rs = cr_current_enter(&reader);
	if (rs)
		cr_log_pending(rs, &p, cr_result_of(err),
			       err);
	cr_current_leave(&reader);
}

CR_EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
	if (!cr_real.getsockopt)
		cr_preload_init();
	int ret = cr_real.getsockopt(fd, level, name, value, len);
	if (ret == 0 && level == SOL_SOCKET && name == SO_ERROR && value && len && *len >= sizeof(int) &&
	    cr_pending_maybe(fd))
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
	cr_pending_clear(fd);
	int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (domain == AF_INET || domain == AF_INET6 || domain == AF_UNIX)
		cr_fdinfo_set(fd, (struct cr_fdinfo){ .known = 1, .domain = (uint8_t)domain, .type = (uint8_t)kind,
						      .nonblock = !!(type & SOCK_NONBLOCK), .fresh = 1 });
	else
		cr_fdinfo_forget(fd);
	return fd;
}

/* An accepted socket is connected, never fresh. */
static void accepted(int listener, int fd, int flags)
{
	if (fd < 0)
		return;
	cr_pending_clear(fd);
	struct cr_fdinfo l = cr_fdinfo_get(listener);
	if (l.known)
		cr_fdinfo_set(fd, (struct cr_fdinfo){ .known = 1, .domain = l.domain, .type = l.type,
						      .nonblock = !!(flags & SOCK_NONBLOCK), .fresh = 0 });
	else
		cr_fdinfo_forget(fd);
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
	cr_pending_clear(fd);
	cr_fdinfo_forget(fd);
	return cr_real.close(fd);
}

CR_EXPORT int dup2(int old, int new)
{
	if (!cr_real.dup2)
		cr_preload_init();
	int ret = cr_real.dup2(old, new);
	if (ret >= 0 && old != new) {
		cr_pending_clear(new);
		cr_fdinfo_forget(new);
		cr_fdinfo_forget(old); /* two numbers for one socket: ask the kernel from now on */
	}
	return ret;
}

CR_EXPORT int dup3(int old, int new, int flags)
{
	if (!cr_real.dup3)
		cr_preload_init();
	int ret = cr_real.dup3(old, new, flags);
	if (ret >= 0) {
		cr_pending_clear(new);
		cr_fdinfo_forget(new);
		cr_fdinfo_forget(old);
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
		cr_pending_clear_range(first, last);
		cr_fdinfo_forget_range(first, last);
	}
	return ret;
}

CR_EXPORT int dup(int fd)
{
	if (!cr_real.dup)
		cr_preload_init();
	int nfd = cr_real.dup(fd);
	if (nfd >= 0) {
		cr_pending_clear(nfd);
		cr_fdinfo_forget(nfd);
		cr_fdinfo_forget(fd);
	}
	return nfd;
}

CR_EXPORT int listen(int fd, int backlog)
{
	if (!cr_real.listen)
		cr_preload_init();
	int ret = cr_real.listen(fd, backlog);
	if (ret == 0)
		cr_fdinfo_set_fresh(fd, false);
	return ret;
}

static void after_fcntl(int fd, int cmd, void *arg, int ret)
{
	if (ret < 0)
		return;
	if (cmd == F_SETFL)
		cr_fdinfo_set_nonblock(fd, ((long)arg & O_NONBLOCK) != 0);
	else if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
		cr_pending_clear(ret);
		cr_fdinfo_forget(ret);
		cr_fdinfo_forget(fd);
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

CR_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!cr_real.ioctl)
		cr_preload_init();
	int ret = cr_real.ioctl(fd, req, arg);
	if (ret == 0 && req == FIONBIO && arg)
		cr_fdinfo_set_nonblock(fd, *(const int *)arg != 0);
	return ret;
}
