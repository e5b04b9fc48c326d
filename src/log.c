#define _GNU_SOURCE
#include "log.h"
#include "errtab.h"

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

const char *cr_log_syslog_path = "/dev/log";

/* ---- formatting ---- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned min;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool needs_quotes(const unsigned char *v, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] == '"' || v[i] == '=' || v[i] == '\\' || v[i] >= 0x7f)
			return true;
	return false;
}

static size_t put(char *buf, size_t size, size_t pos, const char *s, size_t n)
{
	if (pos >= size)
		return pos;
	size_t room = size - 1 - pos;
	if (n > room)
		n = room;
	memcpy(buf + pos, s, n);
	buf[pos + n] = '\0';
	return pos + n;
}

size_t cr_log_append(char *buf, size_t size, size_t pos, const char *key, const char *value, size_t vlen)
{
	const unsigned char *v = (const unsigned char *)value;
	if (pos > 0)
		pos = put(buf, size, pos, " ", 1);
	pos = put(buf, size, pos, key, strlen(key));
	pos = put(buf, size, pos, "=", 1);
	if (!needs_quotes(v, vlen))
		return put(buf, size, pos, value, vlen);
	pos = put(buf, size, pos, "\"", 1);
	for (size_t i = 0; i < vlen;) {
		unsigned char c = v[i];
		char esc[8];
		size_t k;
		if (c >= 0x80 && (k = utf8_len(v + i, vlen - i)) > 0) {
			pos = put(buf, size, pos, value + i, k);
			i += k;
			continue;
		}
		switch (c) {
		case '"': pos = put(buf, size, pos, "\\\"", 2); break;
		case '\\': pos = put(buf, size, pos, "\\\\", 2); break;
		case '\n': pos = put(buf, size, pos, "\\n", 2); break;
		case '\r': pos = put(buf, size, pos, "\\r", 2); break;
		case '\t': pos = put(buf, size, pos, "\\t", 2); break;
		default:
			if (c < 0x20 || c >= 0x7f) {
				snprintf(esc, sizeof esc, "\\x%02x", c);
				pos = put(buf, size, pos, esc, 4);
			} else {
				pos = put(buf, size, pos, value + i, 1);
			}
		}
		i++;
	}
	/* Never cut a line inside its closing quote. */
	if (pos + 2 > size)
		pos = size - 2;
	return put(buf, size, pos, "\"", 1);
}

static size_t append_str(char *buf, size_t size, size_t pos, const char *key, const char *value)
{
	return cr_log_append(buf, size, pos, key, value, strlen(value));
}

static size_t append_num(char *buf, size_t size, size_t pos, const char *key, long long n, bool hex)
{
	char v[32];
	snprintf(v, sizeof v, hex ? "0x%llx" : "%lld", n);
	return append_str(buf, size, pos, key, v);
}

static const char *result_name(enum cr_result r)
{
	static const char *const names[] = { "refused", "failed", "connected", "in-progress" };
	return names[r];
}

size_t cr_log_format(const struct cr_event *ev, char *buf, size_t size)
{
	size_t pos = 0;
	buf[0] = '\0';
	pos = append_str(buf, size, pos, "result", result_name(ev->result));
	pos = append_str(buf, size, pos, "simulated", ev->simulated ? "yes" : "no");
	if (ev->rule)
		pos = append_str(buf, size, pos, "rule", ev->rule);
	pos = append_str(buf, size, pos, "action", cr_action_name(ev->action));
	if (ev->dry_run)
		pos = append_str(buf, size, pos, "dry_run", "yes");
	pos = append_num(buf, size, pos, "pid", ev->pid, false);
	pos = append_str(buf, size, pos, "comm", ev->comm ? ev->comm : "?");
	if (ev->dest) {
		char d[sizeof ev->dest->path + 64];
		size_t n = cr_dest_format(ev->dest, d, sizeof d);
		pos = cr_log_append(buf, size, pos, "dst", d, n);
	}
	if (ev->host)
		pos = append_str(buf, size, pos, "host", ev->host);
	if (ev->proto)
		pos = append_str(buf, size, pos, "proto", ev->proto);
	if (ev->err) {
		struct connrefuse_error e;
		if (connrefuse_decode_errno(ev->err, &e) == 0) {
			pos = append_str(buf, size, pos, "errno", e.errno_name);
			pos = append_num(buf, size, pos, "code", e.errno_code, false);
			pos = append_num(buf, size, pos, "hex", e.errno_code, true);
			if (e.wsa_name) {
				pos = append_str(buf, size, pos, "wsa", e.wsa_name);
				pos = append_num(buf, size, pos, "wsa_code", e.wsa_code, false);
				pos = append_num(buf, size, pos, "wsa_hex", e.wsa_code, true);
			}
			pos = append_str(buf, size, pos, "desc", e.desc);
			if (e.hint)
				pos = append_str(buf, size, pos, "hint", e.hint);
		} else {
			pos = append_num(buf, size, pos, "code", ev->err, false);
			pos = append_num(buf, size, pos, "hex", ev->err, true);
		}
	}
	return pos;
}

