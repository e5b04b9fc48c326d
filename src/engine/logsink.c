/* The sinks (syslog, stderr, file) behind a per-process rate limit. The
 * counters live in a struct cr_log_state that the caller owns (one a
 * process: the preload library's, the supervisor's). Nothing here blocks,
 * takes a lock, allocates, or keeps a descriptor open between lines: each
 * sink opens, writes without waiting and closes, through raw system calls,
 * so no interposed function and no cancellation point is reached. Lines
 * that syslog cannot take at once are dropped and counted. */
#define _GNU_SOURCE
#include "logsink.h"
#include "ident.h"
#include "sys.h"

#include <fcntl.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define SYSLOG_PATH "/dev/log"

/* ---- sinks: raw system calls (sys.h), so that nothing we call is interposed (by us
 * or another preload) and no cancellation point is reached ---- */

/* One write; a signal before anything was written is tried again, a few
 * times (never a wait). */
static long sys_write_all(int fd, const char *s, size_t n)
{
	long w = -1;
	for (int tries = 0; tries < 3; tries++)
		if ((w = syscall(SYS_write, fd, s, n)) >= 0 || errno != EINTR)
			break;
	return w;
}

/* "Nov 24 17:54:39", UTC: computed by hand, since localtime_r takes a lock
 * that a fork could leave held. The daemon stamps its own time anyway. */
static void rfc3164_time(char out[16])
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long t = ts.tv_sec, days = t / 86400, secs = t % 86400;
	/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm). */
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	snprintf(out, 16, "%s %2u %02lld:%02lld:%02lld", months[m - 1], d, secs / 3600, secs / 60 % 60, secs % 60);
}

/* Returns false only when the receiver is there but cannot take the line
 * now (its queue is full): that is a drop. With no receiver at all the line
 * is lost as glibc's syslog() loses it, and not counted. */
static bool send_syslog(const struct cr_log_conf *lc, int severity, const char *line, size_t len, pid_t pid)
{
	char msg[CR_LOG_LINE_MAX + 128], ts[16];
	rfc3164_time(ts);
	int n = snprintf(msg, sizeof msg, "<%d>%s %s[%ld]: ", lc->facility | severity, ts, lc->ident, (long)pid);
	if (n < 0)
		return true;
	size_t total = (size_t)n + len < sizeof msg ? (size_t)n + len : sizeof msg;
	memcpy(msg + n, line, total - (size_t)n);

	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	strncpy(sun.sun_path, SYSLOG_PATH, sizeof sun.sun_path - 1);
	int fd = cr_socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	ssize_t rc = cr_sendto(fd, msg, total, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sun, sizeof sun);
	int err = errno;
	cr_close(fd);
	return rc >= 0 || (err != EAGAIN && err != ENOBUFS);
}

/* False when the line could not be written (a read-only or full file
 * system, no descriptor left, ...). */
static bool send_file(const char *path, const char *line, size_t len)
{
	char msg[CR_LOG_LINE_MAX + 1];
	if (len > CR_LOG_LINE_MAX)
		len = CR_LOG_LINE_MAX;
	memcpy(msg, line, len);
	msg[len] = '\n';
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0)
		return false;
	bool ok = sys_write_all(fd, msg, len + 1) == (long)(len + 1);
	cr_close(fd);
	return ok;
}

static bool send_stderr(const struct cr_log_conf *lc, const char *line, size_t len)
{
	char msg[CR_LOG_LINE_MAX + 64];
	int n = snprintf(msg, sizeof msg, "%s: %.*s\n", lc->ident, (int)len, line);
	if (n <= 0)
		return false;
	size_t total = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
	return sys_write_all(2, msg, total) == (long)total;
}

/* One line to every sink, on behalf of process pid (the supervisor of
 * run --seccomp logs for others). Returns false if a sink could not take
 * it: the line is counted as dropped. */
static bool emit(const struct cr_log_conf *lc, int severity, const char *line, size_t len, pid_t pid)
{
	bool ok = true;
	if (lc->syslog)
		ok = send_syslog(lc, severity, line, len, pid);
	if (lc->to_stderr)
		ok &= send_stderr(lc, line, len);
	if (*lc->file)
		ok &= send_file(lc->file, line, len);
	return ok;
}

/* ---- rate limit: a one-second window, lock-free ---- */

static long now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

void cr_log_summary(const struct cr_log_conf *lc, struct cr_log_state *st, const char *comm)
{
	unsigned long s = atomic_exchange(&st->suppressed, 0), d = atomic_exchange(&st->dropped, 0);
	if (!s && !d)
		return;
	char line[256];
	struct cr_line l;
	cr_line_begin(&l, line, sizeof line, lc->json);
	cr_line_str(&l, "result", "suppressed");
	cr_line_num(&l, "count", (long long)s);
	cr_line_num(&l, "dropped", (long long)d);
	struct cr_ident id;
	cr_ident_read(0, true, &id);
	cr_line_num(&l, "pid", getpid());
	cr_line_num(&l, "uid", id.uid);
	if (id.euid != id.uid)
		cr_line_num(&l, "euid", id.euid);
	cr_line_str(&l, "comm", comm ? comm : "?");
	if (id.cgroup[0] && strcmp(id.cgroup, "/") != 0)
		cr_line_str(&l, "cgroup", id.cgroup);
	size_t len = cr_line_end(&l);
	/* A summary that syslog cannot take is not counted again. */
	emit(lc, LOG_WARNING, line, len, getpid());
}

void cr_log_event(const struct cr_log_conf *lc, struct cr_log_state *st, const struct cr_event *ev)
{
	if (lc->rate) {
		long sec = now_sec(), w = atomic_load(&st->window_sec);
		if (sec != w && atomic_compare_exchange_strong(&st->window_sec, &w, sec)) {
			atomic_store(&st->window_count, 0);
			cr_log_summary(lc, st, ev->comm);
		}
		if (atomic_fetch_add(&st->window_count, 1) >= lc->rate) {
			atomic_fetch_add(&st->suppressed, 1);
			return;
		}
	}
	/* The pid only now, for a line that is written: getpid() is a system
	 * call, and most lines of a storm are suppressed above. */
	struct cr_event e = *ev;
	struct cr_ident id;
	if (!e.has_ids) { /* connrefuse audit gives those the kernel recorded */
		cr_ident_read(e.pid, !e.pid, &id);
		e.has_ids = id.uid >= 0;
		e.uid = id.uid;
		e.euid = id.euid;
		e.cgroup = id.cgroup[0] ? id.cgroup : NULL;
	}
	if (!e.pid)
		e.pid = getpid();
	char line[CR_LOG_LINE_MAX];
	size_t len = cr_log_format_as(&e, lc->json, line, sizeof line);
	int severity = e.result == CR_RES_REFUSED || e.result == CR_RES_FAILED ? LOG_WARNING : LOG_INFO;
	if (!emit(lc, severity, line, len, e.pid)) {
		atomic_fetch_add(&st->dropped, 1);
		atomic_fetch_add(&st->dropped_total, 1);
	}
}

void cr_log_message(const struct cr_log_conf *lc, int priority, bool to_stderr, const char *msg)
{
	size_t len = strlen(msg);
	if (lc->syslog)
		send_syslog(lc, priority, msg, len, getpid());
	if (to_stderr)
		send_stderr(lc, msg, len);
	if (*lc->file)
		send_file(lc->file, msg, len);
}
