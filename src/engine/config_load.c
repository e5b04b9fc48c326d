/* Loading a config: a compiled file is mapped (image.h); a text file is
 * parsed by libconfig, every key read through its table (config_keys.c)
 * into a draft, and the draft built into an image in memory: both forms
 * end as the same rule set. This file holds the file's outer
 * layers: the top level and the log group. Every error names the file and
 * the line of the offending setting. */
#define _GNU_SOURCE
#include "config_impl.h"
#include "config_file.h"
#include "config_text.h"
#include "image.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define fail cr_config_fail

static const struct {
	const char *name;
	int value;
} facilities[] = {
	{ "user", LOG_USER },     { "daemon", LOG_DAEMON }, { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};
#define NFACILITIES (sizeof facilities / sizeof facilities[0])

/* ---- log: { ... } ---- */

#define LOG(target) ((struct cr_log_conf *)(target))
#define LC(target) ((const struct cr_log_conf *)(target))

static int parse_syslog(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)ld, (void)s;
	LOG(t)->syslog = v->b;
	return 0;
}

static int parse_stderr(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)ld, (void)s;
	LOG(t)->to_stderr = v->b;
	return 0;
}

static int parse_ident(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	struct cr_log_conf *lc = t;
	if (!*v->s || strlen(v->s) >= sizeof lc->ident || strpbrk(v->s, " :[]\t\n"))
		return fail(ld, s, "log.ident \"%s\" must be 1 to %zu characters, without spaces, ':' or brackets",
			    v->s, sizeof lc->ident - 1);
	strcpy(lc->ident, v->s);
	return 0;
}

static int parse_facility(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	for (unsigned j = 0; j < NFACILITIES; j++)
		if (strcmp(facilities[j].name, v->s) == 0) {
			LOG(t)->facility = facilities[j].value;
			return 0;
		}
	return fail(ld, s, "log.facility \"%s\" must be user, daemon or local0 .. local7", v->s);
}

static int parse_file(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	if (strlen(v->s) >= sizeof LOG(t)->file)
		return fail(ld, s, "log.file is longer than %zu characters", sizeof LOG(t)->file - 1);
	strcpy(LOG(t)->file, v->s);
	return 0;
}

static int parse_log_level(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	return cr_config_level(ld, s, v->s, &LOG(t)->level);
}

static int parse_rate(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)ld, (void)s;
	LOG(t)->rate = (unsigned)v->i;
	return 0;
}

static int parse_format(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	if (strcmp(v->s, "logfmt") != 0 && strcmp(v->s, "json") != 0)
		return fail(ld, s, "log.format \"%s\" must be \"logfmt\" or \"json\"", v->s);
	LOG(t)->json = strcmp(v->s, "json") == 0;
	return 0;
}

static const char *facility_name(int f)
{
	for (unsigned j = 0; j < NFACILITIES; j++)
		if (facilities[j].value == f)
			return facilities[j].name;
	return "user";
}

static void print_syslog(FILE *out, const void *t)
{
	fputs(LC(t)->syslog ? "true" : "false", out);
}
static void print_ident(FILE *out, const void *t)
{
	cr_print_quoted(out, LC(t)->ident);
}
static void print_facility(FILE *out, const void *t)
{
	fprintf(out, "\"%s\"", facility_name(LC(t)->facility));
}
static void print_stderr(FILE *out, const void *t)
{
	fputs(LC(t)->to_stderr ? "true" : "false", out);
}
static void print_file(FILE *out, const void *t)
{
	cr_print_quoted(out, LC(t)->file);
}
static void print_log_level(FILE *out, const void *t)
{
	fprintf(out, "\"%s\"", cr_level_name(LC(t)->level));
}
static void print_rate(FILE *out, const void *t)
{
	fprintf(out, "%u", LC(t)->rate);
}
static void print_format(FILE *out, const void *t)
{
	fputs(LC(t)->json ? "\"json\"" : "\"logfmt\"", out);
}

