/* The sinks (syslog, stderr, file) behind a per-process rate limit. The
 * counters live in a struct cr_log_state that the caller owns (one a
 * process: the preload library's, the supervisor's). Nothing here blocks,
 * takes a lock, allocates, or keeps a descriptor open between lines: each
 * sink opens, writes without waiting and closes, through raw system calls,
 * so no interposed function and no cancellation point is reached. Lines
 * that a sink cannot take at once, or that no sink takes, are dropped,
 * counted, and said once (notice_once). */
#define _GNU_SOURCE
#include "logsink.h"
#include "errtab.h"
#include "ident.h"
#include "sys.h"

#include <fcntl.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define SYSLOG_PATH "/dev/log"

/* ---- sinks: raw system calls (sys.h), so that nothing we call is interposed (by us
 * or another preload) and no cancellation point is reached ---- */

/* One write of the pieces, no copy (so that the line is written whole
 * by one call, as O_APPEND wants); a signal before anything was written
 * is tried again, a few times (never a wait). */
static long sys_writev_all(int fd, const struct iovec *iov, int n)
{
	long w = -1;
	for (int tries = 0; tries < 3; tries++)
		if ((w = syscall(SYS_writev, fd, iov, n)) >= 0 || errno != EINTR)
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
	struct cr_utc u;
	cr_utc_of((long long)ts.tv_sec, &u);
	snprintf(out, 16, "%s %2u %02u:%02u:%02u", months[u.mon - 1], u.day, u.hour, u.min, u.sec);
}

/* What became of one line, sink by sink. */
enum sink_result { SINK_TOOK, SINK_FAILED, SINK_ABSENT };
struct delivery {
	unsigned sinks, took, failed;
	bool file_failed;
	char why[512]; /* what failed, for the notice */
};

/* The errno's name, from the decode table (no lock, no locale). */
static const char *errno_name(int err)
{
	struct connrefuse_error e;
	return connrefuse_decode_errno(err, &e) == 0 ? e.errno_name : "error";
}

/* Counts what a sink did with a line; what failed is named (a file by its
 * path, formatted only then). */
static void note(struct delivery *dv, enum sink_result r, const char *what, const char *path, int err)
{
	dv->sinks++;
	if (r == SINK_TOOK) {
		dv->took++;
		return;
	}
	dv->failed += r == SINK_FAILED;
	size_t n = strlen(dv->why);
	if (path)
		snprintf(dv->why + n, sizeof dv->why - n, "%s%s \"%s\" cannot be written (%s)", n ? "; " : "", what,
			 path, errno_name(err));
	else
		snprintf(dv->why + n, sizeof dv->why - n, "%s%s (%s)", n ? "; " : "", what, errno_name(err));
}

/* A receiver there that cannot take the line now (its queue is full, or
 * no descriptor is left) is a failure; no receiver at all (no /dev/log, as
 * in most containers) is an absent sink: the line is lost only if no other
 * sink takes it. */
static enum sink_result send_syslog(const struct cr_log_conf *lc, int severity, const char *line, size_t len, pid_t pid,
				    int *err)
{
	char msg[CR_LOG_LINE_MAX + 128], ts[16];
	rfc3164_time(ts);
	int n = snprintf(msg, sizeof msg, "<%d>%s %s[%ld]: ", lc->facility | severity, ts, lc->ident, (long)pid);
	if (n < 0)
		return SINK_TOOK;
	size_t total = (size_t)n + len < sizeof msg ? (size_t)n + len : sizeof msg;
	memcpy(msg + n, line, total - (size_t)n);

	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	strncpy(sun.sun_path, SYSLOG_PATH, sizeof sun.sun_path - 1);
	int fd = cr_socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*err = errno;
		return SINK_FAILED;
	}
	ssize_t rc = cr_sendto(fd, msg, total, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sun, sizeof sun);
	*err = errno;
	cr_close(fd);
	if (rc >= 0)
		return SINK_TOOK;
	return *err == EAGAIN || *err == ENOBUFS || *err == EINTR ? SINK_FAILED : SINK_ABSENT;
}

