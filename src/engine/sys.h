/* System calls made directly, where the C library's wrapper is newer than
 * the oldest glibc the library loads into (2.17, SPEC.md's bundle): glibc
 * 2.33 made stat/fstat/lstat real functions (before, inline calls of
 * __xstat), 2.25 added getrandom. Linked against such a wrapper, the library
 * stops every program of an older userland from starting; t_glibc_baseline
 * reads the versions the built library needs. struct stat is the kernel's
 * own layout on x86-64 and arm64, in glibc and musl alike. */
#ifndef CR_SYS_H
#define CR_SYS_H

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH /* without _GNU_SOURCE */
#define AT_EMPTY_PATH 0x1000
#endif

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

#endif