static const struct cr_key log_keys[] = {
	{ "syslog", CR_KEY_BOOL, 0, 0, parse_syslog, NULL, print_syslog, NULL },
	{ "ident", CR_KEY_STRING, 0, 0, parse_ident, NULL, print_ident, NULL },
	{ "facility", CR_KEY_STRING, 0, 0, parse_facility, NULL, print_facility, NULL },
	{ "stderr", CR_KEY_BOOL, 0, 0, parse_stderr, NULL, print_stderr, NULL },
	{ "file", CR_KEY_STRING, 0, 0, parse_file, NULL, print_file, NULL },
	{ "level", CR_KEY_STRING, 0, 0, parse_log_level, NULL, print_log_level, NULL },
	{ "rate", CR_KEY_INT, 0, 1000000000, parse_rate, NULL, print_rate, NULL },
	{ "format", CR_KEY_STRING, 0, 0, parse_format, NULL, print_format, NULL },
};
const struct cr_scope cr_scope_log = { "log", log_keys, sizeof log_keys / sizeof log_keys[0], "log.", "log" };

/* ---- relay = { ... }: where connrefuse relay listens ---- */

static int parse_relay_socket(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	char *sock = t;
	if (v->s[0] != '/' || strlen(v->s) >= CR_RELAY_SOCKET_MAX)
		return fail(ld, s,
			    "relay.socket \"%s\" must be an absolute path of at most %d characters (a unix socket's): relay = { socket = \"/run/connrefuse/relay.sock\"; };",
			    v->s, CR_RELAY_SOCKET_MAX - 1);
	strcpy(sock, v->s);
	return 0;
}

static void print_relay_socket(FILE *out, const void *t)
{
	cr_print_quoted(out, t);
}

static const struct cr_key relay_keys[] = {
	{ "socket", CR_KEY_STRING, 0, 0, parse_relay_socket, NULL, print_relay_socket, NULL },
};
const struct cr_scope cr_scope_relay = { "relay", relay_keys, sizeof relay_keys / sizeof relay_keys[0], "relay.",
					 "relay" };

/* ---- the top level ---- */

#define RS(target) ((struct cr_draft *)(target))
#define CRS(target) ((const struct cr_draft *)(target))

static int parse_version(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)t;
	if (v->i != 1)
		return fail(ld, s, "version %lld is not supported (this connrefuse reads version 1)", v->i);
	return 0;
}

static int parse_seed(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)ld, (void)s;
	RS(t)->seed = (uint64_t)v->i;
	RS(t)->seeded = true;
	return 0;
}

static int parse_default_action(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	if (cr_config_action(ld, s, v->s, &RS(t)->default_action) != 0)
		return -1;
	if (RS(t)->default_action == CR_ACT_FAIL)
		return fail(ld, s,
			    "default_action \"fail\" has no errno to fail with; use \"refuse\", or a last rule with dst = \"*\"");
	if (cr_action_after_connect(RS(t)->default_action))
		return fail(ld, s,
			    "default_action \"%s\" is a fault after connect, which a rule makes (with its direction and after_bytes or after_ms): use a last rule with dst = \"*\"",
			    cr_action_name(RS(t)->default_action));
	return 0;
}

static int parse_top_dry_run(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)ld, (void)s;
	RS(t)->dry_run = v->b;
	return 0;
}

static int parse_log(struct load *ld, const config_setting_t *g, const union cr_value *v, void *t)
{
	(void)v;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "log must be a group: log: { syslog = true; level = \"failures\"; };");
	for (int i = 0; i < config_setting_length(g); i++)
		if (cr_key_read(ld, &cr_scope_log, config_setting_get_elem(g, (unsigned)i), &RS(t)->log) != 0)
			return -1;
	return 0;
}

static int parse_relay(struct load *ld, const config_setting_t *g, const union cr_value *v, void *t)
{
	(void)v;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, "relay must be a group: relay = { socket = \"/run/connrefuse/relay.sock\"; };");
	for (int i = 0; i < config_setting_length(g); i++)
		if (cr_key_read(ld, &cr_scope_relay, config_setting_get_elem(g, (unsigned)i), RS(t)->relay_socket) != 0)
			return -1;
	return 0;
}

