/* The preload library's process state: the real functions, and who this
 * process is. Initialised once, by the constructor or by whichever hook runs
 * first (another library's constructor may connect before ours has run). */
#ifndef CR_PRELOAD_H
#define CR_PRELOAD_H

#include "fdtable.h"
#include "glibc_baseline.h"
#include "engine/logsink.h"
#include "engine/rules.h"

#include <netdb.h>
#include <stdatomic.h>
#include <sys/socket.h>

/* ioctl's request: unsigned long in glibc, int in musl (as in POSIX). */
#ifdef __GLIBC__
typedef unsigned long cr_ioctl_req;
#else
typedef int cr_ioctl_req;
#endif

/* The next definition of each interposed function (the C library's, or
 * another preload's), resolved once. Before that (while the library itself
 * initialises) the hooks fall back to the system calls. */
struct cr_real {
	int (*connect)(int, const struct sockaddr *, socklen_t);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*socket)(int, int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*close)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*close_range)(unsigned, unsigned, int);
	int (*dup)(int);
	int (*listen)(int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*ioctl)(int, cr_ioctl_req, ...);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	struct hostent *(*gethostbyname)(const char *);
	struct hostent *(*gethostbyname2)(const char *, int);
	int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t, struct hostent **, int *);
	int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t, struct hostent **, int *);
	int (*getnameinfo)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int);
};

struct cr_process {
	char comm[16];              /* the program name, as the kernel has it */
	char exe[4096];             /* the executable path, or "" */
};

extern struct cr_real cr_real;
extern struct cr_process cr_self;
/* The process's log counters (rate limit, drops). */
extern struct cr_log_state cr_self_log;

/* Makes sure the state is initialised; cheap after the first call. */
void cr_preload_init(void);

/* Logs the outcome of an attempt that was in flight, if its level asks for
 * it (hook_connect.c). */
void cr_log_inflight(const struct cr_ruleset *rs, const struct cr_inflight *f, int err);

#endif