/* Fails when the line could not be written (no folder, no right, a
 * read-only or full file system, no descriptor left, ...). */
static enum sink_result send_file(const char *path, const char *line, size_t len, int *err)
{
	struct iovec iov[2] = { { (void *)line, len }, { "\n", 1 } };
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0) {
		*err = errno;
		return SINK_FAILED;
	}
	long w = sys_writev_all(fd, iov, 2);
	*err = w < 0 ? errno : ENOSPC;
	cr_close(fd);
	return w == (long)(len + 1) ? SINK_TOOK : SINK_FAILED;
}

static enum sink_result send_stderr(const struct cr_log_conf *lc, const char *line, size_t len, int *err)
{
	struct iovec iov[4] = {
		{ (void *)lc->ident, strlen(lc->ident) }, { ": ", 2 }, { (void *)line, len }, { "\n", 1 }
	};
	size_t total = iov[0].iov_len + 2 + len + 1;
	*err = EIO;
	long w = sys_writev_all(2, iov, 4);
	if (w < 0)
		*err = errno;
	return w == (long)total ? SINK_TOOK : SINK_FAILED;
}

/* ---- the stamp: the time (vDSO, no system call) and the machine ---- */

static long now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

#define MACHINE_MAX 72
#define MACHINE_REFRESH_S 60

static void machine_read(char out[MACHINE_MAX])
{
	struct utsname u;
	if (uname(&u) != 0 || !u.nodename[0])
		strcpy(out, "?");
	else
		snprintf(out, MACHINE_MAX, "%s", u.nodename);
}

/* The machine's name: read by uname once, and again after a minute; st
 * NULL (a message, rare): read now. */
static void machine_name(struct cr_log_state *st, char out[MACHINE_MAX])
{
	if (!st) {
		machine_read(out);
		return;
	}
	long now = now_sec();
	unsigned seq = atomic_load_explicit(&st->machine_seq, memory_order_acquire);
	long at = atomic_load_explicit(&st->machine_at, memory_order_relaxed);
	if (!(seq & 1) && at >= 0 && now - at < MACHINE_REFRESH_S) {
		unsigned long w[MACHINE_MAX / sizeof(unsigned long)];
		/* Acquire loads, no fence (ThreadSanitizer has none): a word
		 * written after the sequence changed is seen with that change,
		 * so the second look at the sequence below notices it. */
		for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
			w[i] = atomic_load_explicit(&st->machine[i], memory_order_acquire);
		if (atomic_load_explicit(&st->machine_seq, memory_order_relaxed) == seq) {
			memcpy(out, w, MACHINE_MAX);
			out[MACHINE_MAX - 1] = '\0';
			return;
		}
	}
	machine_read(out);
	/* One thread writes it back; the others use what they read. */
	if (!(seq & 1) && atomic_compare_exchange_strong(&st->machine_seq, &seq, seq + 1)) {
		unsigned long w[MACHINE_MAX / sizeof(unsigned long)] = { 0 };
		memcpy(w, out, strlen(out) + 1);
		for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
			atomic_store_explicit(&st->machine[i], w[i], memory_order_release);
		atomic_store_explicit(&st->machine_at, now, memory_order_relaxed);
		atomic_store_explicit(&st->machine_seq, seq + 2, memory_order_release);
	}
}

void cr_log_after_fork(struct cr_log_state *st)
{
	unsigned seq = atomic_load(&st->machine_seq);
	if (seq & 1) {
		atomic_store(&st->machine_at, -1);
		atomic_store(&st->machine_seq, seq + 1);
	}
}

/* The line as log.file (and JSON anywhere) carries it: the stamp first.
 * A message (plain text) becomes a message= key in JSON. */
