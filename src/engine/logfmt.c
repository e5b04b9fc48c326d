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

size_t cr_log_append_str(char *buf, size_t size, size_t pos, const char *key, const char *value)
{
	return cr_log_append(buf, size, pos, key, value, strlen(value));
}

size_t cr_log_append_num(char *buf, size_t size, size_t pos, const char *key, long long n, bool hex)
{
	char v[32];
	snprintf(v, sizeof v, hex ? "0x%llx" : "%lld", n);
	return cr_log_append_str(buf, size, pos, key, v);
}

static const char *result_name(enum cr_result r)
{
	static const char *const names[] = { "refused", "failed", "connected", "in-progress", "dropped", "resolved" };
	return names[r];
}

size_t cr_log_format(const struct cr_event *ev, char *buf, size_t size)
{
	size_t pos = 0;
	buf[0] = '\0';
	pos = cr_log_append_str(buf, size, pos, "result", result_name(ev->result));
	pos = cr_log_append_str(buf, size, pos, "simulated", ev->simulated ? "yes" : "no");
	if (ev->rule)
		pos = cr_log_append_str(buf, size, pos, "rule", ev->rule);
	pos = cr_log_append_str(buf, size, pos, "action", cr_action_name(ev->action));
	if (ev->dry_run)
		pos = cr_log_append_str(buf, size, pos, "dry_run", "yes");
	pos = cr_log_append_num(buf, size, pos, "pid", ev->pid, false);
	pos = cr_log_append_str(buf, size, pos, "comm", ev->comm ? ev->comm : "?");
	if (ev->dest) {
		char d[sizeof ev->dest->path + 64];
		size_t n = cr_dest_format(ev->dest, d, sizeof d);
		pos = cr_log_append(buf, size, pos, "dst", d, n);
	}
	if (ev->host)
		pos = cr_log_append_str(buf, size, pos, "host", ev->host);
	if (ev->proto)
		pos = cr_log_append_str(buf, size, pos, "proto", ev->proto);
	if (ev->err) {
		struct connrefuse_error e;
		if (connrefuse_decode_errno(ev->err, &e) == 0) {
			pos = cr_log_append_str(buf, size, pos, "errno", e.errno_name);
			pos = cr_log_append_num(buf, size, pos, "code", e.errno_code, false);
			if (e.errno_code > 0) /* a resolver's code is negative: no hex (SPEC.md) */
				pos = cr_log_append_num(buf, size, pos, "hex", e.errno_code, true);
			if (e.wsa_name) {
				pos = cr_log_append_str(buf, size, pos, "wsa", e.wsa_name);
				pos = cr_log_append_num(buf, size, pos, "wsa_code", e.wsa_code, false);
				pos = cr_log_append_num(buf, size, pos, "wsa_hex", e.wsa_code, true);
			}
			pos = cr_log_append_str(buf, size, pos, "desc", e.desc);
			if (e.hint)
				pos = cr_log_append_str(buf, size, pos, "hint", e.hint);
		} else {
			pos = cr_log_append_num(buf, size, pos, "code", ev->err, false);
			pos = cr_log_append_num(buf, size, pos, "hex", ev->err, true);
		}
	}
	return pos;
}

enum cr_result cr_result_of(int err)
{
	return err == 0 ? CR_RES_CONNECTED : err == ECONNREFUSED ? CR_RES_REFUSED : CR_RES_FAILED;
}

int cr_level_needed(int err, bool dry_run)
{
	return err || dry_run ? CR_LEVEL_FAILURES : CR_LEVEL_ALL;
}
