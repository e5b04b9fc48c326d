/* Config loading: libconfig parses the file; we check every key and value,
 * build the compact rule set of rules.h and free libconfig's tree.
 * Every error names the file and the line of the offending setting. */
#define _GNU_SOURCE
#include "rules.h"
#include "errtab.h"
#include "glob.h"
#include "index.h"
#include "decide.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

const char *const cr_fail_errnos[] = {
	"ECONNREFUSED", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH", "ECONNRESET",
	"EACCES", "EPERM", "EADDRNOTAVAIL", "ENETDOWN", "EHOSTDOWN", "ECONNABORTED",
	"EAGAIN", "EINTR", "ENOENT", NULL,
};

static const struct { const char *name; int value; } facilities[] = {
	{ "user", LOG_USER }, { "daemon", LOG_DAEMON },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

struct load {
	/* While a rule is read, every message names it: by name, or number. */
	const char *rule_name;
	unsigned rule_number;   /* from 1; 0 = not in a rule */
	const char *file;
	char *err;
	size_t errsize;
	struct cr_ruleset *rs;
};

static int __attribute__((format(printf, 3, 4)))
fail(struct load *ld, const config_setting_t *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n = 0;
	if (ld->rule_name)
		n = snprintf(msg, sizeof msg, "rule \"%.60s\": ", ld->rule_name);
	else if (ld->rule_number)
		n = snprintf(msg, sizeof msg, "rule %u: ", ld->rule_number);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	va_end(ap);
	const char *file = s && config_setting_source_file(s) ? config_setting_source_file(s) : ld->file;
	unsigned line = s ? config_setting_source_line(s) : 0;
	if (line)
		snprintf(ld->err, ld->errsize, "%s:%u: %s", file, line, msg);
	else
		snprintf(ld->err, ld->errsize, "%s: %s", file, msg);
	return -1;
}

/* ---- value readers: each checks the type and names the setting ---- */

static int get_int64(struct load *ld, const config_setting_t *s, long long *out)
{
	*out = 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		*out = config_setting_get_int(s);
		return 0;
	case CONFIG_TYPE_INT64:
		*out = config_setting_get_int64(s);
		return 0;
	default:
		return fail(ld, s, "'%s' must be an integer", config_setting_name(s));
	}
}

static int get_count(struct load *ld, const config_setting_t *s, long long min, long long max, long long *out)
{
	if (get_int64(ld, s, out) != 0)
		return -1;
	if (*out < min || *out > max)
		return fail(ld, s, "'%s' must be between %lld and %lld, not %lld",
			    config_setting_name(s), min, max, *out);
	return 0;
}

static int get_number(struct load *ld, const config_setting_t *s, double *out)
{
	*out = 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		*out = config_setting_get_int(s);
		return 0;
	case CONFIG_TYPE_INT64:
		*out = (double)config_setting_get_int64(s);
		return 0;
	case CONFIG_TYPE_FLOAT:
		*out = config_setting_get_float(s);
		if (!isfinite(*out))
			return fail(ld, s, "'%s' must be a finite number", config_setting_name(s));
		return 0;
	default:
		return fail(ld, s, "'%s' must be a number", config_setting_name(s));
	}
}

static int get_bool(struct load *ld, const config_setting_t *s, bool *out)
{
	*out = false;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(ld, s, "'%s' must be true or false", config_setting_name(s));
	*out = config_setting_get_bool(s);
	return 0;
}

static int get_string(struct load *ld, const config_setting_t *s, const char **out)
{
	*out = "";
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, "'%s' must be a string", config_setting_name(s));
	*out = config_setting_get_string(s);
	return 0;
}

static int get_level(struct load *ld, const config_setting_t *s, int *out)
{
	const char *v;
	if (get_string(ld, s, &v) != 0)
		return -1;
	for (int l = CR_LEVEL_NONE; l <= CR_LEVEL_ALL; l++)
		if (strcmp(v, cr_level_name(l)) == 0) {
			*out = l;
			return 0;
		}
	return fail(ld, s, "'%s' is \"%s\"; it must be \"none\", \"failures\" or \"all\"",
		    config_setting_name(s), v);
}

static int get_action(struct load *ld, const config_setting_t *s, enum cr_action *out)
{
	const char *v;
	if (get_string(ld, s, &v) != 0)
		return -1;
	for (int a = CR_ACT_PASS; a <= CR_ACT_FAIL; a++)
		if (strcmp(v, cr_action_name(a)) == 0) {
			*out = a;
			return 0;
		}
	return fail(ld, s, "'%s' is \"%s\"; it must be \"pass\", \"log\", \"refuse\" or \"fail\"",
		    config_setting_name(s), v);
}

/* Calls fn on each element of a list/array, or on s itself if it is scalar. */
static int each(struct load *ld, const config_setting_t *s,
		int (*fn)(struct load *, const config_setting_t *, void *), void *arg)
{
	int t = config_setting_type(s);
	if (t == CONFIG_TYPE_GROUP)
		return fail(ld, s, "'%s' must be a value or a list of values, not a group", config_setting_name(s));
	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
		return fn(ld, s, arg);
	int n = config_setting_length(s);
	if (n == 0)
		return fail(ld, s, "'%s' is an empty list (leave the key out to match everything)",
			    config_setting_name(s));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) == CONFIG_TYPE_LIST || config_setting_type(e) == CONFIG_TYPE_ARRAY ||
		    config_setting_type(e) == CONFIG_TYPE_GROUP)
			return fail(ld, e, "'%s' cannot nest lists", config_setting_name(s));
		if (fn(ld, e, arg) != 0)
			return -1;
	}
	return 0;
}

