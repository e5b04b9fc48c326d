/* The keys of a rule that say where a connect goes (dst, host, port, proto,
 * path): each a value or a list of values, added to the draft rule. Apart
 * from config_rule.c, whose table names these parsers, as they share the
 * list machinery and the destination syntax, not the rest of the keys. */
#define _GNU_SOURCE
#include "config_impl.h"
#include "glob.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define fail cr_config_fail
#define RULE(target) ((struct cr_draft_rule *)(target))

/* Grows an array by one zeroed element; NULL when memory is out. */
static void *push(void **arr, unsigned *n, size_t size)
{
	void *p = realloc(*arr, (*n + 1) * size);
	if (!p)
		return NULL;
	*arr = p;
	void *e = (char *)p + *n * size;
	memset(e, 0, size);
	(*n)++;
	return e;
}

/* Calls fn on each element of a list/array, or on s itself if it is scalar. */
static int each(struct load *ld, const config_setting_t *s,
		int (*fn)(struct load *, const config_setting_t *, struct cr_draft_rule *), struct cr_draft_rule *r)
{
	int t = config_setting_type(s);
	if (t == CONFIG_TYPE_GROUP)
		return fail(ld, s, "'%s' must be a value or a list of values, not a group", config_setting_name(s));
	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
		return fn(ld, s, r);
	int n = config_setting_length(s);
	if (n == 0)
		return fail(ld, s, "'%s' is an empty list (leave the key out to match everything)",
			    config_setting_name(s));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) == CONFIG_TYPE_LIST || config_setting_type(e) == CONFIG_TYPE_ARRAY ||
		    config_setting_type(e) == CONFIG_TYPE_GROUP)
			return fail(ld, e, "'%s' cannot nest lists", config_setting_name(s));
		if (fn(ld, e, r) != 0)
			return -1;
	}
	return 0;
}

/* ---- match keys ---- */

/* Adds a host name (or glob) to the rule's names, as rules keep it. */
static int push_host(struct load *ld, const config_setting_t *s, struct cr_draft_rule *r, const char *v)
{
	char *h = cr_hostname_key(v), **hs = h ? push((void **)&r->hosts, &r->nhosts, sizeof h) : NULL;
	if (!hs) {
		free(h);
		return fail(ld, s, "out of memory");
	}
	*hs = h;
	return 0;
}

static int add_dst(struct load *ld, const config_setting_t *s, struct cr_draft_rule *r)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, "dst must be a string or a list of strings (an address, CIDR, host name or \"*\")");
	const char *v = config_setting_get_string(s);
	if (strcmp(v, "*") == 0) {
		r->dst_any = true;
		return 0;
	}
	struct cr_prefix p, *slot;
	switch (cr_prefix_parse(v, &p)) {
	case CR_PREFIX_OK:
		if (!(slot = push((void **)&r->prefixes, &r->nprefixes, sizeof p)))
			return fail(ld, s, "out of memory");
		*slot = p;
		return 0;
	case CR_PREFIX_BAD_ADDRESS: {
		/* "127.0.0.1:5432", "[::1]:443": an address and a port in one. */
		const char *colon = strrchr(v, ':');
		char addr[64];
		struct cr_prefix a;
		size_t alen = colon ? (size_t)(colon - v) : 0;
		if (alen && v[0] == '[' && v[alen - 1] == ']')
			snprintf(addr, sizeof addr, "%.*s", (int)(alen - 2), v + 1);
		else
			snprintf(addr, sizeof addr, "%.*s", (int)alen, v);
		if (alen && alen < sizeof addr && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
		    cr_prefix_parse(addr, &a) == CR_PREFIX_OK)
			return fail(ld, s,
				    "dst \"%s\" holds a port: the port has a key of its own: dst = \"%s\"; port = %s;",
				    v, addr, colon + 1);
		return fail(ld, s, "dst \"%s\" is not a valid IPv4 or IPv6 address", v);
	}
	case CR_PREFIX_BAD_LEN:
		return fail(ld, s, "dst \"%s\" has a bad prefix length (0-32 for IPv4, 0-128 for IPv6)", v);
	case CR_PREFIX_HOST_BITS:
		return fail(ld, s,
			    "dst \"%s\" has host bits set below the prefix length (a typo? the network is the address with those bits cleared)",
			    v);
	case CR_PREFIX_NOT_ADDRESS:
		break;
	}
	if (!cr_hostname_valid(v))
		return fail(ld, s, "dst \"%s\" is neither an address, a CIDR, a host name, \"*.domain\" nor \"*\"", v);
	return push_host(ld, s, r, v);
}

