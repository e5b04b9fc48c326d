#include "addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int cr_dest_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct cr_dest *out)
{
	/* The kernel rejects more than sockaddr_storage with EINVAL. */
	if (!sa || len < sizeof(sa_family_t) || len > sizeof(struct sockaddr_storage))
		return -1;
	memset(out, 0, offsetof(struct cr_dest, path));
	out->path[0] = '\0';
	switch (sa->sa_family) {
	case AF_INET: {
		if (len < sizeof(struct sockaddr_in))
			return -1;
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->family = CR_FAM_INET;
		out->port = ntohs(in->sin_port);
		memcpy(out->addr, &in->sin_addr, 4);
		return 0;
	}
	case AF_INET6: {
		/* The kernel accepts the RFC 2133 size, without sin6_scope_id. */
		if (len < 24)
			return -1;
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		out->port = ntohs(in6->sin6_port);
		if (memcmp(in6->sin6_addr.s6_addr, v4mapped_prefix, 12) == 0) {
			out->family = CR_FAM_INET;
			out->mapped = true;
			memcpy(out->addr, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			out->family = CR_FAM_INET6;
			memcpy(out->addr, in6->sin6_addr.s6_addr, 16);
			if (len >= sizeof(struct sockaddr_in6))
				out->scope_id = in6->sin6_scope_id;
		}
		return 0;
	}
	case AF_UNIX: {
		/* No name at all (the family alone) is EINVAL from the kernel. */
		if (len > sizeof(struct sockaddr_un) || len <= offsetof(struct sockaddr_un, sun_path))
			return -1;
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		size_t n = len - offsetof(struct sockaddr_un, sun_path);
		out->family = CR_FAM_UNIX;
		if (n > 0 && un->sun_path[0] == '\0') {
			/* Abstract: every byte of the length counts, NULs included. */
			out->path[0] = '@';
			memcpy(out->path + 1, un->sun_path + 1, n - 1);
			out->path_len = (uint16_t)n;
		} else {
			/* Filesystem path: up to the first NUL, or the whole length. */
			size_t k = strnlen(un->sun_path, n);
			memcpy(out->path, un->sun_path, k);
			out->path_len = (uint16_t)k;
		}
		out->path[out->path_len] = '\0';
		return 0;
	}
	default:
		return -1;
	}
}

socklen_t cr_sink_address(const struct cr_dest *d, int sa_family, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof *out);
	if (sa_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof *in;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
	in6->sin6_family = AF_INET6;
	if (d->mapped) {
		in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
		in6->sin6_addr.s6_addr[12] = 127;
		in6->sin6_addr.s6_addr[15] = 1;
	} else {
		in6->sin6_addr = in6addr_loopback;
	}
	return sizeof *in6;
}

size_t cr_dest_format(const struct cr_dest *d, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	int n;
	if (size == 0)
		return 0;
	switch (d->family) {
	case CR_FAM_INET:
		inet_ntop(AF_INET, d->addr, a, sizeof a);
		n = d->mapped ? snprintf(buf, size, "[::ffff:%s]:%u", a, d->port)
			      : snprintf(buf, size, "%s:%u", a, d->port);
		break;
	case CR_FAM_INET6:
		inet_ntop(AF_INET6, d->addr, a, sizeof a);
		n = snprintf(buf, size, "[%s]:%u", a, d->port);
		break;
	case CR_FAM_UNIX: {
		size_t k = d->path_len < size - 1 ? d->path_len : size - 1;
		memcpy(buf, d->path, k);
		buf[k] = '\0';
		return k;
	}
	default:
		buf[0] = '\0';
		return 0;
	}
	if (n < 0)
		n = 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

enum cr_prefix_status cr_prefix_parse(const char *text, struct cr_prefix *out)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof addr)
		return CR_PREFIX_NOT_ADDRESS;
	memcpy(addr, text, alen);
	addr[alen] = '\0';

	unsigned maxlen;
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = CR_FAM_INET;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		if (memcmp(out->addr, v4mapped_prefix, 12) == 0) {
			/* ::ffff:a.b.c.d in a rule means the IPv4 address. */
			memmove(out->addr, out->addr + 12, 4);
			memset(out->addr + 4, 0, 12);
			out->family = CR_FAM_INET;
			maxlen = 32;
		} else {
			out->family = CR_FAM_INET6;
			maxlen = 128;
		}
	} else {
		/* Something made only of digits and dots, or holding a colon,
		 * was meant as an address: say so rather than take it for a name. */
		if (strspn(addr, "0123456789.") == alen || strchr(addr, ':'))
			return CR_PREFIX_BAD_ADDRESS;
		return CR_PREFIX_NOT_ADDRESS;
	}
	unsigned len = maxlen;
	if (slash) {
		char *end;
		const char *num = slash + 1;
		if (*num < '0' || *num > '9')
			return CR_PREFIX_BAD_LEN;
		unsigned long v = strtoul(num, &end, 10);
		if (*end != '\0' || v > maxlen || end - num > 3)
			return CR_PREFIX_BAD_LEN;
		len = (unsigned)v;
	}
	out->len = (uint8_t)len;
	/* Host bits set below the prefix are almost always a typo. */
	for (unsigned bit = len; bit < maxlen; bit++)
		if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
			return CR_PREFIX_HOST_BITS;
	return CR_PREFIX_OK;
}

bool cr_prefix_match(const struct cr_prefix *p, const struct cr_dest *d)
{
	/* Read once: a compiled file's prefix may change under its mapping. */
	unsigned len = *(const volatile uint8_t *)&p->len;
	if (p->family != d->family || len > 128)
		return false; /* a length no parse makes: a corrupt compiled file's */
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(p->addr, d->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (p->addr[full] & mask) == (d->addr[full] & mask);
}

size_t cr_prefix_format(const struct cr_prefix *p, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	unsigned max = p->family == CR_FAM_INET ? 32 : 128;
	inet_ntop(p->family == CR_FAM_INET ? AF_INET : AF_INET6, p->addr, a, sizeof a);
	int n = p->len == max ? snprintf(buf, size, "%s", a) : snprintf(buf, size, "%s/%u", a, p->len);
	return n < 0 ? 0 : (size_t)n;
}

/* ---- host names ---- */

bool cr_hostname_valid(const char *h)
{
	if (strncmp(h, "*.", 2) == 0)
		h += 2;
	size_t n = strlen(h), label = 0;
	if (n == 0 || n > 253)
		return false;
	for (const char *p = h; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 || h[n - 1] == '.';
}

/* A host name as rules keep it: lower case, no trailing dot. */
char *cr_hostname_key(const char *v)
{
	char *h = strdup(v);
	if (!h)
		return NULL;
	for (char *c = h; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	size_t n = strlen(h);
	if (n > 1 && h[n - 1] == '.')
		h[n - 1] = '\0';
	return h;
}