/* Grows an array by one element, returning the new element (zeroed). */
static void *push(void **arr, unsigned *n, size_t size)
{
	void *p = realloc(*arr, (*n + 1) * size);
	if (!p)
		abort();
	*arr = p;
	void *e = (char *)p + *n * size;
	memset(e, 0, size);
	(*n)++;
	return e;
}

/* ---- match keys ---- */

static bool valid_hostname(const char *h)
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

static int add_dst(struct load *ld, const config_setting_t *s, void *arg)
{
	struct cr_rule *r = arg;
	const char *v;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, "dst must be a string or a list of strings (an address, CIDR, host name or \"*\")");
	v = config_setting_get_string(s);
	if (strcmp(v, "*") == 0) {
		r->dst_any = true;
		return 0;
	}
	struct cr_prefix p;
	switch (cr_prefix_parse(v, &p)) {
	case CR_PREFIX_OK:
		*(struct cr_prefix *)push((void **)&r->prefixes, &r->nprefixes, sizeof p) = p;
		return 0;
	case CR_PREFIX_BAD_ADDRESS:
		return fail(ld, s, "dst \"%s\" is not a valid IPv4 or IPv6 address", v);
	case CR_PREFIX_BAD_LEN:
		return fail(ld, s, "dst \"%s\" has a bad prefix length (0-32 for IPv4, 0-128 for IPv6)", v);
	case CR_PREFIX_HOST_BITS: {
		return fail(ld, s, "dst \"%s\" has host bits set below the prefix length (a typo? the network is the address with those bits cleared)", v);
	}
	case CR_PREFIX_NOT_ADDRESS:
		break;
	}
	if (!valid_hostname(v))
		return fail(ld, s, "dst \"%s\" is neither an address, a CIDR, a host name, \"*.domain\" nor \"*\"", v);
	char *h = strdup(v);
	for (char *c = h; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	size_t n = strlen(h);
	if (n > 1 && h[n - 1] == '.')
		h[n - 1] = '\0';
	*(char **)push((void **)&r->hosts, &r->nhosts, sizeof h) = h;
	return 0;
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

static int add_port(struct load *ld, const config_setting_t *s, void *arg)
{
	struct cr_rule *r = arg;
	struct cr_port_range pr;
	int t = config_setting_type(s);
	if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
		long long v;
		get_int64(ld, s, &v);
		if (v < 0 || v > 65535)
			return fail(ld, s, "port %lld is out of range (0-65535)", v);
		pr.lo = pr.hi = (uint16_t)v;
	} else if (t == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s), *e;
		unsigned lo, hi;
		if (parse_port_number(v, &e, &lo) != 0)
			return fail(ld, s, "port \"%s\" must be a number or a range \"a-b\" within 0-65535", v);
		hi = lo;
		if (*e == '-' && parse_port_number(e + 1, &e, &hi) != 0)
			return fail(ld, s, "port \"%s\" must be a number or a range \"a-b\" within 0-65535", v);
		if (*e != '\0')
			return fail(ld, s, "port \"%s\" must be a number or a range \"a-b\" within 0-65535", v);
		if (hi < lo)
			return fail(ld, s, "port range \"%s\" is backwards", v);
		pr.lo = (uint16_t)lo;
		pr.hi = (uint16_t)hi;
	} else {
		return fail(ld, s, "port must be a number, a range \"a-b\", or a list of them");
	}
	*(struct cr_port_range *)push((void **)&r->ports, &r->nports, sizeof pr) = pr;
	return 0;
}

static int add_proto(struct load *ld, const config_setting_t *s, void *arg)
{
	struct cr_rule *r = arg;
	const char *v;
	if (get_string(ld, s, &v) != 0)
		return -1;
	if (strcmp(v, "tcp") == 0)
		r->proto_mask |= CR_PROTO_TCP;
	else if (strcmp(v, "udp") == 0)
		r->proto_mask |= CR_PROTO_UDP;
	else if (strcmp(v, "unix") == 0)
		r->proto_mask |= CR_PROTO_UNIX;
	else
		return fail(ld, s, "proto \"%s\" must be \"tcp\", \"udp\" or \"unix\"", v);
	return 0;
}

static int add_path(struct load *ld, const config_setting_t *s, void *arg)
{
	struct cr_rule *r = arg;
	const char *v, *why;
	if (get_string(ld, s, &v) != 0)
		return -1;
	if (v[0] != '/' && v[0] != '@' && v[0] != '*')
		return fail(ld, s, "path \"%s\" must be absolute (\"/run/x.sock\"), abstract (\"@name\") or a glob", v);
	if ((why = cr_glob_check(v)) != NULL)
		return fail(ld, s, "path \"%s\" %s", v, why);
	*(char **)push((void **)&r->paths, &r->npaths, sizeof(char *)) = strdup(v);
	return 0;
}

