/* Process state of the preload library: initialisation, the rule set in
 * force, and the exit summary. */
#define _GNU_SOURCE
#include "preload.h"
#include "current.h"
#include "log.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#define EX_CONFIG 78

cr_connect_fn cr_real_connect;
struct cr_process cr_self;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
/* initial-exec: no allocation on a thread's first access. */
static __thread int in_init __attribute__((tls_model("initial-exec")));

/* Used only if dlsym cannot find the next connect: the system call itself. */
static int connect_syscall(int fd, const struct sockaddr *sa, socklen_t len)
{
	return (int)syscall(SYS_connect, fd, sa, len);
}

static void identify_process(void)
{
	if (prctl(PR_GET_NAME, cr_self.comm) != 0)
		strcpy(cr_self.comm, "?");
	cr_self.comm[sizeof cr_self.comm - 1] = '\0';
	ssize_t n = readlink("/proc/self/exe", cr_self.exe, sizeof cr_self.exe - 1);
	cr_self.exe[n > 0 ? n : 0] = '\0';
}

static void load_rules(void)
{
	const char *path = secure_getenv("CONNREFUSE_CONFIG");
	struct cr_ruleset *rs = NULL;
	if (path && *path) {
		char err[1024], msg[1200];
		rs = cr_config_load(path, err, sizeof err);
		if (!rs) {
			const char *strict = secure_getenv("CONNREFUSE_STRICT");
			bool is_strict = strict && strcmp(strict, "1") == 0;
			struct cr_ruleset *defaults = cr_ruleset_new_empty();
			snprintf(msg, sizeof msg, "config error: %s; %s", err,
				 is_strict ? "CONNREFUSE_STRICT=1, so the program stops (exit 78)"
					   : "running with no rules (audit only); check it with: connrefuse check FILE");
			cr_log_message(&defaults->log, LOG_ERR, true, msg);
			cr_ruleset_free(defaults);
			if (is_strict)
				_exit(EX_CONFIG);
		}
	}
	if (!rs)
		rs = cr_ruleset_new_empty();
	cr_current_start(rs, path && *path ? path : NULL);
}

static void init(void)
{
	in_init = 1;
	int saved = errno;
	cr_connect_fn next = (cr_connect_fn)dlsym(RTLD_NEXT, "connect");
	cr_real_connect = next ? next : connect_syscall;
	identify_process();
	load_rules();
	pthread_atfork(NULL, NULL, cr_current_after_fork);
	errno = saved;
	in_init = 0;
}

void cr_preload_init(void)
{
	/* A connect made while we initialise (by dlsym's own machinery, say)
	 * goes straight to the kernel rather than wait on ourselves. */
	if (in_init) {
		if (!cr_real_connect)
			cr_real_connect = connect_syscall;
		return;
	}
	pthread_once(&init_once, init);
}

__attribute__((constructor)) static void cr_constructor(void)
{
	cr_preload_init();
}

__attribute__((destructor)) static void cr_destructor(void)
{
	struct cr_reader reader;
	const struct cr_ruleset *rs = cr_current_enter(&reader);
	if (rs) {
		int saved = errno;
		cr_log_summary(&rs->log, cr_self.comm);
		errno = saved;
	}
	cr_current_leave(&reader);
}