/* A host rule's name: a host name, "*.domain", or "*" (every name). */
static int add_host(struct load *ld, const config_setting_t *s, struct cr_draft_rule *r)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, "host must be a string or a list of strings (a host name, \"*.domain\" or \"*\")");
	const char *v = config_setting_get_string(s);
	struct cr_prefix p;
	if (cr_prefix_parse(v, &p) != CR_PREFIX_NOT_ADDRESS)
		return fail(ld, s,
			    "host \"%s\" is an address: host rules act on the names a program looks up (an address is never looked up; use dst for it)",
			    v);
	if (strcmp(v, "*") != 0 && !cr_hostname_valid(v))
		return fail(ld, s, "host \"%s\" is neither a host name, \"*.domain\" nor \"*\"", v);
	return push_host(ld, s, r, v);
}

static int parse_port_number(const char *s, const char **end, unsigned *out)
{
	char *e;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (errno || v > 65535)
		return -1;
	*out = (unsigned)v;
	*end = e;
	return 0;
}

static int port_range(struct load *ld, const config_setting_t *s, struct cr_port_range *pr)
{
	int t = config_setting_type(s);
	if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
		long long v;
		cr_config_int(ld, s, &v);
		if (v < 0 || v > 65535)
			return fail(ld, s, "port %lld is out of range (0-65535)", v);
		pr->lo = pr->hi = (uint16_t)v;
		return 0;
	}
	if (t != CONFIG_TYPE_STRING)
		return fail(ld, s, "port must be a number, a range \"a-b\", or a list of them");
	const char *v = config_setting_get_string(s), *e;
	unsigned lo, hi;
	if (parse_port_number(v, &e, &lo) != 0)
		return fail(ld, s, "port \"%s\" must be a number or a range \"a-b\" within 0-65535", v);
	hi = lo;
	if ((*e == '-' && parse_port_number(e + 1, &e, &hi) != 0) || *e != '\0')
		return fail(ld, s, "port \"%s\" must be a number or a range \"a-b\" within 0-65535", v);
	if (hi < lo)
		return fail(ld, s, "port range \"%s\" is backwards", v);
	pr->lo = (uint16_t)lo;
	pr->hi = (uint16_t)hi;
	return 0;
}

static int add_port(struct load *ld, const config_setting_t *s, struct cr_draft_rule *r)
{
	struct cr_port_range pr, *slot;
	if (port_range(ld, s, &pr) != 0)
		return -1;
	if (!(slot = push((void **)&r->ports, &r->nports, sizeof pr)))
		return fail(ld, s, "out of memory");
	*slot = pr;
	return 0;
}

const char *const cr_proto_names[] = { "tcp", "udp", "unix" }; /* bit i: 1 << i (CR_PROTO_*) */

static int add_proto(struct load *ld, const config_setting_t *s, struct cr_draft_rule *r)
{
	const char *v;
	if (cr_config_string(ld, s, &v) != 0)
		return -1;
	for (unsigned b = 0; b < 3; b++)
		if (strcmp(v, cr_proto_names[b]) == 0) {
			r->proto_mask |= 1u << b;
			return 0;
		}
	return fail(ld, s, "proto \"%s\" must be \"tcp\", \"udp\" or \"unix\"", v);
}

static int add_path(struct load *ld, const config_setting_t *s, struct cr_draft_rule *r)
{
	const char *v, *why;
	if (cr_config_string(ld, s, &v) != 0)
		return -1;
	if (v[0] != '/' && v[0] != '@' && v[0] != '*')
		return fail(ld, s, "path \"%s\" must be absolute (\"/run/x.sock\"), abstract (\"@name\") or a glob", v);
	if ((why = cr_glob_check(v)) != NULL)
		return fail(ld, s, "path \"%s\" %s", v, why);
	char *p = strdup(v), **slot = p ? push((void **)&r->paths, &r->npaths, sizeof p) : NULL;
	if (!slot) {
		free(p);
		return fail(ld, s, "out of memory");
	}
	*slot = p;
	return 0;
}

/* ---- their parsers, named by the key table (config_rule.c) ---- */

int cr_parse_dst(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)v;
	RULE(t)->has_dst = true;
	return each(ld, s, add_dst, t);
}

int cr_parse_host(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)v;
	RULE(t)->resolver = true;
	return each(ld, s, add_host, t);
}

int cr_parse_port(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)v;
	return each(ld, s, add_port, t);
}

int cr_parse_proto(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)v;
	return each(ld, s, add_proto, t);
}

int cr_parse_path(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)v;
	return each(ld, s, add_path, t);
}
