/* connrefuse match FILE DST[:PORT]: which rule would decide, and why. */
#define _GNU_SOURCE
#include "cli.h"
#include "engine/config.h"
#include "engine/decide.h"
#include "engine/errtab.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The socket type --proto names (0 for unix); -1 for a bad name. */
static int proto_sotype(const char *proto)
{
	if (!proto || strcmp(proto, "tcp") == 0)
		return SOCK_STREAM;
	if (strcmp(proto, "udp") == 0)
		return SOCK_DGRAM;
	return strcmp(proto, "unix") == 0 ? 0 : -1;
}

/* Each rule in order, up to the first that matches and fires. */
static void print_walk(const struct cr_ruleset *rs, const struct cr_query *q)
{
	for (unsigned i = 0; i < rs->nrules; i++) {
		const struct cr_rule *r = &rs->rules[i];
		if (!cr_rule_matches(r, q)) {
			printf("  rule %-12s line %-4u no match\n", r->name, r->line);
			continue;
		}
		bool fires = cr_rule_fires(rs, r, 1, q->now);
		printf("  rule %-12s line %-4u matches; %s\n", r->name, r->line,
		       fires ? "its schedule fires on the first attempt" : "its schedule does not fire on the first attempt: skipped");
		if (fires)
			break;
	}
}

static void print_verdict(const struct cr_verdict *v)
{
	if (v->rule)
		printf("decided by rule %s (line %u): action=%s", v->rule->name, v->rule->line, cr_action_name(v->action));
	else
		printf("decided by default_action: action=%s", cr_action_name(v->action));
	if (v->action == CR_ACT_REFUSE || v->action == CR_ACT_FAIL)
		printf(" errno=%s", cr_errno_row(v->err)->name);
	if (v->delay_ms)
		printf(" delay_ms=%u", v->delay_ms);
	if (v->dry_run && (v->action == CR_ACT_REFUSE || v->action == CR_ACT_FAIL))
		printf(" dry_run=yes");
	printf(" log=%s\n", cr_level_name(v->level));
}

static int explain(const struct cr_ruleset *rs, const char *text, const char *proto, const char *process,
		   const char *host)
{
	struct cr_target t;
	struct cr_dest d;
	if (cr_target_parse(text, &t) != 0 || cr_target_dest(&t, &d, &host) != 0)
		return cr_usage_error("match: %s is not DST[:PORT]", text);
	int sotype = proto_sotype(proto);
	if (sotype < 0)
		return cr_usage_error("match: --proto %s: expected tcp, udp or unix", proto);
	if (proto && sotype == 0 && d.family != CR_FAM_UNIX)
		return cr_usage_error("match: --proto unix needs a /path or @name, not %s", text);
	struct cr_query q = {
		.dest = &d, .sotype = sotype, .host = host, .comm = process ? process : "?",
		.exe = process && strchr(process, '/') ? process : NULL,
	};
	/* Times are taken at the rule set's load, as for a program just started. */
	q.now = rs->nrules && rs->rules[0].state ? rs->rules[0].state->loaded_at : 0;
	char dst[256];
	cr_dest_format(&d, dst, sizeof dst);
	printf("destination: %s%s%s%s proto=%s process=%s\n", host && d.family == CR_FAM_INET6 && !d.port ? "" : dst,
	       host ? " host=" : "", host ? host : "", "", proto ? proto : "tcp", process ? process : "(any)");
	print_walk(rs, &q);
	struct cr_verdict v;
	cr_decide_peek(rs, &q, &v);
	print_verdict(&v);
	return 0;
}

int cr_cmd_match(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "proto", required_argument, NULL, 'p' },
		{ "process", required_argument, NULL, 'P' },
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *proto = NULL, *process = NULL, *host = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': proto = optarg; break;
		case 'P': process = optarg; break;
		case 'H': host = optarg; break;
		case 'h': return cr_help("match");
		default: return cr_usage_error("%s", "match: bad option");
		}
	}
	if (argc - optind != 2)
		return cr_usage_error("%s", "match takes FILE and DST[:PORT]");
	char err[1024];
	struct cr_ruleset *rs = cr_config_load(argv[optind], err, sizeof err);
	if (!rs) {
		fprintf(stderr, "connrefuse: %s\n", err);
		return 1;
	}
	int rc = explain(rs, argv[optind + 1], proto, process, host);
	cr_ruleset_free(rs);
	return rc;
}
