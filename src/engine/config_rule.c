/* The keys of a rule: one table (name, type, range, parser, printer), read
 * by the loader, by `check`'s printer and by the messages; then the checks
 * that span keys (an action and its errno, keys that can never match
 * together). */
#define _GNU_SOURCE
#include "config_impl.h"
#include "errtab.h"
#include "glob.h"
#include "logfmt.h"
#include "suggest.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define fail cr_config_fail

const char *const cr_fail_errnos[] = {
	"ECONNREFUSED", "ETIMEDOUT", "ENETUNREACH",  "EHOSTUNREACH", "ECONNRESET", "EACCES", "EPERM", "EADDRNOTAVAIL",
	"ENETDOWN",     "EHOSTDOWN", "ECONNABORTED", "EAGAIN",       "EINTR",      "ENOENT", NULL,
};

/* A host rule's: the resolver's own error set (SPEC.md, "Resolver faults"). */
const char *const cr_resolver_errnos[] = { "EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", NULL };

/* ---- parsers: one a key; the value's type was checked already ---- */

#define RULE(target) ((struct cr_draft_rule *)(target))

static int parse_name(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	if (!*v->s)
		return fail(ld, s, "name is empty");
	if (v->s[0] == '#')
		return fail(ld, s,
			    "name \"%s\" starts with '#', as the names of unnamed rules do (#1, #2, ...): choose another",
			    v->s);
	for (const char *c = v->s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return fail(ld, s, "name has a control character");
	if (strlen(v->s) > CR_RULE_NAME_MAX)
		return fail(ld, s,
			    "name is %zu bytes long; at most %d are allowed (every log line carries it whole): shorten it",
			    strlen(v->s), CR_RULE_NAME_MAX);
	if (!(RULE(t)->name = strdup(v->s)))
		return fail(ld, s, "out of memory");
	RULE(t)->named = true;
	ld->rule_name = RULE(t)->name;
	return 0;
}

static int parse_process(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	const char *why;
	if (!*v->s)
		return fail(ld, s, "process is empty");
	if ((why = cr_glob_check(v->s)) != NULL)
		return fail(ld, s, "process \"%s\" %s", v->s, why);
	free(RULE(t)->process);
	if (!(RULE(t)->process = strdup(v->s)))
		return fail(ld, s, "out of memory");
	return 0;
}

static int parse_action(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	enum cr_action a;
	ld->rule_action = s;
	if (cr_config_action(ld, s, v->s, &a) != 0)
		return -1;
	RULE(t)->action = (uint8_t)a;
	return 0;
}

static void errno_list(char *buf, size_t size, const char *const *names)
{
	size_t pos = 0;
	buf[0] = '\0';
	for (unsigned j = 0; names[j] && pos < size; j++)
		pos += (size_t)snprintf(buf + pos, size - pos, "%s%s", j ? ", " : "", names[j]);
}

static size_t count_names(const char *const *names)
{
	size_t n = 0;
	while (names[n])
		n++;
	return n;
}

/* The connect errnos, then the resolver's, as one list for suggestions. */
static const char *any_errno_at(size_t i, const void *arg)
{
	(void)arg;
	size_t n = count_names(cr_fail_errnos);
	return i < n ? cr_fail_errnos[i] : cr_resolver_errnos[i - n];
}

static bool listed(const char *const *names, const char *name)
{
	for (size_t i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Either set is taken here; check_whole matches it to the kind of rule. */
static int parse_errno(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	ld->rule_errno = s;
	if (listed(cr_fail_errnos, v->s) || listed(cr_resolver_errnos, v->s)) {
		RULE(t)->err = cr_errno_by_name(v->s);
		return 0;
	}
	char list[256], rlist[128];
	errno_list(list, sizeof list, cr_fail_errnos);
	errno_list(rlist, sizeof rlist, cr_resolver_errnos);
	char upper[32];
	size_t n = strlen(v->s) < sizeof upper ? strlen(v->s) : sizeof upper - 1;
	for (size_t i = 0; i < n; i++)
		upper[i] = (char)toupper((unsigned char)v->s[i]);
	upper[n] = '\0';
	if (listed(cr_fail_errnos, upper) || listed(cr_resolver_errnos, upper))
		return fail(ld, s, "errno \"%s\": errno names are written in capitals: errno = \"%s\";", v->s, upper);
	if (cr_errno_by_name(v->s) != 0)
		return fail(ld, s, "errno \"%s\" cannot be simulated; use one of %s (a host rule: %s)", v->s, list,
			    rlist);
	const char *near = cr_suggest(v->s, count_names(cr_fail_errnos) + count_names(cr_resolver_errnos), any_errno_at,
				      NULL);
	if (near)
		return fail(ld, s, "errno \"%s\" is not an errno name: did you mean \"%s\"?", v->s, near);
	return fail(ld, s, "errno \"%s\" is not an errno name; use one of %s (a host rule: %s)", v->s, list, rlist);
}

static int parse_delay(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)ld, (void)s;
	RULE(t)->delay_ms = (unsigned)v->i;
	return 0;
}

static int parse_level(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	int level;
	if (cr_config_level(ld, s, v->s, &level) != 0)
		return -1;
	RULE(t)->level = (int8_t)level;
	return 0;
}

static int parse_dry_run(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)ld, (void)s;
	RULE(t)->dry_run = v->b;
	return 0;
}

static int parse_probability(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	if (v->d > 1 && v->d <= 100 && (double)(long)v->d == v->d)
		return fail(ld, s,
			    "probability = %g is over 1.0: it is a fraction, not a percentage (for %g%%, write "
			    "probability = %g;)",
			    v->d, v->d, v->d / 100);
	if (v->d < 0 || v->d > 1)
		return fail(ld, s, "probability must be between 0.0 and 1.0");
	RULE(t)->probability = v->d;
	RULE(t)->has_probability = true;
	return 0;
}

static const char *const share_names[] = { "", "run", "file", "process" };

const char *cr_share_name(int share)
{
	return share > 0 && share < 4 ? share_names[share] : "default";
}

static int parse_scope(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	for (uint8_t k = 1; k < 4; k++)
		if (strcmp(v->s, share_names[k]) == 0) {
			RULE(t)->scope = k;
			return 0;
		}
	return fail(ld, s,
		    "scope \"%s\": use \"run\" (every process of one connrefuse run), \"file\" (every process of this user that reads this rules file) or \"process\"",
		    v->s);
}
static bool has_scope(const void *t)
{
	return ((const struct cr_draft_rule *)t)->scope != CR_SHARE_DEFAULT;
}
static void print_scope(FILE *out, const void *t)
{
	fprintf(out, "\"%s\"", cr_share_name(((const struct cr_draft_rule *)t)->scope));
}

#define COUNT_KEY(key)                                                                                       \
	static int parse_##key(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t) \
	{                                                                                                    \
		(void)ld, (void)s;                                                                           \
		RULE(t)->key = (uint64_t)v->i;                                                               \
		return 0;                                                                                    \
	}                                                                                                    \
	static bool has_##key(const void *t)                                                                 \
	{                                                                                                    \
		return ((const struct cr_draft_rule *)t)->key != 0;                                          \
	}                                                                                                    \
	static void print_##key(FILE *out, const void *t)                                                    \
	{                                                                                                    \
		fprintf(out, "%llu", (unsigned long long)((const struct cr_draft_rule *)t)->key);            \
	}
COUNT_KEY(first)
COUNT_KEY(after)
COUNT_KEY(every)

/* The counts of a fault after connect (group fault: check_fault holds them
 * to its actions) and of shaping (group shape: check_shape); ld notes the
 * group's last key, where messages point. */
#define GROUP_KEY(group, key, type)                                                                          \
	static int parse_##key(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t) \
	{                                                                                                    \
		ld->rule_##group##_key = s;                                                                  \
		RULE(t)->group.key = (type)v->i;                                                             \
		RULE(t)->group.has_##key = true;                                                             \
		return 0;                                                                                    \
	}                                                                                                    \
	static bool has_##key(const void *t)                                                                 \
	{                                                                                                    \
		return ((const struct cr_draft_rule *)t)->group.has_##key;                                   \
	}                                                                                                    \
	static void print_##key(FILE *out, const void *t)                                                    \
	{                                                                                                    \
		fprintf(out, "%llu", (unsigned long long)((const struct cr_draft_rule *)t)->group.key);      \
	}
GROUP_KEY(fault, after_bytes, uint64_t)
GROUP_KEY(fault, after_ms, uint32_t)

GROUP_KEY(shape, latency_ms, uint32_t)
GROUP_KEY(shape, jitter_ms, uint32_t)
GROUP_KEY(shape, bandwidth, uint64_t)
GROUP_KEY(shape, slice, uint32_t)
GROUP_KEY(shape, slice_ms, uint32_t)

static int parse_direction(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	ld->rule_fault_key = s;
	for (int k = CR_DIR_BOTH; k <= CR_DIR_OUT; k++)
		if (strcmp(v->s, cr_direction_name(k)) == 0) {
			RULE(t)->fault.direction = (uint8_t)k;
			RULE(t)->fault.has_direction = true;
			return 0;
		}
	return fail(ld, s, "direction \"%s\": use \"in\" (toward the program), \"out\" (from the program) or \"both\"",
		    v->s);
}
static bool has_direction(const void *t)
{
	return ((const struct cr_draft_rule *)t)->fault.has_direction;
}
static void print_direction(FILE *out, const void *t)
{
	fprintf(out, "\"%s\"", cr_direction_name(((const struct cr_draft_rule *)t)->fault.direction));
}

/* window = { start_s; duration_s; } and flap = { up_s; down_s; }: two numbers. */
static int parse_pair(struct load *ld, const config_setting_t *s, bool flap, struct cr_draft_rule *r)
{
	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return fail(ld, s,
			    flap ? "flap must be a group: { up_s = 2.0; down_s = 1.0; }"
				 : "window must be a group: { start_s = 5.0; duration_s = 10.0; }");
	const char *k1 = flap ? "up_s" : "start_s", *k2 = flap ? "down_s" : "duration_s";
	double *v1 = flap ? &r->flap_up : &r->window_start, *v2 = flap ? &r->flap_down : &r->window_duration;
	bool seen1 = false, seen2 = false;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *k = config_setting_name(e);
		bool first = strcmp(k, k1) == 0;
		if (!first && strcmp(k, k2) != 0)
			return fail(ld, e, "unknown key '%s' in %s (expected %s and %s)", k, config_setting_name(s), k1,
				    k2);
		if (cr_config_number(ld, e, first ? v1 : v2) != 0)
			return -1;
		*(first ? &seen1 : &seen2) = true;
	}
	if (!seen1 || !seen2)
		return fail(ld, s, "%s needs both %s and %s", config_setting_name(s), k1, k2);
	if (*v1 < 0 || *v2 <= 0 || (flap && *v1 <= 0 && *v2 <= 0))
		return fail(ld, s, "%s: %s must be >= 0 and %s > 0", config_setting_name(s), k1, k2);
	return 0;
}