/* ---- one rule ---- */

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int parse_window(struct load *ld, const config_setting_t *s, struct cr_rule *r, bool flap)
{
	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return fail(ld, s, flap ? "flap must be a group: { up_s = 2.0; down_s = 1.0; }"
					: "window must be a group: { start_s = 5.0; duration_s = 10.0; }");
	const char *k1 = flap ? "up_s" : "start_s", *k2 = flap ? "down_s" : "duration_s";
	double *v1 = flap ? &r->flap_up : &r->window_start, *v2 = flap ? &r->flap_down : &r->window_duration;
	bool seen1 = false, seen2 = false;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *k = config_setting_name(e);
		if (strcmp(k, k1) == 0) {
			if (get_number(ld, e, v1) != 0)
				return -1;
			seen1 = true;
		} else if (strcmp(k, k2) == 0) {
			if (get_number(ld, e, v2) != 0)
				return -1;
			seen2 = true;
		} else {
			return fail(ld, e, "unknown key '%s' in %s (expected %s and %s)",
				    k, config_setting_name(s), k1, k2);
		}
	}
	if (!seen1 || !seen2)
		return fail(ld, s, "%s needs both %s and %s", config_setting_name(s), k1, k2);
	if (*v1 < 0 || *v2 <= 0 || (flap && *v1 <= 0 && *v2 <= 0))
		return fail(ld, s, "%s: %s must be >= 0 and %s > 0", config_setting_name(s), k1, k2);
	return 0;
}

static const char *const rule_keys =
	"name, dst, port, proto, path, process, action, errno, delay_ms, log, dry_run, "
	"probability, first, after, every, window, flap";

static int parse_rule(struct load *ld, const config_setting_t *g, unsigned index, struct cr_rule *r)
{
	const config_setting_t *errno_s = NULL;
	bool has_action = false;

	r->line = config_setting_source_line(g);
	r->process_ok = -1;
	r->level = CR_LEVEL_INHERIT;
	r->dry_run = -1;
	r->err = ECONNREFUSED;
	ld->rule_name = NULL;
	ld->rule_number = index + 1;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "must be a group: { name = \"...\"; dst = \"...\"; action = \"refuse\"; }");

	const config_setting_t *n = config_setting_get_member(g, "name");
	if (n) {
		const char *v;
		if (get_string(ld, n, &v) != 0)
			return -1;
		if (!*v)
			return fail(ld, n, "name is empty");
		for (const char *c = v; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return fail(ld, n, "name has a control character");
		r->name = strdup(v);
		r->named = true;
		ld->rule_name = r->name;
	} else {
		char buf[16];
		snprintf(buf, sizeof buf, "#%u", index + 1);
		r->name = strdup(buf);
	}

	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(s);
		int rc = 0;
		long long v;
		if (strcmp(k, "name") == 0) {
			continue;
		} else if (strcmp(k, "dst") == 0) {
			r->has_dst = true;
			rc = each(ld, s, add_dst, r);
		} else if (strcmp(k, "port") == 0) {
			rc = each(ld, s, add_port, r);
		} else if (strcmp(k, "proto") == 0) {
			rc = each(ld, s, add_proto, r);
		} else if (strcmp(k, "path") == 0) {
			rc = each(ld, s, add_path, r);
		} else if (strcmp(k, "process") == 0) {
			const char *p, *why;
			if ((rc = get_string(ld, s, &p)) == 0) {
				if (!*p)
					return fail(ld, s, "process is empty");
				if ((why = cr_glob_check(p)) != NULL)
					return fail(ld, s, "process \"%s\" %s", p, why);
				r->process = strdup(p);
			}
		} else if (strcmp(k, "action") == 0) {
			enum cr_action a;
			if ((rc = get_action(ld, s, &a)) == 0)
				r->action = (uint8_t)a;
			has_action = true;
		} else if (strcmp(k, "errno") == 0) {
			const char *e;
			if ((rc = get_string(ld, s, &e)) == 0) {
				unsigned j;
				for (j = 0; cr_fail_errnos[j]; j++)
					if (strcmp(cr_fail_errnos[j], e) == 0)
						break;
				if (!cr_fail_errnos[j])
					return fail(ld, s, "errno \"%s\" cannot be simulated; use one of ECONNREFUSED, "
						    "ETIMEDOUT, ENETUNREACH, EHOSTUNREACH, ECONNRESET, EACCES, EPERM, "
						    "EADDRNOTAVAIL, ENETDOWN, EHOSTDOWN, ECONNABORTED, EAGAIN, EINTR, ENOENT",
						    e);
				r->err = cr_errno_by_name(e);
				errno_s = s;
			}
		} else if (strcmp(k, "delay_ms") == 0) {
			if ((rc = get_count(ld, s, 0, 3600000, &v)) == 0)
				r->delay_ms = (unsigned)v;
		} else if (strcmp(k, "log") == 0) {
			int level;
			if ((rc = get_level(ld, s, &level)) == 0)
				r->level = (int8_t)level;
		} else if (strcmp(k, "dry_run") == 0) {
			bool b;
			if ((rc = get_bool(ld, s, &b)) == 0)
				r->dry_run = b;
		} else if (strcmp(k, "probability") == 0) {
			if ((rc = get_number(ld, s, &r->probability)) == 0 &&
			    (r->probability < 0 || r->probability > 1))
				return fail(ld, s, "probability must be between 0.0 and 1.0");
			r->has_probability = true;
		} else if (strcmp(k, "first") == 0) {
			if ((rc = get_count(ld, s, 1, INT64_MAX, &v)) == 0)
				r->first = (uint64_t)v;
		} else if (strcmp(k, "after") == 0) {
			if ((rc = get_count(ld, s, 1, INT64_MAX, &v)) == 0)
				r->after = (uint64_t)v;
		} else if (strcmp(k, "every") == 0) {
			if ((rc = get_count(ld, s, 1, INT64_MAX, &v)) == 0)
				r->every = (uint64_t)v;
		} else if (strcmp(k, "window") == 0) {
			rc = parse_window(ld, s, r, false);
			r->has_window = true;
		} else if (strcmp(k, "flap") == 0) {
			rc = parse_window(ld, s, r, true);
			r->has_flap = true;
		} else {
			return fail(ld, s, "unknown key '%s' (a rule takes: %s)", k, rule_keys);
		}
		if (rc != 0)
			return -1;
	}

	if (!has_action)
		return fail(ld, g, "it has no action (\"pass\", \"log\", \"refuse\" or \"fail\")");
	if (r->action == CR_ACT_FAIL && !errno_s)
		return fail(ld, g, "action \"fail\" needs an errno, e.g. errno = \"ETIMEDOUT\";");
	if (errno_s && r->action != CR_ACT_FAIL)
		return fail(ld, errno_s, "errno goes with action = \"fail\" (the action here is \"%s\")",
			    cr_action_name(r->action));
	if (r->has_dst && r->npaths)
		return fail(ld, g, "it has both dst and path, so it could never match (a destination is either an IP address or a unix socket)");
	if (r->npaths && r->nports)
		return fail(ld, g, "it has both path and port, so it could never match");
	if (r->proto_mask & CR_PROTO_UNIX && (r->has_dst || r->nports) && !(r->proto_mask & ~CR_PROTO_UNIX))
		return fail(ld, g, "proto \"unix\" with dst or port could never match");
	if (r->action == CR_ACT_LOG)
		r->level = r->level == CR_LEVEL_INHERIT ? CR_LEVEL_ALL : r->level;
	r->name_hash = hash_name(r->name);
	r->counted = r->first || r->after || r->every || r->has_probability;
	r->scheduled = r->counted || r->has_window || r->has_flap;
	return 0;
}

