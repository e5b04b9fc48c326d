/* Process state of the preload library: initialisation, the rule set in
 * force, and the exit summary. */
#define _GNU_SOURCE
#include "preload.h"
#include "engine/sys.h"
#include "current.h"
#include "engine/shared.h"
#include "engine/drop.h"
#include "engine/config.h"
#include "engine/config_file.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#define EX_CONFIG 78

struct cr_real cr_real;
struct cr_process cr_self;
struct cr_log_state cr_self_log = CR_LOG_STATE_INIT;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
/* initial-exec: no allocation on a thread's first access. */
static __thread int in_init __attribute__((tls_model("initial-exec")));

/* Fallbacks, used only while init runs or if dlsym finds nothing: the
 * system calls themselves, each named by its entry in hooks.def. */
static int sys_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return (int)syscall(SYS_connect, fd, sa, len);
}
static ssize_t sys_sendto(int fd, const void *b, size_t n, int fl, const struct sockaddr *sa, socklen_t len)
{
	return syscall(SYS_sendto, fd, b, n, fl, sa, len);
}
static ssize_t sys_sendmsg(int fd, const struct msghdr *m, int fl)
{
	return syscall(SYS_sendmsg, fd, m, fl);
}
static int sys_getsockopt(int fd, int level, int name, void *v, socklen_t *len)
{
	return (int)syscall(SYS_getsockopt, fd, level, name, v, len);
}
static int sys_socket(int d, int t, int p)
{
	return (int)syscall(SYS_socket, d, t, p);
}
static int sys_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	return (int)syscall(SYS_accept4, fd, sa, len, 0);
}
static int sys_accept4(int fd, struct sockaddr *sa, socklen_t *len, int fl)
{
	return (int)syscall(SYS_accept4, fd, sa, len, fl);
}
static int sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}
static int sys_dup2(int a, int b)
{
#ifdef SYS_dup2
	return (int)syscall(SYS_dup2, a, b);
#else /* arm64 has dup3 alone, which refuses a == b: dup2 checks a instead */
	if (a == b)
		return (int)syscall(SYS_fcntl, a, F_GETFD) < 0 ? -1 : a;
	return (int)syscall(SYS_dup3, a, b, 0);
#endif
}
static int sys_dup3(int a, int b, int fl)
{
	return (int)syscall(SYS_dup3, a, b, fl);
}
static int sys_close_range(unsigned a, unsigned b, int fl)
{
	return (int)syscall(SYS_close_range, a, b, fl);
}

