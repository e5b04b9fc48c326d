/* DST[:PORT]: the destinations of run --refuse and of match. */
#include "cli.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cr_target_parse(const char *text, struct cr_target *t)
{
	t->port = -1;
	t->unix_path = text[0] == '/' || text[0] == '@';
	if (t->unix_path) {
		if (strlen(text) >= sizeof t->host)
			return -1;
		strcpy(t->host, text);
		return 0;
	}
	const char *port = NULL;
	size_t hlen;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close)
			return -1;
		hlen = (size_t)(close - text - 1);
		text++;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -1;
	} else {
		const char *colon = strrchr(text, ':');
		/* More than one colon without brackets: an IPv6 address, no port. */
		if (colon && strchr(text, ':') == colon)
			port = colon + 1;
		hlen = port ? (size_t)(colon - text) : strlen(text);
	}
	if (hlen == 0 || hlen >= sizeof t->host)
		return -1;
	memcpy(t->host, text, hlen);
	t->host[hlen] = '\0';
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
			return -1;
		t->port = (int)p;
	}
	return 0;
}

int cr_target_dest(const struct cr_target *t, struct cr_dest *d, const char **host)
{
	memset(d, 0, sizeof *d);
	if (t->unix_path) {
		d->family = CR_FAM_UNIX;
		d->path_len = (uint16_t)strlen(t->host);
		memcpy(d->path, t->host, d->path_len + 1);
		return 0;
	}
	struct cr_prefix p;
	d->port = t->port < 0 ? 0 : (uint16_t)t->port;
	enum cr_prefix_status st = cr_prefix_parse(t->host, &p);
	if (st == CR_PREFIX_OK && (p.len == 32 || p.len == 128)) {
		d->family = p.family;
		memcpy(d->addr, p.addr, 16);
		return 0;
	}
	if (st != CR_PREFIX_NOT_ADDRESS)
		return -1;
	/* A name: it stands for an address the program resolved from it. */
	d->family = CR_FAM_INET6;
	*host = t->host;
	return 0;
}

bool cr_target_port_like(const char *text, char *hint, size_t size)
{
	const char *last = strrchr(text, ':');
	char before[64];
	unsigned char a6[16];
	if (!last || last == strchr(text, ':') || text[0] == '[' || !last[1] ||
	    strspn(last + 1, "0123456789") != strlen(last + 1) || atol(last + 1) > 65535 ||
	    (size_t)(last - text) >= sizeof before)
		return false;
	/* and what comes before it is an address of its own */
	snprintf(before, sizeof before, "%.*s", (int)(last - text), text);
	if (inet_pton(AF_INET6, before, a6) != 1)
		return false;
	snprintf(hint, size, "%s is read as an IPv6 address with no port; if %s is the port, write [%s]:%s", text,
		 last + 1, before, last + 1);
	return true;
}
