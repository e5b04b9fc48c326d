/* connrefuse check FILE: the rules as understood, or the error. */
#include "cli.h"
#include "engine/config.h"
#include "engine/config_file.h"
#include "engine/image.h"
#include "engine/rules.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A path pattern that can match no absolute path: '*', '?' and [...] never
 * match '/', so only a '/' after the leading stars can begin one (abstract
 * names, "@...", are not paths). */
static bool matches_no_absolute_path(const char *pattern)
{
	if (pattern[0] == '@')
		return false;
	while (*pattern == '*')
		pattern++;
	return *pattern != '/';
}

/* Warnings: the file is valid, but a key will not do what it seems to. */
static void warn_paths(const struct cr_draft *rs)
{
	for (unsigned i = 0; i < rs->nrules; i++)
		for (unsigned j = 0; j < rs->rules[i].npaths; j++)
			if (matches_no_absolute_path(rs->rules[i].paths[j]))
				fprintf(stderr,
					"connrefuse: warning: %s:%u: rule \"%s\": path \"%s\" can match no absolute path "
					"('*', '?' and [...] do not match '/'): only relative paths and abstract sockets; "
					"for every unix socket, use proto = \"unix\"\n",
					rs->source, rs->rules[i].line, rs->rules[i].name, rs->rules[i].paths[j]);
}

/* ---- rules that can never decide ---- */

static bool prefix_within(const struct cr_prefix *outer, const struct cr_prefix *p)
{
	if (outer->family != p->family || outer->len > p->len)
		return false;
	unsigned full = outer->len / 8, rest = outer->len % 8;
	return memcmp(outer->addr, p->addr, full) == 0 &&
	       (!rest || ((outer->addr[full] ^ p->addr[full]) & (0xff << (8 - rest))) == 0);
}

static bool always_fires(const struct cr_draft_rule *r)
{
	return !r->has_probability && !r->has_window && !r->has_flap && !r->first && !r->after && !r->every;
}

/* Whether rule a matches every connect rule b matches (a conservative
 * answer: false where names, paths or processes would have to be
 * compared). */
static bool covers(const struct cr_draft_rule *a, const struct cr_draft_rule *b)
{
	if (a->resolver || b->resolver || a->process || a->npaths || a->nhosts)
		return false;
	if (a->proto_mask && (!b->proto_mask || (b->proto_mask & ~a->proto_mask)))
		return false;
	if (a->has_dst && !a->dst_any) {
		if (!b->has_dst || b->dst_any || b->nhosts || !b->nprefixes)
			return false;
		for (unsigned i = 0; i < b->nprefixes; i++) {
			bool in = false;
			for (unsigned k = 0; k < a->nprefixes && !in; k++)
				in = prefix_within(&a->prefixes[k], &b->prefixes[i]);
			if (!in)
				return false;
		}
	}
	if (a->nports) {
		if (!b->nports)
			return false;
		for (unsigned i = 0; i < b->nports; i++) {
			bool in = false;
			for (unsigned k = 0; k < a->nports && !in; k++)
				in = a->ports[k].lo <= b->ports[i].lo && b->ports[i].hi <= a->ports[k].hi;
			if (!in)
				return false;
		}
	}
	return true;
}

/* A rule after one that matches all it matches and always fires can never
 * decide (rules are tried in order). Pairs are compared, so only in rule
 * sets of up to 2,000 rules. */
static void warn_shadowed(const struct cr_draft *d)
{
	if (d->nrules > 2000)
		return;
	for (unsigned j = 1; j < d->nrules; j++)
		for (unsigned i = 0; i < j; i++)
			if (always_fires(&d->rules[i]) && covers(&d->rules[i], &d->rules[j])) {
				fprintf(stderr,
					"connrefuse: warning: %s:%u: rule \"%s\" can never decide: rule \"%s\" (line %u) "
					"before it matches every connect it matches and always fires; put the "
					"narrower rule first\n",
					d->source, d->rules[j].line, d->rules[j].name, d->rules[i].name,
					d->rules[i].line);
				break;
			}
}

int cr_cmd_check(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cr_help("check");
	if (argc == 3 && strcmp(argv[1], "--image") == 0)
		return cr_check_image(argv[2]);
	if (argc != 2)
		return cr_usage_error("check", "%s", "check takes one FILE, or --image ROOT");
	struct cr_rules rules;
	if (cr_rules_load(argv[1], CR_RULES_VERIFY | CR_RULES_DRAFT, &rules) != 0)
		return 1;
	const struct cr_ruleset *rs = rules.set;
	const struct cr_draft *d = rules.draft;
	char err[1024], start_dir[4096];
	/* A relative log.file, as a program started here would join it. */
	struct cr_log_conf lc = rs->log;
	if (cr_start_dir(getenv("CONNREFUSE_START_DIR"), start_dir, sizeof start_dir) != 0)
		start_dir[0] = '\0';
	cr_log_file_absolute(&lc, start_dir);
	if (cr_check_log_file(lc.file, err, sizeof err) != 0) {
		fprintf(stderr, "connrefuse: %s: %s\n", argv[1], err);
		cr_rules_free(&rules);
		return 1;
	}
	if (rs->compiled)
		printf("# compiled, format %u: %u rule%s, %zu bytes, source text hash %016llx, checksum verified\n",
		       rs->format, rs->nrules, rs->nrules == 1 ? "" : "s", rs->image_len,
		       (unsigned long long)rs->source_hash);
	if (rs->compiled && rs->format < CR_IMAGE_VERSION)
		fprintf(stderr,
			"connrefuse: note: %s is of format %u, an earlier connrefuse's; compile its source "
			"again for format %u (faster unix path look-ups; faults after connect; shaping)\n",
			argv[1], rs->format, CR_IMAGE_VERSION);
	cr_config_print(d, stdout);
	if (*rs->log.file && rs->log.file[0] != '/')
		printf("# log.file \"%s\" is %s: a relative log.file is joined with the folder the program starts "
		       "in (under connrefuse run, the folder run starts in)\n",
		       rs->log.file, lc.file);
	warn_paths(d);
	warn_shadowed(d);
	struct stat st;
	if (!rs->compiled && stat(argv[1], &st) == 0 && (size_t)st.st_size > CR_RELOAD_TEXT_MAX)
		fprintf(stderr,
			"connrefuse: note: %s is %lld bytes of text, more than the %u KiB a running program "
			"reloads: a change is not reloaded until the program restarts; compile it "
			"(connrefuse compile %s) for hot reload at any size\n",
			argv[1], (long long)st.st_size, CR_RELOAD_TEXT_MAX >> 10, argv[1]);
	cr_rules_free(&rules);
	return 0;
}
