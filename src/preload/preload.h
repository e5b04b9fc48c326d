/* The preload library's process state: the real functions, and who this
 * process is. Initialised once, by the constructor or by whichever hook runs
 * first (another library's constructor may connect before ours has run). */
#ifndef CR_PRELOAD_H
#define CR_PRELOAD_H

#include "fdtable.h"
#include "glibc_baseline.h"
#include "engine/export.h"
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
 * another preload's), resolved once: one member for each entry of
 * hooks.def. Before that (while the library itself initialises) the hooks
 * fall back to the system calls. */
struct cr_real {
#define CR_HOOK(ret, name, params, fallback) ret(*name) params;
#include "hooks.def"
};

/* Each hook declared from its entry: a definition (hook_*.c) of another type
 * than the list's, and so than its member above, does not compile. */
#define CR_HOOK(ret, name, params, fallback) CR_EXPORT ret name params;
#include "hooks.def"

struct cr_process {
	char comm[16];  /* the program name, as the kernel has it */
	char exe[4096]; /* the executable path, or "" */
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