static int parse_log(struct load *ld, const config_setting_t *g)
{
	struct cr_log_conf *lc = &ld->rs->log;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "log must be a group: log: { syslog = true; level = \"failures\"; };");
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(s), *v;
		long long n;
		int rc;
		if (strcmp(k, "syslog") == 0) {
			rc = get_bool(ld, s, &lc->syslog);
		} else if (strcmp(k, "stderr") == 0) {
			rc = get_bool(ld, s, &lc->to_stderr);
		} else if (strcmp(k, "ident") == 0) {
			if ((rc = get_string(ld, s, &v)) == 0) {
				if (!*v || strlen(v) >= sizeof lc->ident || strpbrk(v, " :[]\t\n"))
					return fail(ld, s, "log.ident \"%s\" must be 1 to %zu characters, without spaces, ':' or brackets",
						    v, sizeof lc->ident - 1);
				strcpy(lc->ident, v);
			}
		} else if (strcmp(k, "facility") == 0) {
			if ((rc = get_string(ld, s, &v)) == 0) {
				unsigned j;
				for (j = 0; j < sizeof facilities / sizeof facilities[0]; j++)
					if (strcmp(facilities[j].name, v) == 0)
						break;
				if (j == sizeof facilities / sizeof facilities[0])
					return fail(ld, s, "log.facility \"%s\" must be user, daemon or local0 .. local7", v);
				lc->facility = facilities[j].value;
			}
		} else if (strcmp(k, "file") == 0) {
			if ((rc = get_string(ld, s, &v)) == 0) {
				free(lc->file);
				lc->file = *v ? strdup(v) : NULL;
			}
		} else if (strcmp(k, "level") == 0) {
			rc = get_level(ld, s, &lc->level);
		} else if (strcmp(k, "rate") == 0) {
			if ((rc = get_count(ld, s, 0, 1000000000, &n)) == 0)
				lc->rate = (unsigned)n;
		} else {
			return fail(ld, s, "unknown key 'log.%s' (log takes: syslog, ident, facility, stderr, file, level, rate)", k);
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Rule indices by name: duplicate detection at load, state hand-over at
 * reload, in time linear in the number of rules. */
struct name_set {
	int32_t *slot;
	uint32_t mask;
};

static int name_set_init(struct name_set *ns, unsigned n)
{
	uint32_t cap = 16;
	while (cap < 2 * n + 2)
		cap *= 2;
	ns->slot = malloc(cap * sizeof *ns->slot);
	if (!ns->slot)
		return -1;
	memset(ns->slot, 0xff, cap * sizeof *ns->slot);
	ns->mask = cap - 1;
	return 0;
}

static void name_set_free(struct name_set *ns)
{
	free(ns->slot);
}

/* Adds rules[i] by name; returns the index already there under that name, or -1. */
static int name_set_add(struct name_set *ns, const struct cr_rule *rules, unsigned i)
{
	uint32_t h = (uint32_t)rules[i].name_hash & ns->mask;
	for (; ns->slot[h] >= 0; h = (h + 1) & ns->mask)
		if (strcmp(rules[ns->slot[h]].name, rules[i].name) == 0)
			return ns->slot[h];
	ns->slot[h] = (int32_t)i;
	return -1;
}

static int name_set_find(const struct name_set *ns, const struct cr_rule *rules, const struct cr_rule *r)
{
	uint32_t h = (uint32_t)r->name_hash & ns->mask;
	for (; ns->slot[h] >= 0; h = (h + 1) & ns->mask)
		if (strcmp(rules[ns->slot[h]].name, r->name) == 0)
			return ns->slot[h];
	return -1;
}

static int parse_root(struct load *ld, const config_setting_t *root)
{
	struct cr_ruleset *rs = ld->rs;
	const config_setting_t *version = config_setting_get_member(root, "version");
	long long v;
	if (!version)
		return fail(ld, NULL, "no 'version = 1;' line: the file must say which config version it is written for");
	if (get_int64(ld, version, &v) != 0)
		return -1;
	if (v != 1)
		return fail(ld, version, "version %lld is not supported (this connrefuse reads version 1)", v);

	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *k = config_setting_name(s);
		int rc = 0;
		if (strcmp(k, "version") == 0) {
			continue;
		} else if (strcmp(k, "seed") == 0) {
			if ((rc = get_int64(ld, s, &v)) == 0) {
				rs->seed = (uint64_t)v;
				rs->seeded = true;
			}
		} else if (strcmp(k, "default_action") == 0) {
			if ((rc = get_action(ld, s, &rs->default_action)) == 0 &&
			    rs->default_action == CR_ACT_FAIL)
				return fail(ld, s, "default_action \"fail\" has no errno to fail with; use \"refuse\", or a last rule with dst = \"*\"");
		} else if (strcmp(k, "dry_run") == 0) {
			rc = get_bool(ld, s, &rs->dry_run);
		} else if (strcmp(k, "log") == 0) {
			rc = parse_log(ld, s);
		} else if (strcmp(k, "rules") == 0) {
			int t = config_setting_type(s);
			if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
				return fail(ld, s, "rules must be a list of groups: rules = ( { ... }, { ... } );");
			unsigned n = (unsigned)config_setting_length(s);
			rs->rules = cr_rules_alloc(n ? n : 1);
			if (!rs->rules)
				return fail(ld, s, "out of memory");
			for (unsigned j = 0; j < n && rc == 0; j++) {
				rs->nrules = j + 1;
				rc = parse_rule(ld, config_setting_get_elem(s, j), j, &rs->rules[j]);
			}
			ld->rule_name = NULL;
			ld->rule_number = 0;
		} else {
			return fail(ld, s, "unknown key '%s' (the top level takes: version, seed, default_action, dry_run, log, rules)", k);
		}
		if (rc != 0)
			return -1;
	}
	/* Names identify rules in logs and across reloads: they must be unique. */
	struct name_set names;
	if (name_set_init(&names, rs->nrules) != 0)
		return fail(ld, NULL, "out of memory");
	for (unsigned i = 0; i < rs->nrules; i++) {
		int first = rs->rules[i].named ? name_set_add(&names, rs->rules, i) : -1;
		if (first >= 0) {
			snprintf(ld->err, ld->errsize, "%s:%u: rule name \"%s\" is used twice (first at line %u)",
				 ld->file, rs->rules[i].line, rs->rules[i].name, rs->rules[first].line);
			name_set_free(&names);
			return -1;
		}
	}
	name_set_free(&names);
	return 0;
}