static size_t stamped(const struct cr_log_conf *lc, struct cr_log_state *st, const char *line, size_t len, bool message,
		      char *out, size_t size)
{
	char machine[MACHINE_MAX];
	machine_name(st, machine);
	struct cr_stamp s = { .machine = machine };
	clock_gettime(CLOCK_REALTIME, &s.time);
	struct cr_line l;
	cr_line_begin_stamped(&l, out, size, lc->json, &s);
	if (message && lc->json)
		cr_line_mem(&l, "message", line, len);
	else /* logfmt keys, a message's text, or a JSON object's keys */
		cr_line_keys_of(&l, line, len);
	return cr_line_end(&l);
}

/* One line to every sink, on behalf of process pid (the supervisor of
 * run --seccomp logs for others): syslog as it is (its header has the time
 * and the machine), log.file stamped, stderr as it is in logfmt (read by a
 * person, now, beside the program's own output) and stamped in JSON (read
 * by a program). */
static void emit(const struct cr_log_conf *lc, struct cr_log_state *st, int severity, const char *line, size_t len,
		 pid_t pid, bool message, bool to_stderr, struct delivery *dv)
{
	char st_line[CR_LOG_LINE_MAX + CR_LOG_STAMP_MAX];
	size_t st_len = 0;
	int err = 0;
	memset(dv, 0, sizeof *dv);
	if (*lc->file || (to_stderr && lc->json && !message))
		st_len = stamped(lc, st, line, len, message, st_line, sizeof st_line);
	if (lc->syslog) {
		enum sink_result r = send_syslog(lc, severity, line, len, pid, &err);
		note(dv, r, r == SINK_ABSENT ? "no syslog receiver at " SYSLOG_PATH : "syslog cannot take them now",
		     NULL, err);
	}
	if (to_stderr) {
		bool json = lc->json && !message;
		note(dv, send_stderr(lc, json ? st_line : line, json ? st_len : len, &err), "stderr cannot be written",
		     NULL, err);
	}
	if (*lc->file) {
		enum sink_result r = send_file(lc->file, st_line, st_len, &err);
		dv->file_failed = r != SINK_TOOK;
		note(dv, r, "log.file", lc->file, err);
	}
}

/* What a front end's user can do about lost lines, said once a process:
 * on stderr in a program the user started (where config errors go), in
 * syslog host-wide (the system rules file's error path: never the stderr
 * of every program of the machine). */
static void notice_once(const struct cr_log_conf *lc, struct cr_log_state *st, const struct delivery *dv)
{
	if (!(dv->file_failed || (dv->sinks && !dv->took)) || atomic_exchange(&st->noticed, true))
		return;
	char msg[1024];
	int n = snprintf(msg, sizeof msg,
			 "log lines of this process are lost: %s; they are counted (dropped= in the next summary line "
			 "that gets through); %s (said once per process)",
			 dv->why,
			 st->notice_stderr ? "to see them: connrefuse run --log-stderr, or log.stderr = true or "
					     "log.file in the rules file"
					   : "see the rules file's log settings (connrefuse check FILE)");
	size_t len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
	int err;
	if (st->notice_stderr)
		send_stderr(lc, msg, len, &err);
	else
		send_syslog(lc, LOG_ERR, msg, len, getpid(), &err);
}

/* ---- rate limit: a one-second window, lock-free ---- */

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
	struct delivery dv;
	emit(lc, st, LOG_WARNING, line, len, getpid(), false, lc->to_stderr, &dv);
	if (dv.sinks && !dv.took) { /* kept for the next summary that gets through */
		atomic_fetch_add(&st->suppressed, s);
		atomic_fetch_add(&st->dropped, d);
	}
	notice_once(lc, st, &dv);
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
	struct delivery dv;
	emit(lc, st, severity, line, len, e.pid, false, lc->to_stderr, &dv);
	if (dv.failed || (dv.sinks && !dv.took)) {
		atomic_fetch_add(&st->dropped, 1);
		atomic_fetch_add(&st->dropped_total, 1);
	}
	notice_once(lc, st, &dv);
}

void cr_log_message(const struct cr_log_conf *lc, int priority, bool to_stderr, const char *msg)
{
	struct delivery dv;
	emit(lc, NULL, priority, msg, strlen(msg), getpid(), true, to_stderr, &dv);
}