static int parse_window(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)v;
	RULE(t)->has_window = true;
	return parse_pair(ld, s, false, t);
}

static int parse_flap(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)v;
	RULE(t)->has_flap = true;
	return parse_pair(ld, s, true, t);
}

/* ---- printers: the value as the file would hold it ---- */

#define R(target) ((const struct cr_draft_rule *)(target))

static bool has_name(const void *t)
{
	return R(t)->named;
}
static bool has_dst(const void *t)
{
	return R(t)->has_dst;
}
static bool has_host(const void *t)
{
	return R(t)->resolver;
}
static bool has_port(const void *t)
{
	return R(t)->nports;
}
static bool has_proto(const void *t)
{
	return R(t)->proto_mask;
}
static bool has_path(const void *t)
{
	return R(t)->npaths;
}
static bool has_process(const void *t)
{
	return R(t)->process;
}
static bool has_errno(const void *t)
{
	return R(t)->action == CR_ACT_FAIL;
}
static bool has_delay(const void *t)
{
	return R(t)->delay_ms;
}
static bool has_dry_run(const void *t)
{
	return R(t)->dry_run >= 0;
}
static bool has_probability(const void *t)
{
	return R(t)->has_probability;
}
static bool has_window(const void *t)
{
	return R(t)->has_window;
}
static bool has_flap(const void *t)
{
	return R(t)->has_flap;
}
/* action = "log" is pass with log = "all": that level goes without saying. */
static bool has_level(const void *t)
{
	return R(t)->level != CR_LEVEL_INHERIT && !(R(t)->action == CR_ACT_LOG && R(t)->level == CR_LEVEL_ALL);
}