struct cr_rule *cr_rules_alloc(size_t n)
{
	return cr_big_calloc(n ? n * sizeof(struct cr_rule) : sizeof(struct cr_rule));
}

/* Each table starts 64 bytes into its own allocation, after a header that
 * says how to give it back. */
struct big_header {
	void *base;
	size_t mapped; /* 0: from malloc */
};
#define BIG_HEAD 64

void *cr_big_calloc(size_t bytes)
{
	const size_t huge = 2u << 20;
	if (bytes < 2 * huge) {
		char *p = aligned_alloc(BIG_HEAD, (bytes + BIG_HEAD + BIG_HEAD - 1) / BIG_HEAD * BIG_HEAD);
		if (!p)
			return NULL;
		memset(p + BIG_HEAD, 0, bytes);
		*(struct big_header *)(p + BIG_HEAD - sizeof(struct big_header)) = (struct big_header){ p, 0 };
		return p + BIG_HEAD;
	}
	/* Fresh pages (zero already, so no pass to clear them), the table
	 * starting on a huge page boundary. Big tables are read at random: on
	 * huge pages a look-up costs no TLB miss (THP "madvise" mode asks for
	 * this). */
	size_t len = bytes + 2 * huge;
	char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	char *data = (char *)(((uintptr_t)base + BIG_HEAD + huge - 1) & ~(uintptr_t)(huge - 1));
	madvise(data, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
	*(struct big_header *)(data - sizeof(struct big_header)) = (struct big_header){ base, len };
	return data;
}

void cr_big_free(void *p)
{
	if (!p)
		return;
	struct big_header h = *(struct big_header *)((char *)p - sizeof(struct big_header));
	if (h.mapped)
		munmap(h.base, h.mapped);
	else
		free(h.base);
}

static double monotonic_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void finish(struct cr_ruleset *rs)
{
	double now = monotonic_now();
	if (!rs->seeded && getrandom(&rs->seed, sizeof rs->seed, GRND_NONBLOCK) != sizeof rs->seed)
		rs->seed = (uint64_t)now * 6364136223846793005ULL ^ (uint64_t)getpid();
	for (unsigned i = 0; i < rs->nrules; i++) {
		struct cr_rule *r = &rs->rules[i];
		if (r->nports)
			r->port0 = r->ports[0];
		if (r->npaths)
			r->path0 = r->paths[0];
		if (r->proto_mask & (CR_PROTO_TCP | CR_PROTO_UDP))
			rs->needs_sotype = true;
		if (r->has_window || r->has_flap)
			rs->needs_clock = true;
		if (r->nhosts)
			rs->needs_host = true;
	}
	rs->states = calloc(1, sizeof *rs->states + (rs->nrules + 1) * sizeof rs->states->states[0]);
	if (!rs->states)
		abort();
	atomic_init(&rs->states->refs, 1);
	for (unsigned i = 0; i < rs->nrules; i++) {
		rs->rules[i].state = &rs->states->states[i];
		rs->rules[i].state->loaded_at = now;
	}
	rs->index = cr_index_build(rs);
}

static struct cr_ruleset *load(config_t *cfg, int ok, const char *name, char *err, size_t errsize)
{
	struct load ld = { .file = name, .err = err, .errsize = errsize };
	if (!ok) {
		if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
			snprintf(err, errsize, "%s: cannot read the file: %s", name, strerror(errno));
		else
			snprintf(err, errsize, "%s:%d: %s", config_error_file(cfg) ? config_error_file(cfg) : name,
				 config_error_line(cfg), config_error_text(cfg));
		config_destroy(cfg);
		return NULL;
	}
	ld.rs = cr_ruleset_new_empty();
	ld.rs->source = strdup(name);
	if (parse_root(&ld, config_root_setting(cfg)) != 0) {
		cr_ruleset_free(ld.rs);
		config_destroy(cfg);
		return NULL;
	}
	config_destroy(cfg);
	finish(ld.rs);
	/* libconfig's tree is gone: give its memory back (it is many times
	 * the size of the compact rules). */
	malloc_trim(0);
	return ld.rs;
}

struct cr_ruleset *cr_config_load(const char *path, char *err, size_t errsize)
{
	config_t cfg;
	config_init(&cfg);
	/* Relative @include paths are taken from the including file's folder. */
	char *dir = strdup(path), *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		config_set_include_dir(&cfg, *dir ? dir : "/");
	}
	/* Opened here, close-on-exec: a reload can run while another thread of
	 * the program forks and execs. (Files it @includes libconfig opens.) */
	FILE *in = fopen(path, "re");
	int saved = errno;
	free(dir);
	if (!in) {
		snprintf(err, errsize, "%s: cannot read the file: %s", path, strerror(saved));
		config_destroy(&cfg);
		return NULL;
	}
	int ok = config_read(&cfg, in);
	saved = errno;
	fclose(in);
	errno = saved;
	return load(&cfg, ok, path, err, errsize);
}