/* ---- sinks: raw system calls, so that nothing we call is interposed (by us
 * or another preload) and no cancellation point is reached ---- */

static long sys_write_all(int fd, const char *s, size_t n)
{
	long w = syscall(SYS_write, fd, s, n);
	return w;
}

static void close_fd(int fd)
{
	syscall(SYS_close, fd);
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

static atomic_ulong syslog_dropped;      /* not yet reported */
static atomic_ulong syslog_dropped_total;

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
	strncpy(sun.sun_path, cr_log_syslog_path, sizeof sun.sun_path - 1);
	int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	long rc = syscall(SYS_sendto, fd, msg, total, MSG_DONTWAIT | MSG_NOSIGNAL, &sun, sizeof sun);
	int err = errno;
	close_fd(fd);
	return rc >= 0 || (err != EAGAIN && err != ENOBUFS);
}

static void send_file(const char *path, const char *line, size_t len)
{
	char msg[CR_LOG_LINE_MAX + 1];
	if (len > CR_LOG_LINE_MAX)
		len = CR_LOG_LINE_MAX;
	memcpy(msg, line, len);
	msg[len] = '\n';
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0)
		return;
	sys_write_all(fd, msg, len + 1);
	close_fd(fd);
}

static void send_stderr(const struct cr_log_conf *lc, const char *line, size_t len)
{
	char msg[CR_LOG_LINE_MAX + 64];
	int n = snprintf(msg, sizeof msg, "%s: %.*s\n", lc->ident, (int)len, line);
	if (n > 0)
		sys_write_all(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

/* One line to every sink, on behalf of process pid (the supervisor of
 * run --seccomp logs for others). Returns false if syslog dropped it. */
static bool emit(const struct cr_log_conf *lc, int severity, const char *line, size_t len, pid_t pid)
{
	bool ok = true;
	if (lc->syslog)
		ok = send_syslog(lc, severity, line, len, pid);
	if (lc->to_stderr)
		send_stderr(lc, line, len);
	if (lc->file)
		send_file(lc->file, line, len);
	return ok;
}

/* ---- rate limit: a one-second window, lock-free ---- */

static atomic_long window_sec = -1;
static atomic_uint window_count;
static atomic_ulong suppressed;

static long now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

void cr_log_summary(const struct cr_log_conf *lc, const char *comm)
{
	unsigned long s = atomic_exchange(&suppressed, 0), d = atomic_exchange(&syslog_dropped, 0);
	if (!s && !d)
		return;
	char line[256];
	size_t pos = 0;
	line[0] = '\0';
	pos = append_str(line, sizeof line, pos, "result", "suppressed");
	pos = append_num(line, sizeof line, pos, "count", (long long)s, false);
	pos = append_num(line, sizeof line, pos, "dropped", (long long)d, false);
	pos = append_num(line, sizeof line, pos, "pid", getpid(), false);
	pos = append_str(line, sizeof line, pos, "comm", comm ? comm : "?");
	/* A summary that syslog cannot take is not counted again. */
	emit(lc, LOG_WARNING, line, pos, getpid());
}

enum cr_result cr_result_of(int err)
{
	return err == 0 ? CR_RES_CONNECTED : err == ECONNREFUSED ? CR_RES_REFUSED : CR_RES_FAILED;
}

int cr_level_needed(int err, bool dry_run)
{
	return err || dry_run ? CR_LEVEL_FAILURES : CR_LEVEL_ALL;
}

void cr_log_event(const struct cr_log_conf *lc, const struct cr_event *ev)
{
	if (lc->rate) {
		long sec = now_sec(), w = atomic_load(&window_sec);
		if (sec != w && atomic_compare_exchange_strong(&window_sec, &w, sec)) {
			atomic_store(&window_count, 0);
			cr_log_summary(lc, ev->comm);
		}
		if (atomic_fetch_add(&window_count, 1) >= lc->rate) {
			atomic_fetch_add(&suppressed, 1);
			return;
		}
	}
	/* The pid only now, for a line that is written: getpid() is a system
	 * call, and most lines of a storm are suppressed above. */
	struct cr_event e = *ev;
	if (!e.pid)
		e.pid = getpid();
	char line[CR_LOG_LINE_MAX];
	size_t len = cr_log_format(&e, line, sizeof line);
	int severity = e.result == CR_RES_REFUSED || e.result == CR_RES_FAILED ? LOG_WARNING : LOG_INFO;
	if (!emit(lc, severity, line, len, e.pid)) {
		atomic_fetch_add(&syslog_dropped, 1);
		atomic_fetch_add(&syslog_dropped_total, 1);
	}
}

void cr_log_message(const struct cr_log_conf *lc, int priority, bool to_stderr, const char *msg)
{
	size_t len = strlen(msg);
	if (lc->syslog)
		send_syslog(lc, priority, msg, len, getpid());
	if (to_stderr)
		send_stderr(lc, msg, len);
	if (lc->file)
		send_file(lc->file, msg, len);
}

unsigned long cr_log_dropped_total(void)
{
	return atomic_load(&syslog_dropped_total);
}