static void print_name(FILE *out, const void *t)
{
	cr_print_quoted(out, R(t)->name);
}
static void print_process(FILE *out, const void *t)
{
	cr_print_quoted(out, R(t)->process);
}
static void print_action(FILE *out, const void *t)
{
	fprintf(out, "\"%s\"", cr_action_name(R(t)->action));
}
static void print_errno(FILE *out, const void *t)
{
	fprintf(out, "\"%s\"", cr_errno_name(R(t)->err));
}
static void print_delay(FILE *out, const void *t)
{
	fprintf(out, "%u", R(t)->delay_ms);
}
static void print_level(FILE *out, const void *t)
{
	fprintf(out, "\"%s\"", cr_level_name(R(t)->level));
}
static void print_dry_run(FILE *out, const void *t)
{
	fputs(R(t)->dry_run ? "true" : "false", out);
}
static void print_probability(FILE *out, const void *t)
{
	cr_print_number(out, R(t)->probability);
}

static void print_dst(FILE *out, const void *t)
{
	const struct cr_draft_rule *r = t;
	unsigned n = r->nprefixes + r->nhosts + r->dst_any;
	char buf[64];
	const char *sep = "";
	fputs(n > 1 ? "[" : "", out);
	if (r->dst_any) {
		fputs("\"*\"", out);
		sep = ", ";
	}
	for (unsigned j = 0; j < r->nprefixes; j++, sep = ", ") {
		cr_prefix_format(&r->prefixes[j], buf, sizeof buf);
		fprintf(out, "%s\"%s\"", sep, buf);
	}
	for (unsigned j = 0; j < r->nhosts; j++, sep = ", ") {
		fputs(sep, out);
		cr_print_quoted(out, r->hosts[j]);
	}
	fputs(n > 1 ? "]" : "", out);
}