struct cr_ruleset *cr_config_load_string(const char *text, const char *name, char *err, size_t errsize)
{
	config_t cfg;
	config_init(&cfg);
	int ok = config_read_string(&cfg, text);
	return load(&cfg, ok, name, err, errsize);
}

struct cr_ruleset *cr_ruleset_new_empty(void)
{
	struct cr_ruleset *rs = calloc(1, sizeof *rs);
	rs->default_action = CR_ACT_PASS;
	rs->log.syslog = true;
	strcpy(rs->log.ident, "connrefuse");
	rs->log.facility = LOG_USER;
	rs->log.level = CR_LEVEL_FAILURES;
	rs->log.rate = 100;
	rs->rules = NULL;
	return rs;
}

static void free_strings(char **v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void block_unref(struct cr_state_block *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1)
		free(b);
}

void cr_ruleset_free(struct cr_ruleset *rs)
{
	if (!rs)
		return;
	for (unsigned i = 0; i < rs->nrules; i++) {
		struct cr_rule *r = &rs->rules[i];
		free(r->name);
		free(r->prefixes);
		free_strings(r->hosts, r->nhosts);
		free(r->ports);
		free_strings(r->paths, r->npaths);
		free(r->process);
		block_unref(r->foreign);
	}
	block_unref(rs->states);
	cr_big_free(rs->rules);
	free(rs->log.file);
	free(rs->source);
	cr_index_free(rs->index);
	free(rs);
}

size_t cr_ruleset_bytes(const struct cr_ruleset *rs)
{
	size_t n = sizeof *rs + rs->nrules * sizeof *rs->rules + cr_index_size(rs->index);
	for (unsigned i = 0; i < rs->nrules; i++) {
		const struct cr_rule *r = &rs->rules[i];
		n += strlen(r->name) + 1 + r->nprefixes * sizeof *r->prefixes + r->nports * sizeof *r->ports +
		     sizeof *r->state + (r->process ? strlen(r->process) + 1 : 0);
		for (unsigned j = 0; j < r->nhosts; j++)
			n += sizeof(char *) + strlen(r->hosts[j]) + 1;
		for (unsigned j = 0; j < r->npaths; j++)
			n += sizeof(char *) + strlen(r->paths[j]) + 1;
	}
	return n;
}