static int parse_rules(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t)
{
	(void)v;
	struct cr_draft *rs = t;
	int type = config_setting_type(s);
	if (type != CONFIG_TYPE_LIST && !(type == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
		return fail(ld, s, "rules must be a list of groups: rules = ( { ... }, { ... } );");
	unsigned n = (unsigned)config_setting_length(s);
	if (!(rs->rules = calloc(n ? n : 1, sizeof *rs->rules)))
		return fail(ld, s, "out of memory");
	int rc = 0;
	for (unsigned j = 0; j < n && rc == 0; j++) {
		rs->nrules = j + 1;
		rc = cr_config_parse_rule(ld, config_setting_get_elem(s, j), j, &rs->rules[j]);
	}
	ld->rule_name = NULL;
	ld->rule_number = 0;
	return rc;
}

static bool has_seed(const void *t)
{
	return CRS(t)->seeded;
}
static bool has_top_dry_run(const void *t)
{
	return CRS(t)->dry_run;
}
static void print_version(FILE *out, const void *t)
{
	(void)t;
	fputs("1", out);
}
static void print_seed(FILE *out, const void *t)
{
	fprintf(out, "%lld", (long long)CRS(t)->seed);
}
static void print_default_action(FILE *out, const void *t)
{
	fprintf(out, "\"%s\"", cr_action_name(CRS(t)->default_action));
}
static void print_top_dry_run(FILE *out, const void *t)
{
	(void)t;
	fputs("true", out);
}

static void print_log(FILE *out, const void *t)
{
	fputs("{\n", out);
	cr_keys_print(out, &cr_scope_log, &CRS(t)->log, "  ", "\n");
	fputs("}", out);
}

static bool has_relay(const void *t)
{
	return CRS(t)->relay_socket[0] != '\0';
}
static void print_relay(FILE *out, const void *t)
{
	fputs("{ ", out);
	cr_keys_print(out, &cr_scope_relay, CRS(t)->relay_socket, "", " ");
	fputs("}", out);
}

static void print_rules(FILE *out, const void *t)
{
	const struct cr_draft *rs = t;
	fputs("(", out);
	for (unsigned i = 0; i < rs->nrules; i++) {
		fputs(i ? ",\n  " : "\n  ", out);
		cr_config_print_rule(&rs->rules[i], out);
	}
	fputs(rs->nrules ? "\n)" : ")", out);
}

static const struct cr_key top_keys[] = {
	{ "version", CR_KEY_INT, INT64_MIN, INT64_MAX, parse_version, NULL, print_version, NULL },
	{ "seed", CR_KEY_INT, INT64_MIN, INT64_MAX, parse_seed, has_seed, print_seed, NULL },
	{ "default_action", CR_KEY_STRING, 0, 0, parse_default_action, NULL, print_default_action, NULL },
	{ "dry_run", CR_KEY_BOOL, 0, 0, parse_top_dry_run, has_top_dry_run, print_top_dry_run, NULL },
	{ "log", CR_KEY_GROUP, 0, 0, parse_log, NULL, print_log, ": " },
	{ "relay", CR_KEY_GROUP, 0, 0, parse_relay, has_relay, print_relay, NULL },
	{ "rules", CR_KEY_GROUP, 0, 0, parse_rules, NULL, print_rules, NULL },
};
const struct cr_scope cr_scope_top = { "top level", top_keys, sizeof top_keys / sizeof top_keys[0], "",
				       "the top level" };

static int parse_root(struct load *ld, const config_setting_t *root)
{
	struct cr_draft *d = ld->draft;
	const config_setting_t *version = config_setting_get_member(root, "version");
	if (!version)
		return fail(ld, NULL,
			    "no 'version = 1;' line: the file must say which config version it is written for");
	if (cr_key_read(ld, &cr_scope_top, version, d) != 0)
		return -1;
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		if (s != version && cr_key_read(ld, &cr_scope_top, s, d) != 0)
			return -1;
	}
	/* Names identify rules in logs and across reloads: they must be unique. */
	unsigned dup, first;
	switch (cr_draft_first_duplicate(d, &dup, &first)) {
	case -1:
		return fail(ld, NULL, "out of memory");
	case 1:
		snprintf(ld->err, ld->errsize, "%s:%u: rule name \"%s\" is used twice (first at line %u)", ld->file,
			 d->rules[dup].line, d->rules[dup].name, d->rules[first].line);
		return -1;
	}
	return 0;
}

static struct cr_draft *load(config_t *cfg, int ok, const char *text, const char *name, char *err, size_t errsize)
{
	struct load ld = { .file = name, .err = err, .errsize = errsize };
	if (!ok) {
		cr_config_explain(text, name, (unsigned)config_error_line(cfg), config_error_text(cfg), err, errsize);
		config_destroy(cfg);
		return NULL;
	}
	if (!(ld.draft = cr_draft_new(name))) {
		snprintf(err, errsize, "%s: out of memory", name);
		config_destroy(cfg);
		return NULL;
	}
	if (parse_root(&ld, config_root_setting(cfg)) != 0) {
		cr_draft_free(ld.draft);
		config_destroy(cfg);
		return NULL;
	}
	config_destroy(cfg);
	return ld.draft;
}

struct cr_draft *cr_config_parse(const char *text, const char *name, char *err, size_t errsize)
{
	char *prepared;
	if (cr_config_prepare(text, &prepared, name, err, errsize) != 0)
		return NULL;
	const char *parsed = prepared ? prepared : text;
	config_t cfg;
	config_init(&cfg);
	int ok = config_read_string(&cfg, parsed);
	struct cr_draft *d = load(&cfg, ok, parsed, name, err, errsize);
	free(prepared);
	return d;
}

struct cr_ruleset *cr_config_build(const struct cr_draft *d, uint64_t source_hash, char *err, size_t errsize)
{
	size_t len;
	void *img = cr_image_build(d, source_hash, &len);
	struct cr_ruleset *rs = img ? cr_image_open(img, len, CR_IMAGE_OWNED, d->source, err, errsize) : NULL;
	if (!img)
		snprintf(err, errsize, "%s: out of memory", d->source);
	else if (!rs)
		cr_image_release(img, len);
	return rs;
}

struct cr_ruleset *cr_ruleset_new_empty(void)
{
	struct cr_draft *d = cr_draft_new("(no rules)");
	char err[256];
	struct cr_ruleset *rs = d ? cr_config_build(d, 0, err, sizeof err) : NULL;
	cr_draft_free(d);
	return rs;
}

/* Freed memory back to the system: glibc keeps it otherwise; musl's
 * allocator gives it back by itself. */
static void give_memory_back(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static struct cr_ruleset *load_text(const char *text, size_t len, const char *name, char *err, size_t errsize)
{
	struct cr_draft *d = cr_config_parse(text, name, err, errsize);
	/* libconfig's tree is gone: give its memory back (many times the size
	 * of the rules) before the image is made. */
	give_memory_back();
	struct cr_ruleset *rs = d ? cr_config_build(d, cr_image_hash(text, len, 0), err, errsize) : NULL;
	cr_draft_free(d);
	give_memory_back();
	return rs;
}

struct cr_ruleset *cr_config_load_bounded(const char *path, size_t text_max, char *err, size_t errsize)
{
	struct cr_config_file f;
	if (cr_config_open(path, text_max, &f, err, errsize) != 0)
		return NULL;
	if (f.image)
		return cr_image_open(f.image, f.len, CR_IMAGE_MAPPED, path, err, errsize);
	struct cr_ruleset *rs = load_text(f.text, f.len, path, err, errsize);
	free(f.text);
	return rs;
}

struct cr_ruleset *cr_config_load(const char *path, char *err, size_t errsize)
{
	return cr_config_load_bounded(path, CR_CONFIG_MAX_BYTES, err, errsize);
}

struct cr_ruleset *cr_config_load_string(const char *text, const char *name, char *err, size_t errsize)
{
	return load_text(text, strlen(text), name, err, errsize);
}

void cr_config_print(const struct cr_draft *d, FILE *out)
{
	fprintf(out, "# %s, as connrefuse understands it\n", d->source ? d->source : "rules");
	cr_keys_print(out, &cr_scope_top, d, "", "\n");
}

void cr_config_each_key(void (*fn)(const char *scope, const char *name, enum cr_key_type type, void *arg), void *arg)
{
	const struct cr_scope *scopes[] = { &cr_scope_top, &cr_scope_log, &cr_scope_relay, &cr_scope_rule };
	for (unsigned i = 0; i < sizeof scopes / sizeof *scopes; i++)
		for (unsigned j = 0; j < scopes[i]->nkeys; j++)
			fn(scopes[i]->name, scopes[i]->keys[j].name, scopes[i]->keys[j].type, arg);
}