/* A value or a list of quoted strings: "a", or ["a", "b"]. */
static void print_strings(FILE *out, char *const *v, unsigned n)
{
	fputs(n > 1 ? "[" : "", out);
	for (unsigned j = 0; j < n; j++) {
		fputs(j ? ", " : "", out);
		cr_print_quoted(out, v[j]);
	}
	fputs(n > 1 ? "]" : "", out);
}

static void print_host(FILE *out, const void *t)
{
	print_strings(out, R(t)->hosts, R(t)->nhosts);
}

static void print_port(FILE *out, const void *t)
{
	const struct cr_draft_rule *r = t;
	fputs(r->nports > 1 ? "(" : "", out);
	for (unsigned j = 0; j < r->nports; j++) {
		if (r->ports[j].lo == r->ports[j].hi)
			fprintf(out, "%s%u", j ? ", " : "", r->ports[j].lo);
		else
			fprintf(out, "%s\"%u-%u\"", j ? ", " : "", r->ports[j].lo, r->ports[j].hi);
	}
	fputs(r->nports > 1 ? ")" : "", out);
}

static void print_proto(FILE *out, const void *t)
{
	unsigned mask = R(t)->proto_mask, n = (unsigned)__builtin_popcount(mask), k = 0;
	fputs(n > 1 ? "[" : "", out);
	for (unsigned b = 0; b < 3; b++)
		if (mask & (1u << b))
			fprintf(out, "%s\"%s\"", k++ ? ", " : "", cr_proto_names[b]);
	fputs(n > 1 ? "]" : "", out);
}

static void print_path(FILE *out, const void *t)
{
	print_strings(out, R(t)->paths, R(t)->npaths);
}

static void print_pair(FILE *out, const char *k1, double v1, const char *k2, double v2)
{
	fprintf(out, "{ %s = ", k1);
	cr_print_number(out, v1);
	fprintf(out, "; %s = ", k2);
	cr_print_number(out, v2);
	fputs("; }", out);
}

static void print_window(FILE *out, const void *t)
{
	print_pair(out, "start_s", R(t)->window_start, "duration_s", R(t)->window_duration);
}

static void print_flap(FILE *out, const void *t)
{
	print_pair(out, "up_s", R(t)->flap_up, "down_s", R(t)->flap_down);
}