void cr_ruleset_bind_process(struct cr_ruleset *rs, const char *comm, const char *exe)
{
	for (unsigned i = 0; i < rs->nrules; i++) {
		struct cr_rule *r = &rs->rules[i];
		if (r->process)
			r->process_ok = cr_process_matches(r->process, comm, exe && *exe ? exe : NULL);
	}
}

void cr_ruleset_prepend(struct cr_ruleset *dst, struct cr_ruleset *src)
{
	struct cr_rule *rules = cr_rules_alloc(dst->nrules + src->nrules + 1);
	if (!rules)
		abort();
	if (src->nrules)
		memcpy(rules, src->rules, src->nrules * sizeof *rules);
	if (dst->nrules)
		memcpy(rules + src->nrules, dst->rules, dst->nrules * sizeof *rules);
	/* The moved rules keep their states: their block must outlive src. */
	for (unsigned i = 0; i < src->nrules; i++)
		if (!rules[i].foreign && src->states) {
			rules[i].foreign = src->states;
			atomic_fetch_add(&src->states->refs, 1);
		}
	cr_big_free(dst->rules);
	cr_big_free(src->rules);
	dst->rules = rules;
	dst->nrules += src->nrules;
	dst->needs_sotype |= src->needs_sotype;
	dst->needs_clock |= src->needs_clock;
	dst->needs_host |= src->needs_host;
	src->rules = NULL;
	src->nrules = 0;
	cr_index_free(dst->index);
	cr_index_free(src->index);
	src->index = NULL;
	dst->index = cr_index_build(dst);
}

const char *cr_action_name(enum cr_action a)
{
	static const char *const names[] = { "pass", "log", "refuse", "fail" };
	return (unsigned)a < 4 ? names[a] : "?";
}

const char *cr_level_name(int level)
{
	static const char *const names[] = { "none", "failures", "all" };
	return level >= 0 && level <= 2 ? names[level] : "inherit";
}

/* ---- printing: the rule set as a config file ---- */

static void print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

/* The shortest text that reads back as the same double. */
static void print_number(FILE *out, const char *key, double v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof buf, "%.17g", v);
	/* A number with no '.' would read back as an integer: fine, the
	 * loader takes integers wherever it takes numbers. */
	fprintf(out, "%s = %s;", key, buf);
}

/* "window = { start_s = 5; duration_s = 10; }; " */
static void print_pair(FILE *out, const char *group, const char *k1, double v1, const char *k2, double v2)
{
	fprintf(out, "%s = { ", group);
	print_number(out, k1, v1);
	fputc(' ', out);
	print_number(out, k2, v2);
	fprintf(out, " }; ");
}

static const char *facility_name(int f)
{
	for (unsigned j = 0; j < sizeof facilities / sizeof facilities[0]; j++)
		if (facilities[j].value == f)
			return facilities[j].name;
	return "user";
}

