/* Log lines read back (logparse.h): logfmt, JSON, and the syslog header's
 * machine. */
#define _GNU_SOURCE
#include "logparse.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- logfmt ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cr_logfmt_parse(char *line, void (*fn)(const char *key, const char *value, void *arg), void *arg)
{
	int n = 0;
	char *p = line;
	while (*p) {
		while (*p == ' ')
			p++;
		char *key = p;
		while (*p && *p != '=' && *p != ' ')
			p++;
		if (*p != '=')
			break;
		*p++ = '\0';
		char *value = p, *w = p;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1]) {
					p++;
					switch (*p) {
					case 'n':
						*w++ = '\n';
						p++;
						break;
					case 'r':
						*w++ = '\r';
						p++;
						break;
					case 't':
						*w++ = '\t';
						p++;
						break;
					case 'x':
						if (hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
							*w++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
							p += 3;
							break;
						}
						/* fall through */
					default:
						*w++ = *p++;
					}
				} else {
					*w++ = *p++;
				}
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ' ')
				*w++ = *p++;
		}
		char *next = p;
		if (*next)
			next++;
		*w = '\0';
		fn(key, value, arg);
		n++;
		p = next;
	}
	return n;
}

/* ---- JSON lines (log.format = "json"): one flat object ---- */

/* Appends code point cp as UTF-8 at w. */
static char *put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* A JSON string at p (after its opening quote), unescaped in place; the
 * end of the string's text, and *next after its closing quote. NULL if it
 * does not end. */
static char *json_string_at(char *p, char **next)
{
	char *w = p;
	while (*p && *p != '"') {
		if (*p != '\\' || !p[1]) {
			*w++ = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'n':
			*w++ = '\n';
			p++;
			break;
		case 'r':
			*w++ = '\r';
			p++;
			break;
		case 't':
			*w++ = '\t';
			p++;
			break;
		case 'b':
			*w++ = '\b';
			p++;
			break;
		case 'f':
			*w++ = '\f';
			p++;
			break;
		case 'u': {
			unsigned cp = 0;
			int i;
			for (i = 1; i <= 4 && hexval(p[i]) >= 0; i++)
				cp = cp * 16 + (unsigned)hexval(p[i]);
			if (i <= 4 || cp == 0) { /* malformed, or a NUL: kept as text */
				*w++ = 'u';
				p++;
				break;
			}
			w = put_utf8(w, cp);
			p += 5;
			break;
		}
		default:
			*w++ = *p++;
		}
	}
	if (*p != '"')
		return NULL;
	*next = p + 1;
	return w;
}

int cr_json_parse(char *line, void (*fn)(const char *key, const char *value, void *arg), void *arg)
{
	int n = 0;
	char *p = line, *end;
	while (*p == ' ')
		p++;
	if (*p++ != '{')
		return 0;
	for (;;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p != '"')
			return n;
		char *key = ++p;
		if (!(end = json_string_at(p, &p)))
			return n;
		*end = '\0';
		while (*p == ' ')
			p++;
		if (*p++ != ':')
			return n;
		while (*p == ' ')
			p++;
		char *value = p, after;
		if (*p == '"') {
			value = ++p;
			if (!(end = json_string_at(p, &p)))
				return n;
			after = *p;
		} else { /* a number (or true, false, null): up to what follows it */
			end = p + strcspn(p, ",} ");
			after = *end;
			p = after ? end + 1 : end;
		}
		*end = '\0'; /* the value stays in place: fn may keep it */
		fn(key, value, arg);
		n++;
		if (after == '}' || !after)
			return n;
	}
}

/* ---- syslog headers: the machine a line came from ---- */

static bool is_month(const char *p)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	for (int i = 0; i < 12; i++)
		if (strncmp(p, months + 3 * i, 3) == 0 && p[3] == ' ')
			return true;
	return false;
}

/* Skips n space-separated fields (runs of spaces count as one). */
static const char *skip_fields(const char *p, int n)
{
	for (; n > 0 && *p; n--) {
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	return p;
}

void cr_syslog_machine(const char *header, char *out, size_t size)
{
	const char *p = header, *host = NULL;
	out[0] = '\0';
	if (*p == '<') { /* a priority */
		const char *q = p + 1 + strspn(p + 1, "0123456789");
		if (*q == '>')
			p = q + 1;
	}
	if (p[0] == '1' && p[1] == ' ')
		host = skip_fields(p + 2, 1); /* RFC 5424: VERSION TIMESTAMP HOSTNAME ... */
	else if (is_month(p))
		host = skip_fields(p, 3); /* RFC 3164, rsyslog's traditional file format, journal text */
	else if (strspn(p, "0123456789") == 4 && p[4] == '-')
		host = skip_fields(p, 1); /* an ISO timestamp first (RSYSLOG_FileFormat) */
	if (!host || !*host || *host == ' ')
		return;
	size_t n = strcspn(host, " ");
	if (n == 1 && *host == '-')
		return; /* RFC 5424's nil hostname */
	snprintf(out, size, "%.*s", (int)n, host);
}