static int sys_dup(int fd)
{
	return (int)syscall(SYS_dup, fd);
}
static int sys_getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	return (int)syscall(SYS_getpeername, fd, sa, len);
}
static int sys_listen(int fd, int backlog)
{
	return (int)syscall(SYS_listen, fd, backlog);
}
static int sys_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}
static int sys_ioctl(int fd, cr_ioctl_req req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

static void set_fallbacks(void)
{
#define CR_HOOK(ret, name, params, fallback) cr_real.name = fallback;
#include "hooks.def"
}

#define RESOLVE(name)                                        \
	do {                                                 \
		void *p = dlsym(RTLD_NEXT, #name);           \
		if (p)                                       \
			memcpy(&cr_real.name, &p, sizeof p); \
	} while (0)

static void resolve_all(void)
{
#define CR_HOOK(ret, name, params, fallback) RESOLVE(name);
#include "hooks.def"
}

static void identify_process(void)
{
	if (prctl(PR_GET_NAME, cr_self.comm) != 0)
		strcpy(cr_self.comm, "?");
	cr_self.comm[sizeof cr_self.comm - 1] = '\0';
	ssize_t n = readlink("/proc/self/exe", cr_self.exe, sizeof cr_self.exe - 1);
	cr_self.exe[n > 0 ? n : 0] = '\0';
}

/* The rules of a host-wide preload (/etc/ld.so.preload): most processes
 * never see CONNREFUSE_CONFIG. */
#define CR_SYSTEM_RULES "/etc/connrefuse/rules"

/* One config error, on stderr and in syslog; under CONNREFUSE_STRICT=1 the
 * program stops here (the only exit the library makes). An error of the
 * system file goes to syslog only (it would reach the stderr of every
 * program of the host) and never stops a program. */
static void config_error(const char *err, const char *path, bool system_file)
{
	char msg[1400];
	const char *strict = secure_getenv("CONNREFUSE_STRICT");
	bool is_strict = !system_file && strict && strcmp(strict, "1") == 0;
	if (is_strict)
		snprintf(msg, sizeof msg, "config error: %s; CONNREFUSE_STRICT=1, so the program stops (exit 78)", err);
	else
		snprintf(msg, sizeof msg,
			 "config error: %s; running with no rules (audit only); "
			 "check it with: connrefuse check %s",
			 err, path);
	struct cr_ruleset *defaults = cr_ruleset_new_empty();
	if (defaults)
		cr_log_message(&defaults->log, LOG_ERR, !system_file, msg);
	cr_ruleset_free(defaults);
	if (is_strict)
		_exit(EX_CONFIG);
}

/* Whether the user started this program with the library (LD_PRELOAD names
 * it, or CONNREFUSE_CONFIG is set, by hand or by connrefuse run), rather
 * than /etc/ld.so.preload did it for every program of the machine. */
static bool started_by_user(const char *given)
{
	const char *preload = getenv("LD_PRELOAD");
	return given || (preload && strstr(preload, "connrefuse"));
}

/* The shared schedule state of the rules at path (and of the run, under
 * connrefuse run: CONNREFUSE_RUN_STATE). */
static void share_state(struct cr_ruleset *rs, const char *path, bool system_file)
{
	static char file[4200];
	struct cr_share_paths sp = { .run = secure_getenv("CONNREFUSE_RUN_STATE"), .file = file };
	if (cr_shared_file_path(path, cr_shared_runtime_dir(secure_getenv("XDG_RUNTIME_DIR")), (unsigned)geteuid(),
				file, sizeof file) != 0)
		sp.file = NULL;
	cr_current_share(rs, &sp, system_file);
}

static void load_rules(void)
{
	/* A relative path (CONNREFUSE_CONFIG, log.file) is joined once, now,
	 * with the folder the process started in (or the one connrefuse run
	 * started in, for all its programs): a later chdir() changes nothing. */
	static char path[4096], start_dir[4096];
	const char *given = secure_getenv("CONNREFUSE_CONFIG");
	if (cr_start_dir(secure_getenv("CONNREFUSE_START_DIR"), start_dir, sizeof start_dir) != 0)
		start_dir[0] = '\0';
	struct cr_ruleset *rs = NULL;
	char err[1024];
	struct stat st;
	bool system_file = false;
	if (given && *given) {
		if (cr_path_join(*start_dir ? start_dir : NULL, given, path, sizeof path) != 0) {
			snprintf(err, sizeof err, "%s: cannot make the path absolute (%s)", given,
				 errno ? strerror(errno) : "too long");
			config_error(err, given, false);
			path[0] = '\0';
		} else if (!(rs = cr_config_load(path, err, sizeof err))) {
			config_error(err, path, false);
		}
	} else if (!given && (cr_lstat(CR_SYSTEM_RULES, &st) == 0 || errno != ENOENT)) {
		/* Unset (an empty CONNREFUSE_CONFIG means no rules): the system
		 * file, if there is one. */
		strcpy(path, CR_SYSTEM_RULES);
		system_file = true;
		if (!(rs = cr_config_load(path, err, sizeof err)))
			config_error(err, path, true);
	}
	if (!rs)
		rs = cr_ruleset_new_empty();
	if (rs)
		cr_log_file_absolute(&rs->log, start_dir);
	if (rs && *path)
		share_state(rs, path, system_file);
	/* Lines lost: said on stderr, as config errors are, to a user who
	 * started the program; host-wide, in syslog only. */
	cr_self_log.notice_stderr = !system_file && started_by_user(given);
	cr_current_start(rs, *path ? path : NULL, start_dir, system_file, true);
}

static void after_fork(void)
{
	cr_current_after_fork();
	cr_drop_after_fork();
	cr_log_after_fork(&cr_self_log);
}

static void init(void)
{
	in_init = 1;
	int saved = errno;
	set_fallbacks();
	resolve_all();
	identify_process();
	load_rules();
	pthread_atfork(NULL, NULL, after_fork);
	errno = saved;
	in_init = 0;
}

void cr_preload_init(void)
{
	/* A connect made while we initialise (by dlsym's own machinery, say)
	 * goes straight to the kernel rather than wait on ourselves. */
	if (in_init) {
		if (!cr_real.connect)
			set_fallbacks();
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
		cr_log_summary(&rs->log, &cr_self_log, cr_self.comm);
		errno = saved;
	}
	cr_current_leave(&reader);
}