/* One rule in config syntax: "{ name = ...; ... }". */
static void print_rule(const struct cr_rule *r, FILE *out)
{
	char buf[64];
	fprintf(out, "{ ");
	if (r->named) {
		fprintf(out, "name = ");
		print_quoted(out, r->name);
		fprintf(out, "; ");
	}
	if (r->has_dst) {
		unsigned n = r->nprefixes + r->nhosts + r->dst_any;
		fprintf(out, "dst = %s", n > 1 ? "[" : "");
		const char *sep = "";
		if (r->dst_any) {
			fprintf(out, "\"*\"");
			sep = ", ";
		}
		for (unsigned j = 0; j < r->nprefixes; j++, sep = ", ") {
			cr_prefix_format(&r->prefixes[j], buf, sizeof buf);
			fprintf(out, "%s\"%s\"", sep, buf);
		}
		for (unsigned j = 0; j < r->nhosts; j++, sep = ", ") {
			fprintf(out, "%s", sep);
			print_quoted(out, r->hosts[j]);
		}
		fprintf(out, "%s; ", n > 1 ? "]" : "");
	}
	if (r->nports) {
		fprintf(out, "port = %s", r->nports > 1 ? "(" : "");
		for (unsigned j = 0; j < r->nports; j++) {
			if (r->ports[j].lo == r->ports[j].hi)
				fprintf(out, "%s%u", j ? ", " : "", r->ports[j].lo);
			else
				fprintf(out, "%s\"%u-%u\"", j ? ", " : "", r->ports[j].lo, r->ports[j].hi);
		}
		fprintf(out, "%s; ", r->nports > 1 ? ")" : "");
	}
	if (r->proto_mask) {
		static const char *const pn[] = { "tcp", "udp", "unix" };
		unsigned n = (unsigned)__builtin_popcount(r->proto_mask), k = 0;
		fprintf(out, "proto = %s", n > 1 ? "[" : "");
		for (unsigned b = 0; b < 3; b++)
			if (r->proto_mask & (1u << b))
				fprintf(out, "%s\"%s\"", k++ ? ", " : "", pn[b]);
		fprintf(out, "%s; ", n > 1 ? "]" : "");
	}
	if (r->npaths) {
		fprintf(out, "path = %s", r->npaths > 1 ? "[" : "");
		for (unsigned j = 0; j < r->npaths; j++) {
			fprintf(out, "%s", j ? ", " : "");
			print_quoted(out, r->paths[j]);
		}
		fprintf(out, "%s; ", r->npaths > 1 ? "]" : "");
	}
	if (r->process) {
		fprintf(out, "process = ");
		print_quoted(out, r->process);
		fprintf(out, "; ");
	}
	fprintf(out, "action = \"%s\"; ", cr_action_name(r->action));
	if (r->action == CR_ACT_FAIL)
		fprintf(out, "errno = \"%s\"; ", cr_errno_row(r->err)->name);
	if (r->delay_ms)
		fprintf(out, "delay_ms = %u; ", r->delay_ms);
	if (r->level != CR_LEVEL_INHERIT && !(r->action == CR_ACT_LOG && r->level == CR_LEVEL_ALL))
		fprintf(out, "log = \"%s\"; ", cr_level_name(r->level));
	if (r->dry_run >= 0)
		fprintf(out, "dry_run = %s; ", r->dry_run ? "true" : "false");
	if (r->has_probability) {
		print_number(out, "probability", r->probability);
		fputc(' ', out);
	}
	if (r->first)
		fprintf(out, "first = %llu; ", (unsigned long long)r->first);
	if (r->after)
		fprintf(out, "after = %llu; ", (unsigned long long)r->after);
	if (r->every)
		fprintf(out, "every = %llu; ", (unsigned long long)r->every);
	if (r->has_window)
		print_pair(out, "window", "start_s", r->window_start, "duration_s", r->window_duration);
	if (r->has_flap)
		print_pair(out, "flap", "up_s", r->flap_up, "down_s", r->flap_down);
	fprintf(out, "}");
}

void cr_config_print(const struct cr_ruleset *rs, FILE *out)
{
	fprintf(out, "# %s, as connrefuse understands it\nversion = 1;\n", rs->source ? rs->source : "rules");
	if (rs->seeded)
		fprintf(out, "seed = %lldL;\n", (long long)rs->seed);
	fprintf(out, "default_action = \"%s\";\n", cr_action_name(rs->default_action));
	if (rs->dry_run)
		fprintf(out, "dry_run = true;\n");
	fprintf(out, "log: {\n  syslog = %s;\n  ident = ", rs->log.syslog ? "true" : "false");
	print_quoted(out, rs->log.ident);
	fprintf(out, ";\n  facility = \"%s\";\n  stderr = %s;\n  file = ", facility_name(rs->log.facility),
		rs->log.to_stderr ? "true" : "false");
	print_quoted(out, rs->log.file ? rs->log.file : "");
	fprintf(out, ";\n  level = \"%s\";\n  rate = %u;\n};\n", cr_level_name(rs->log.level), rs->log.rate);
	fprintf(out, "rules = (");
	for (unsigned i = 0; i < rs->nrules; i++) {
		fprintf(out, "%s\n  ", i ? "," : "");
		print_rule(&rs->rules[i], out);
	}
	fprintf(out, "%s);\n", rs->nrules ? "\n" : "");
}

/* A rule's identity across reloads: its whole text as printed. */
static char *rule_text(const struct cr_rule *r)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	print_rule(r, f);
	fclose(f);
	return text;
}

void cr_ruleset_state_map(const struct cr_ruleset *fresh, const struct cr_ruleset *old, int32_t *map)
{
	for (unsigned i = 0; i < fresh->nrules; i++)
		map[i] = -1;
	struct name_set names;
	if (name_set_init(&names, old->nrules) != 0)
		return; /* every rule starts again: correct, only less kind */
	for (unsigned j = 0; j < old->nrules; j++)
		name_set_add(&names, old->rules, j);
	for (unsigned i = 0; i < fresh->nrules; i++) {
		const struct cr_rule *r = &fresh->rules[i];
		int j = name_set_find(&names, old->rules, r);
		if (j < 0)
			continue;
		char *mine = rule_text(r), *theirs = rule_text(&old->rules[j]);
		if (mine && theirs && strcmp(mine, theirs) == 0)
			map[i] = j;
		free(mine);
		free(theirs);
	}
	name_set_free(&names);
}

void cr_ruleset_adopt_state(struct cr_ruleset *fresh, const struct cr_ruleset *old)
{
	int32_t *map = malloc((fresh->nrules + 1) * sizeof *map);
	if (!map)
		return; /* every rule starts again */
	cr_ruleset_state_map(fresh, old, map);
	for (unsigned i = 0; i < fresh->nrules; i++) {
		if (map[i] < 0 || !old->rules[map[i]].state)
			continue;
		struct cr_rule *r = &fresh->rules[i];
		const struct cr_rule *o = &old->rules[map[i]];
		struct cr_state_block *b = o->foreign ? o->foreign : old->states;
		atomic_fetch_add(&b->refs, 1);
		block_unref(r->foreign);
		r->foreign = b;
		r->state = o->state;
	}
	free(map);
}
