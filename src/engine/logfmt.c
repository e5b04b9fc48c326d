/* The log line: logfmt key=value pairs in the spec's order, escaped so
 * that no value can forge a key or a line. */
#define _GNU_SOURCE
#include "logfmt.h"
#include "errtab.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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

/* logfmt: key=value, quoted and escaped when the value needs it. */
static size_t append_logfmt(char *buf, size_t size, size_t pos, const char *key, const char *value, size_t vlen)
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
		case '"':
			pos = put(buf, size, pos, "\\\"", 2);
			break;
		case '\\':
			pos = put(buf, size, pos, "\\\\", 2);
			break;
		case '\n':
			pos = put(buf, size, pos, "\\n", 2);
			break;
		case '\r':
			pos = put(buf, size, pos, "\\r", 2);
			break;
		case '\t':
			pos = put(buf, size, pos, "\\t", 2);
			break;
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

/* JSON: "key":value, a string escaped as JSON wants (control characters as
 * \u00XX; a byte that is not UTF-8 as the text \xNN, as logfmt writes it,
 * so that the line stays valid UTF-8). Written whole or not at all, so that
 * a line too long loses keys but stays one valid object. */
static size_t append_json(char *buf, size_t size, size_t pos, const char *key, const char *value, size_t vlen,
			  bool number)
{
	char tmp[CR_LOG_LINE_MAX];
	size_t t = 0;
	const unsigned char *v = (const unsigned char *)value;
	t = put(tmp, sizeof tmp, t, pos > 1 ? ",\"" : "\"", pos > 1 ? 2 : 1);
	t = put(tmp, sizeof tmp, t, key, strlen(key));
	t = put(tmp, sizeof tmp, t, number ? "\":" : "\":\"", number ? 2 : 3);
	for (size_t i = 0; i < vlen;) {
		unsigned char c = v[i];
		char esc[8];
		size_t k;
		if (c >= 0x80 && (k = utf8_len(v + i, vlen - i)) > 0) {
			t = put(tmp, sizeof tmp, t, value + i, k);
			i += k;
			continue;
		}
		if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = (char)c;
			t = put(tmp, sizeof tmp, t, esc, 2);
		} else if (c >= 0x80) {
			snprintf(esc, sizeof esc, "\\\\x%02x", c);
			t = put(tmp, sizeof tmp, t, esc, 5);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			t = put(tmp, sizeof tmp, t, esc, 6);
		} else {
			t = put(tmp, sizeof tmp, t, value + i, 1);
		}
		i++;
	}
	if (!number)
		t = put(tmp, sizeof tmp, t, "\"", 1);
	/* Room for it, the closing brace and the NUL. */
	if (t >= sizeof tmp - 1 || pos + t + 2 > size)
		return pos;
	return put(buf, size, pos, tmp, t);
}

void cr_line_begin(struct cr_line *l, char *buf, size_t size, bool json)
{
	*l = (struct cr_line){ .buf = buf, .size = size, .json = json };
	buf[0] = '\0';
	if (json)
		l->pos = put(buf, size, 0, "{", 1);
}

void cr_line_str(struct cr_line *l, const char *key, const char *value)
{
	size_t n = strlen(value);
	l->pos = l->json ? append_json(l->buf, l->size, l->pos, key, value, n, false)
			 : append_logfmt(l->buf, l->size, l->pos, key, value, n);
}

void cr_line_mem(struct cr_line *l, const char *key, const char *value, size_t n)
{
	l->pos = l->json ? append_json(l->buf, l->size, l->pos, key, value, n, false)
			 : append_logfmt(l->buf, l->size, l->pos, key, value, n);
}

void cr_line_num(struct cr_line *l, const char *key, long long n)
{
	char v[32];
	int len = snprintf(v, sizeof v, "%lld", n);
	l->pos = l->json ? append_json(l->buf, l->size, l->pos, key, v, (size_t)len, true)
			 : append_logfmt(l->buf, l->size, l->pos, key, v, (size_t)len);
}

void cr_line_hex(struct cr_line *l, const char *key, long long n)
{
	char v[32];
	snprintf(v, sizeof v, "0x%llx", n);
	cr_line_str(l, key, v);
}

size_t cr_line_end(struct cr_line *l)
{
	if (l->json)
		l->pos = put(l->buf, l->size, l->pos, "}", 1);
	return l->pos;
}

size_t cr_log_append(char *buf, size_t size, size_t pos, const char *key, const char *value, size_t vlen)
{
	return append_logfmt(buf, size, pos, key, value, vlen);
}

size_t cr_log_append_str(char *buf, size_t size, size_t pos, const char *key, const char *value)
{
	return append_logfmt(buf, size, pos, key, value, strlen(value));
}

size_t cr_log_append_num(char *buf, size_t size, size_t pos, const char *key, long long n, bool hex)
{
	char v[32];
	snprintf(v, sizeof v, hex ? "0x%llx" : "%lld", n);
	return cr_log_append_str(buf, size, pos, key, v);
}

/* ---- the stamp ---- */