/* In the order `check` prints them. */
static const struct cr_key rule_keys[] = {
	{ "name", CR_KEY_STRING, 0, 0, parse_name, has_name, print_name, NULL },
	{ "dst", CR_KEY_VALUES, 0, 0, cr_parse_dst, has_dst, print_dst, NULL },
	{ "host", CR_KEY_VALUES, 0, 0, cr_parse_host, has_host, print_host, NULL },
	{ "port", CR_KEY_VALUES, 0, 0, cr_parse_port, has_port, print_port, NULL },
	{ "proto", CR_KEY_VALUES, 0, 0, cr_parse_proto, has_proto, print_proto, NULL },
	{ "path", CR_KEY_VALUES, 0, 0, cr_parse_path, has_path, print_path, NULL },
	{ "process", CR_KEY_STRING, 0, 0, parse_process, has_process, print_process, NULL },
	{ "action", CR_KEY_STRING, 0, 0, parse_action, NULL, print_action, NULL },
	{ "errno", CR_KEY_STRING, 0, 0, parse_errno, has_errno, print_errno, NULL },
	{ "delay_ms", CR_KEY_INT, 0, 3600000, parse_delay, has_delay, print_delay, NULL },
	{ "log", CR_KEY_STRING, 0, 0, parse_level, has_level, print_level, NULL },
	{ "dry_run", CR_KEY_BOOL, 0, 0, parse_dry_run, has_dry_run, print_dry_run, NULL },
	{ "probability", CR_KEY_NUMBER, 0, 0, parse_probability, has_probability, print_probability, NULL },
	{ "first", CR_KEY_INT, 1, INT64_MAX, parse_first, has_first, print_first, NULL },
	{ "after", CR_KEY_INT, 1, INT64_MAX, parse_after, has_after, print_after, NULL },
	{ "every", CR_KEY_INT, 1, INT64_MAX, parse_every, has_every, print_every, NULL },
	{ "window", CR_KEY_GROUP, 0, 0, parse_window, has_window, print_window, NULL },
	{ "flap", CR_KEY_GROUP, 0, 0, parse_flap, has_flap, print_flap, NULL },
	{ "scope", CR_KEY_STRING, 0, 0, parse_scope, has_scope, print_scope, NULL },
	{ "direction", CR_KEY_STRING, 0, 0, parse_direction, has_direction, print_direction, NULL },
	{ "after_bytes", CR_KEY_INT, 0, INT64_MAX, parse_after_bytes, has_after_bytes, print_after_bytes, NULL },
	{ "after_ms", CR_KEY_INT, 0, 86400000, parse_after_ms, has_after_ms, print_after_ms, NULL },
	{ "latency_ms", CR_KEY_INT, 0, 3600000, parse_latency_ms, has_latency_ms, print_latency_ms, NULL },
	{ "jitter_ms", CR_KEY_INT, 0, 3600000, parse_jitter_ms, has_jitter_ms, print_jitter_ms, NULL },
	{ "bandwidth", CR_KEY_INT, 0, INT64_MAX, parse_bandwidth, has_bandwidth, print_bandwidth, NULL },
	{ "slice", CR_KEY_INT, 0, 1 << 30, parse_slice, has_slice, print_slice, NULL },
	{ "slice_ms", CR_KEY_INT, 0, 3600000, parse_slice_ms, has_slice_ms, print_slice_ms, NULL },
};
const struct cr_scope cr_scope_rule = { "rule", rule_keys, sizeof rule_keys / sizeof rule_keys[0], "", "a rule" };

/* ---- one rule ---- */

/* A host rule decides name look-ups: no key of a connect, and only the
 * actions and errnos a look-up can have. */
