/* The system calls engine code makes directly, for two reasons.
 *
 * The rule: engine code calls no C library function that the preload
 * library also defines (connect, close, socket, ...: the global list of
 * preload/libconnrefuse.map); it calls the wrapper here. Inside the
 * library, linked -Bsymbolic, such a call would land in our own hook: an
 * arrow from the engine back up into preload that no include shows, and a
 * hook entered from inside the engine. Nor would the call be another
 * preload's to interpose. tests/tools/check-calls.py (t_layers) fails on an
 * engine object that calls one of those functions.
 *
 * And where the C library's wrapper is newer than the oldest glibc the
 * library loads into (2.17, SPEC.md's bundle): glibc 2.33 made
 * stat/fstat/lstat real functions (before, inline calls of __xstat), 2.25
 * added getrandom. Linked against such a wrapper, the library stops every
 * program of an older userland from starting; t_glibc_baseline reads the
 * versions the built library needs. struct stat is the kernel's own layout
 * on x86-64 and arm64, in glibc and musl alike. */
#ifndef CR_SYS_H
#define CR_SYS_H

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH /* without _GNU_SOURCE */
#define AT_EMPTY_PATH 0x1000
#endif

/* ---- newer than glibc 2.17 ---- */

static inline int cr_stat(const char *path, struct stat *st)
{
	return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, 0);
}

static inline int cr_lstat(const char *path, struct stat *st)
{
	return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

/* (As glibc 2.33 and later make it: one system call for the three.) */
static inline int cr_fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH);
}

static inline ssize_t cr_getrandom(void *buf, size_t len, unsigned flags)
{
	return syscall(SYS_getrandom, buf, len, flags);
}

/* ---- the functions the library hooks ---- */

static inline int cr_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static inline int cr_socket(int domain, int type, int protocol)
{
	return (int)syscall(SYS_socket, domain, type, protocol);
}

static inline int cr_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return (int)syscall(SYS_connect, fd, addr, len);
}

static inline int cr_listen(int fd, int backlog)
{
	return (int)syscall(SYS_listen, fd, backlog);
}

static inline ssize_t cr_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
				socklen_t tolen)
{
	return syscall(SYS_sendto, fd, buf, len, flags, to, tolen);
}

#endif