void cr_utc_of(long long t, struct cr_utc *u)
{
	long long days = t / 86400, secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm). */
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	u->day = doy - (153 * mp + 2) / 5 + 1;
	u->mon = mp < 10 ? mp + 3 : mp - 9;
	u->year = (long long)yoe + era * 400 + (u->mon <= 2);
	u->hour = (unsigned)(secs / 3600);
	u->min = (unsigned)(secs / 60 % 60);
	u->sec = (unsigned)(secs % 60);
}

size_t cr_log_time(const struct timespec *ts, char *buf, size_t size)
{
	struct cr_utc u;
	cr_utc_of((long long)ts->tv_sec, &u);
	int n = snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u.%06ldZ", u.year, u.mon, u.day, u.hour, u.min,
			 u.sec, (long)(ts->tv_nsec / 1000));
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size ? size - 1 : 0;
}

void cr_line_begin_stamped(struct cr_line *l, char *buf, size_t size, bool json, const struct cr_stamp *s)
{
	char t[40];
	cr_log_time(&s->time, t, sizeof t);
	cr_line_begin(l, buf, size, json);
	cr_line_str(l, "time", t);
	cr_line_str(l, "machine", s->machine && *s->machine ? s->machine : "?");
}

void cr_line_keys_of(struct cr_line *l, const char *line, size_t len)
{
	if (l->json) {
		/* {"result":...} → ,"result":... (the closing brace is cr_line_end's) */
		if (len < 2 || line[0] != '{' || line[len - 1] != '}' || len == 2)
			return;
		line++;
		len -= 2;
		/* Whole or not at all, as every JSON key: the line stays valid. */
		if (l->pos + 1 + len + 2 > l->size)
			return;
		if (l->pos > 1)
			l->pos = put(l->buf, l->size, l->pos, ",", 1);
		l->pos = put(l->buf, l->size, l->pos, line, len);
		return;
	}
	if (!len)
		return;
	if (l->pos > 0)
		l->pos = put(l->buf, l->size, l->pos, " ", 1);
	l->pos = put(l->buf, l->size, l->pos, line, len);
}

static const char *result_name(enum cr_result r)
{
	static const char *const names[] = { "refused",  "failed", "connected", "in-progress", "dropped",
					     "resolved", "reset",  "closed",    "stalled",     "shaped" };
	return names[r];
}

size_t cr_log_format_as(const struct cr_event *ev, bool json, char *buf, size_t size)
{
	struct cr_line l;
	cr_line_begin(&l, buf, size, json);
	cr_line_str(&l, "result", result_name(ev->result));
	cr_line_str(&l, "simulated", ev->simulated ? "yes" : "no");
	if (ev->source)
		cr_line_str(&l, "source", ev->source);
	if (ev->rule)
		cr_line_str(&l, "rule", ev->rule);
	cr_line_str(&l, "action", cr_action_name(ev->action));
	if (ev->dry_run)
		cr_line_str(&l, "dry_run", "yes");
	cr_line_num(&l, "pid", ev->pid);
	if (ev->has_ids) {
		cr_line_num(&l, "uid", ev->uid);
		if (ev->euid != ev->uid)
			cr_line_num(&l, "euid", ev->euid);
	}
	cr_line_str(&l, "comm", ev->comm ? ev->comm : "?");
	if (ev->cgroup && strcmp(ev->cgroup, "/") != 0)
		cr_line_str(&l, "cgroup", ev->cgroup);
	if (ev->dest) {
		char d[sizeof ev->dest->path + 64];
		size_t n = cr_dest_format(ev->dest, d, sizeof d);
		cr_line_mem(&l, "dst", d, n);
	}
	if (ev->host)
		cr_line_str(&l, "host", ev->host);
	if (ev->proto)
		cr_line_str(&l, "proto", ev->proto);
	if (ev->traffic) {
		cr_line_num(&l, "sent", (long long)ev->sent);
		cr_line_num(&l, "received", (long long)ev->received);
		cr_line_num(&l, "after_ms", (long long)ev->after_ms);
	}
	if (ev->err) {
		struct connrefuse_error e;
		if (connrefuse_decode_errno(ev->err, &e) == 0) {
			cr_line_str(&l, "errno", e.errno_name);
			cr_line_num(&l, "code", e.errno_code);
			if (e.errno_code > 0) /* a resolver's code is negative: no hex (SPEC.md) */
				cr_line_hex(&l, "hex", e.errno_code);
			if (e.wsa_name) {
				cr_line_str(&l, "wsa", e.wsa_name);
				cr_line_num(&l, "wsa_code", e.wsa_code);
				cr_line_hex(&l, "wsa_hex", e.wsa_code);
			}
			cr_line_str(&l, "desc", e.desc);
			if (e.hint)
				cr_line_str(&l, "hint", e.hint);
		} else {
			cr_line_num(&l, "code", ev->err);
			cr_line_hex(&l, "hex", ev->err);
		}
	}
	return cr_line_end(&l);
}

size_t cr_log_format(const struct cr_event *ev, char *buf, size_t size)
{
	return cr_log_format_as(ev, false, buf, size);
}

enum cr_result cr_result_of(int err)
{
	return err == 0 ? CR_RES_CONNECTED : err == ECONNREFUSED ? CR_RES_REFUSED : CR_RES_FAILED;
}