static int check_resolver(struct load *ld, const config_setting_t *g, struct cr_draft_rule *r)
{
	const char *key = r->has_dst ? "dst" : r->nports ? "port" : r->proto_mask ? "proto" : r->npaths ? "path" : NULL;
	if (key)
		return fail(ld, g,
			    "it has host and %s: a host rule acts on name look-ups, not on connects (to rule the connects to a name's addresses, use dst = \"NAME\")",
			    key);
	if (r->action != CR_ACT_PASS && r->action != CR_ACT_LOG &&
	    r->action != CR_ACT_FAIL) /* faults after connect too */
		return fail(ld, ld->rule_action,
			    "a host rule takes action \"pass\", \"log\" or \"fail\" (a look-up is not refused or dropped; \"fail\" with errno = \"EAI_AGAIN\" is a DNS server that does not answer)");
	if (r->action == CR_ACT_FAIL && r->err > 0) {
		char rlist[128];
		errno_list(rlist, sizeof rlist, cr_resolver_errnos);
		return fail(ld, ld->rule_errno,
			    "errno \"%s\" is not a resolver error; a host rule fails with one of %s",
			    cr_errno_row(r->err)->name, rlist);
	}
	return 0;
}

/* latency_ms, jitter_ms, bandwidth, slice, slice_ms: each with what it
 * needs, on an action that relays. */
static int check_shape(struct load *ld, const config_setting_t *g, struct cr_draft_rule *r)
{
	const struct cr_shape *h = &r->shape;
	if (!ld->rule_shape_key)
		return 0;
	if (h->has_jitter_ms && !h->has_latency_ms)
		return fail(ld, g,
			    "jitter_ms varies latency_ms: give latency_ms too (jitter_ms = %u: latency_ms = %u at least)",
			    h->jitter_ms, h->jitter_ms);
	if (h->has_jitter_ms && h->jitter_ms > h->latency_ms)
		return fail(ld, g,
			    "jitter_ms %u is more than latency_ms %u: a chunk is held latency_ms +- jitter_ms, never less than 0 (jitter_ms at most %u)",
			    h->jitter_ms, h->latency_ms, h->latency_ms);
	if (h->has_slice_ms && !h->has_slice)
		return fail(ld, g,
			    "slice_ms is the delay between the pieces slice cuts: give slice too (e.g. slice = 100)");
	if (h->has_bandwidth && !h->bandwidth)
		return fail(ld, g,
			    "bandwidth 0 would pass nothing: use a rate of 1 byte a second or more, or action \"stall\"");
	if (h->has_slice && !h->slice)
		return fail(ld, g, "slice 0 cuts nothing: use a piece of 1 byte or more");
	const char *key = config_setting_name(ld->rule_shape_key);
	if (r->resolver)
		return fail(ld, ld->rule_shape_key,
			    "%s shapes a TCP connection; a host rule acts on name look-ups (use dst = \"NAME\" to shape the connections to a name's addresses)",
			    key);
	if (r->action != CR_ACT_PASS && !cr_action_after_connect(r->action))
		return fail(ld, ld->rule_shape_key,
			    "%s shapes a relayed connection: it goes with action \"pass\" (shaped only) or \"reset\", \"close\", \"stall\" (shaped until the fault fires); the action here is \"%s\"",
			    key, cr_action_name(r->action));
	if (r->npaths || (r->proto_mask & (CR_PROTO_UNIX | CR_PROTO_UDP)))
		return fail(ld, g, "%s shapes TCP connections (a relay forwards them): it cannot go with %s", key,
			    r->npaths ? "path" : "proto \"unix\" or \"udp\"");
	return 0;
}

/* reset, close, stall: a TCP connection, and when the fault fires. */
static int check_fault(struct load *ld, const config_setting_t *g, struct cr_draft_rule *r)
{
	const char *a = cr_action_name(r->action);
	if (check_shape(ld, g, r) != 0)
		return -1;
	if (!cr_action_after_connect(r->action)) {
		if (r->action == CR_ACT_PASS && cr_shape_any(&r->shape)) {
			if (r->fault.has_after_bytes || r->fault.has_after_ms)
				return fail(ld, g,
					    "%s fires a fault, and a pass that shapes has none: use action \"reset\", \"close\" or \"stall\" (shaped until it fires)",
					    r->fault.has_after_bytes ? "after_bytes" : "after_ms");
			return 0;
		}
		if (ld->rule_fault_key)
			return fail(ld, ld->rule_fault_key,
				    "%s goes with a fault after connect (action \"reset\", \"close\" or \"stall\") or a pass that shapes (latency_ms, bandwidth, slice); the action here is \"%s\"",
				    config_setting_name(ld->rule_fault_key), a);
		return 0;
	}
	if (r->npaths || (r->proto_mask & (CR_PROTO_UNIX | CR_PROTO_UDP)))
		return fail(ld, g,
			    "action \"%s\" acts on TCP connections (a relay forwards them): it cannot go with %s", a,
			    r->npaths ? "path" : "proto \"unix\" or \"udp\"");
	if (r->fault.has_after_bytes && r->fault.has_after_ms)
		return fail(ld, g,
			    "it has both after_bytes and after_ms: a fault fires after one of them (two rules make both)");
	return 0;
}

/* What no single key can see: keys that contradict each other. */
static int check_whole(struct load *ld, const config_setting_t *g, struct cr_draft_rule *r)
{
	const config_setting_t *errno_s = ld->rule_errno;
	if (!ld->rule_action)
		return fail(ld, g,
			    "it has no action (\"pass\", \"log\", \"refuse\", \"fail\", \"drop\", \"reset\", \"close\" or \"stall\")");
	if (r->action == CR_ACT_FAIL && !errno_s)
		return fail(ld, g,
			    r->resolver ? "action \"fail\" needs an errno, e.g. errno = \"EAI_NONAME\";"
					: "action \"fail\" needs an errno, e.g. errno = \"ETIMEDOUT\";");
	if (errno_s && r->action != CR_ACT_FAIL)
		return fail(ld, errno_s, "errno goes with action = \"fail\" (the action here is \"%s\")",
			    cr_action_name(r->action));
	if (check_fault(ld, g, r) != 0)
		return -1;
	if (r->resolver)
		return check_resolver(ld, g, r);
	if (errno_s && r->err < 0)
		return fail(ld, errno_s,
			    "errno \"%s\" is a resolver error: it goes with host = \"NAME\" (a rule on name look-ups), not with a connect",
			    cr_errno_row(r->err)->name);
	if (r->has_dst && r->npaths)
		return fail(ld, g,
			    "it has both dst and path, so it could never match (a destination is either an IP address or a unix socket)");
	if (r->npaths && r->nports)
		return fail(ld, g, "it has both path and port, so it could never match");
	if (r->action == CR_ACT_DROP && (r->npaths || (r->proto_mask & (CR_PROTO_UNIX | CR_PROTO_UDP))))
		return fail(ld, g,
			    "action \"drop\" acts on TCP connects: it cannot go with %s (use \"refuse\" or \"fail\" there)",
			    r->npaths ? "path" : "proto \"unix\" or \"udp\"");
	if (r->proto_mask & CR_PROTO_UNIX && (r->has_dst || r->nports) && !(r->proto_mask & ~CR_PROTO_UNIX))
		return fail(ld, g, "proto \"unix\" with dst or port could never match");
	return 0;
}

int cr_config_parse_rule(struct load *ld, const config_setting_t *g, unsigned index, struct cr_draft_rule *r)
{
	r->line = config_setting_source_line(g);
	r->level = CR_LEVEL_INHERIT;
	r->dry_run = -1;
	r->err = ECONNREFUSED;
	ld->rule_name = NULL;
	ld->rule_number = index + 1;
	ld->rule_action = ld->rule_errno = ld->rule_fault_key = ld->rule_shape_key = NULL;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "must be a group: { name = \"...\"; dst = \"...\"; action = \"refuse\"; }");
	/* The name first, so that every later message names the rule. */
	const config_setting_t *n = config_setting_get_member(g, "name");
	if (n && cr_key_read(ld, &cr_scope_rule, n, r) != 0)
		return -1;
	if (!n) {
		char buf[16];
		snprintf(buf, sizeof buf, "#%u", index + 1);
		if (!(r->name = strdup(buf)))
			return fail(ld, g, "out of memory");
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		if (s != n && cr_key_read(ld, &cr_scope_rule, s, r) != 0)
			return -1;
	}
	if (check_whole(ld, g, r) != 0)
		return -1;
	if (r->action == CR_ACT_LOG)
		r->level = r->level == CR_LEVEL_INHERIT ? CR_LEVEL_ALL : r->level;
	return 0;
}

void cr_config_print_rule(const struct cr_draft_rule *r, FILE *out)
{
	fputs("{ ", out);
	cr_keys_print(out, &cr_scope_rule, r, "", " ");
	fputs("}", out);
}
