/* connrefuse match FILE DST[:PORT], or FILE --resolve NAME: which rule
 * would decide a connect (or a look-up of NAME, by the host rules), and why
 * each rule before it did not. It asks the rules as the library would on a
 * given attempt (--attempt N: every matching rule on its Nth attempt) at a
 * given time since the rules were loaded (--at SECONDS); it resolves
 * nothing. */
#define _GNU_SOURCE
#include "cli.h"
#include "engine/config.h"
#include "engine/decide.h"
#include "engine/errtab.h"
#include "engine/outcome.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

struct ask {
	const char *text;    /* DST[:PORT] as given */
	const char *resolve; /* --resolve NAME: a look-up, not a connect */
	const char *proto, *process, *host;
	bool host_only; /* DST is a host name: address rules cannot be asked */
	uint64_t attempt;
	double at;                    /* seconds since the rules were loaded */
	const struct cr_draft *draft; /* the rules as written, for the reasons */
};

/* The socket type --proto names (0 for unix); -1 for a bad name. */
static int proto_sotype(const char *proto, const struct cr_dest *d)
{
	if (!proto)
		return d->family == CR_FAM_UNIX ? 0 : SOCK_STREAM;
	if (strcmp(proto, "tcp") == 0)
		return SOCK_STREAM;
	if (strcmp(proto, "udp") == 0)
		return SOCK_DGRAM;
	return strcmp(proto, "unix") == 0 ? 0 : -1;
}

/* A rule that only names addresses: with a host name alone it cannot be asked. */
static bool address_rule(const struct cr_draft_rule *r)
{
	return r->has_dst && r->nprefixes && !r->nhosts && !r->dst_any;
}

/* Why rule r, which matches, does not fire on attempt n at t seconds. */
static void why_not(const struct cr_ruleset *rs, const struct cr_rule *cr, const struct cr_draft_rule *r, uint64_t n,
		    double t, char *buf, size_t size)
{
	unsigned long long a = (unsigned long long)n;
	if (r->first && n > r->first)
		snprintf(buf, size, "it fires on the first %llu attempts only (this is attempt %llu)",
			 (unsigned long long)r->first, a);
	else if (r->after && n <= r->after)
		snprintf(buf, size, "it fires once %llu attempt%s gone by (this is attempt %llu)",
			 (unsigned long long)r->after, r->after == 1 ? " has" : "s have", a);
	else if (r->every && n % r->every)
		snprintf(buf, size, "it fires on every %lluth attempt (this is attempt %llu)",
			 (unsigned long long)r->every, a);
	else if (r->has_window && t < r->window_start)
		snprintf(buf, size, "not in its window: opens at %g s (asked at %g s)", r->window_start, t);
	else if (r->has_window && t >= r->window_start + r->window_duration)
		snprintf(buf, size, "not in its window: closed at %g s (asked at %g s)",
			 r->window_start + r->window_duration, t);
	else if (r->has_flap)
		snprintf(buf, size, "flapping: up (passing) at %g s, down again at %g s", t,
			 t - fmod(t, r->flap_up + r->flap_down) + r->flap_up + r->flap_down);
	else
		snprintf(buf, size, "its draw for attempt %llu is %.3f, not below probability %g%s", a,
			 cr_rule_draw(rs, cr, n), r->probability,
			 rs->seeded ? "" : " (no seed: draws differ run to run)");
}

/* The widths of the name and line columns for the rules of d; the number
 * of rules of the other kind (host rules for a connect, connect rules for a
 * look-up), which are not asked. */
static unsigned columns(const struct cr_draft *d, bool lookup, int *width, int *line_width)
{
	unsigned others = 0, last_line = 0;
	*width = 12;
	*line_width = 4;
	for (unsigned i = 0; i < d->nrules; i++) {
		if ((int)strlen(d->rules[i].name) > *width)
			*width = (int)strlen(d->rules[i].name) > 40 ? 40 : (int)strlen(d->rules[i].name);
		others += d->rules[i].resolver != lookup;
		if (d->rules[i].line > last_line)
			last_line = d->rules[i].line;
	}
	if (snprintf(NULL, 0, "%u", last_line) > *line_width)
		*line_width = snprintf(NULL, 0, "%u", last_line);
	return others;
}

/* The rules walk() did not list, each kind in a line: the misses of a big
 * rule set, and the rules of the other kind. */
static void print_unlisted(unsigned misses, unsigned others, bool decided, bool lookup)
{
	if (misses && decided)
		printf("  (%u other %s before it do%s not match: a big rule set's misses are counted, not listed)\n",
		       misses, misses == 1 ? "rule" : "rules", misses == 1 ? "es" : "");
	else if (misses)
		printf("  (none of the %u %s matches: a big rule set's misses are counted, not listed)\n", misses,
		       misses == 1 ? "rule" : "rules");
	if (others)
		printf("  (%u %s not asked: %s)\n", others, others == 1 ? "rule" : "rules",
		       lookup ? "they decide connects" : "host rules decide name look-ups: match FILE --resolve NAME");
}

/* Under a rule with a schedule: whose attempts --attempt counts. */
static void print_scope(const struct cr_ruleset *rs, const struct cr_rule *r)
{
	const char *note = cr_scope_note(rs, r);
	if (note)
		printf("    (%s)\n", note);
}

/* Each rule in order, up to the first that matches and fires: that one.
 * A connect (q) is asked of the connect rules, a look-up (lq) of the host
 * rules; the others are named once in a line. */
static const struct cr_rule *walk(const struct cr_ruleset *rs, const struct cr_query *q, const struct cr_lookup *lq,
				  const struct ask *a)
{
	int width, line_width;
	unsigned misses = 0;
	const struct cr_draft *d = a->draft;
	unsigned others = columns(d, !!lq, &width, &line_width);
	/* A big rule set: the rules that do not match are counted, not listed. */
	bool list_misses = d->nrules <= 40;
	double now = lq ? lq->now : q->now;
	double t = now - rs->loaded_at;
	const struct cr_rule *decided = NULL;
	for (unsigned i = 0; i < rs->nrules && i < d->nrules && !decided; i++) {
		const struct cr_rule *r = cr_ruleset_rule(rs, i);
		const struct cr_draft_rule *dr = &d->rules[i];
		if (dr->resolver != !!lq)
			continue;
		bool asked = lq || !a->host_only || !address_rule(dr);
		if (asked && (lq ? !cr_lookup_matches(rs, r, lq) : !cr_rule_matches(rs, r, q)) && !list_misses) {
			misses++;
			continue;
		}
		printf("  rule %-*s line %-*u ", width, dr->name, line_width, dr->line);
		if (!asked) {
			printf("not asked: it matches addresses, and %s is a host name\n", a->text);
			continue;
		}
		if (lq ? !cr_lookup_matches(rs, r, lq) : !cr_rule_matches(rs, r, q)) {
			printf("no match\n");
			continue;
		}
		if (cr_rule_fires(rs, r, a->attempt, now)) {
			if (a->attempt == 1 && a->at == 0)
				printf("matches; its schedule fires on the first attempt\n");
			else
				printf("matches; its schedule fires on attempt %llu at %g s\n",
				       (unsigned long long)a->attempt, t);
			print_scope(rs, r);
			decided = r;
			continue;
		}
		char why[200];
		why_not(rs, r, dr, a->attempt, t, why, sizeof why);
		printf("matches; does not fire: %s: skipped\n", why);
		print_scope(rs, r);
	}
	print_unlisted(misses, others, decided, !!lq);
	return decided;
}

/* A fault after connect in words: what the program sees, and when. */
static void explain_fault(const struct cr_ruleset *rs, const struct cr_verdict *v)
{
	static const char *const counted[] = { "in either direction", "toward the program", "from the program" };
	static const char *const what[] = {
		[CR_ACT_RESET] = "its socket receives a real RST (reads and writes fail with ECONNRESET)",
		[CR_ACT_CLOSE] = "its socket receives a real FIN (reads see end of file)",
		[CR_ACT_STALL] = "no byte passes any more",
	};
	const char *dir = counted[v->fault.direction <= CR_DIR_OUT ? v->fault.direction : 0];
	if (*rs->relay_socket)
		printf("  after connect: the connection goes through connrefuse run's relay, or else connrefuse relay's at %s, which connects to the destination first; ",
		       rs->relay_socket);
	else
		printf("  after connect: the connection goes through connrefuse run's relay, which connects to the destination first; ");
	if (v->fault.has_after_ms)
		printf("%u ms after the connect, ", v->fault.after_ms);
	else if (v->fault.after_bytes)
		printf("once %llu bytes have passed %s, ", (unsigned long long)v->fault.after_bytes, dir);
	else
		printf("at once, ");
	printf("%s", what[v->action]);
	if (v->action == CR_ACT_STALL)
		printf(" %s", dir);
	printf("\n");
}

/* Shaping in words: what each chunk meets, in which direction. */
static void explain_shape(const struct cr_ruleset *rs, const struct cr_verdict *v)
{
	static const char *const ways[] = { "both ways", "toward the program", "from the program" };
	const struct cr_shape *s = &v->shape;
	if (v->action == CR_ACT_PASS && *rs->relay_socket)
		printf("  shaped: the connection goes through connrefuse run's relay, or else connrefuse relay's at %s, which connects to the destination first; ",
		       rs->relay_socket);
	else if (v->action == CR_ACT_PASS)
		printf("  shaped: the connection goes through connrefuse run's relay, which connects to the destination first; ");
	else
		printf("  shaped until the fault fires: ");
	printf("%s,", ways[v->fault.direction <= CR_DIR_OUT ? v->fault.direction : 0]);
	if (s->has_latency_ms) {
		printf(" each chunk is held %u ms", s->latency_ms);
		if (s->has_jitter_ms)
			printf(" (+- %u ms, uniform; in order)", s->jitter_ms);
	}
	if (s->has_bandwidth)
		printf("%s at most %llu bytes a second pass", s->has_latency_ms ? ";" : "",
		       (unsigned long long)s->bandwidth);
	if (s->has_slice)
		printf("%s bytes are written in pieces of at most %u bytes, %u ms apart",
		       s->has_latency_ms || s->has_bandwidth ? ";" : "", s->slice, s->slice_ms);
	printf("\n");
}

static void print_verdict(const struct cr_ruleset *rs, const struct cr_verdict *v)
{
	if (v->rule)
		printf("decided by rule %s (line %u): action=%s", cr_rule_name(rs, v->rule), cr_rule_line(rs, v->rule),
		       cr_action_name(v->action));
	else
		printf("decided by default_action: action=%s", cr_action_name(v->action));
	if (v->action == CR_ACT_REFUSE || v->action == CR_ACT_FAIL)
		printf(" errno=%s", cr_errno_name(v->err));
	if (v->delay_ms)
		printf(" delay_ms=%u", v->delay_ms);
	bool shaped = cr_shape_any(&v->shape);
	if (cr_action_after_connect(v->action) || shaped) {
		if (v->fault.has_after_bytes)
			printf(" after_bytes=%llu", (unsigned long long)v->fault.after_bytes);
		if (v->fault.has_after_ms)
			printf(" after_ms=%u", v->fault.after_ms);
		if (v->shape.has_latency_ms)
			printf(" latency_ms=%u", v->shape.latency_ms);
		if (v->shape.has_jitter_ms)
			printf(" jitter_ms=%u", v->shape.jitter_ms);
		if (v->shape.has_bandwidth)
			printf(" bandwidth=%llu", (unsigned long long)v->shape.bandwidth);
		if (v->shape.has_slice)
			printf(" slice=%u slice_ms=%u", v->shape.slice, v->shape.slice_ms);
		printf(" direction=%s", cr_direction_name(v->fault.direction));
	}
	if (cr_verdict_dry_run(v))
		printf(" dry_run=yes");
	printf(" log=%s\n", cr_level_name(v->level));
	if (cr_action_after_connect(v->action))
		explain_fault(rs, v);
	if (shaped)
		explain_shape(rs, v);
	if (cr_verdict_dry_run(v) && (cr_action_after_connect(v->action) || shaped))
		printf("  dry run: none of this is made; the connect goes ahead directly, not relayed, and its line says dry_run=yes\n");
}

/* What a destination as written may not say plainly: a missing port, or an
 * IPv6 address whose last group looks like a port. */
static void warn_form(const struct cr_target *t, const char *text)
{
	if (t->unix_path || t->port >= 0)
		return;
	char hint[300];
	if (cr_target_port_like(text, hint, sizeof hint))
		fprintf(stderr, "connrefuse: match: %s\n", hint);
	else
		fprintf(stderr,
			"connrefuse: match: %s has no port: port 0 is asked; give one (1.2.3.4:443, [::1]:443)\n",
			text);
}

static int explain(const struct cr_ruleset *rs, struct ask *a)
{
	struct cr_target t;
	struct cr_dest d;
	const char *name = NULL;
	if (cr_target_parse(a->text, &t) != 0 || cr_target_dest(&t, &d, &name) != 0)
		return cr_usage_error("match", "match: %s is not DST[:PORT]", a->text);
	int sotype = proto_sotype(a->proto, &d);
	if (sotype < 0)
		return cr_usage_error("match", "match: --proto %s: expected tcp, udp or unix", a->proto);
	if (a->proto && sotype == 0 && d.family != CR_FAM_UNIX)
		return cr_usage_error("match", "match: --proto unix needs a /path or @name, not %s", a->text);
	if (!name)
		warn_form(&t, a->text);
	a->host_only = name && !a->host;
	const char *host = a->host ? a->host : name;
	double loaded = rs->loaded_at;
	struct cr_query q = {
		.dest = &d,
		.sotype = sotype,
		.host = host,
		.comm = a->process ? a->process : "?",
		.exe = a->process && strchr(a->process, '/') ? a->process : NULL,
		.now = loaded + a->at,
	};
	const char *proto = d.family == CR_FAM_UNIX ? "unix" : sotype == SOCK_DGRAM ? "udp" : "tcp";
	char dst[256];
	cr_dest_format(&d, dst, sizeof dst);
	if (a->host_only)
		printf("destination: %s (a host name: the address rules are not asked; to ask them, give the address: "
		       "connrefuse match FILE ADDR:%u --host %s) proto=%s process=%s\n",
		       a->text, d.port, name, proto, a->process ? a->process : "(any)");
	else
		printf("destination: %s%s%s proto=%s process=%s\n", dst, host ? " host=" : "", host ? host : "", proto,
		       a->process ? a->process : "(any)");
	struct cr_verdict v;
	cr_verdict_of(rs, walk(rs, &q, NULL, a), &v);
	print_verdict(rs, &v);
	return 0;
}

/* match FILE --resolve NAME: the host rules, as a look-up of NAME asks them. */
static int explain_lookup(const struct cr_ruleset *rs, const struct ask *a)
{
	double loaded = rs->loaded_at;
	struct cr_lookup lq = {
		.name = a->resolve,
		.comm = a->process ? a->process : "?",
		.exe = a->process && strchr(a->process, '/') ? a->process : NULL,
		.now = loaded + a->at,
	};
	printf("look-up: %s process=%s\n", a->resolve, a->process ? a->process : "(any)");
	const struct cr_rule *r = walk(rs, NULL, &lq, a);
	if (!r) {
		printf("decided by no host rule: the look-up goes ahead (default_action is for connects) log=%s\n",
		       cr_level_name(rs->log.level));
		return 0;
	}
	struct cr_verdict v;
	cr_verdict_of(rs, r, &v);
	print_verdict(rs, &v);
	return 0;
}

/* The operands (n of them, at args) fit the options of a: FILE and
 * DST[:PORT], or FILE alone with --resolve. 0, or the exit status of a
 * usage error that says what was meant (a port apart, FILE second). */
static int check_operands(int n, char **args, const struct ask *a)
{
	if (a->resolve && (a->host || a->proto))
		return cr_usage_error("match", "match: --resolve asks the host rules about a look-up: it takes no --%s",
				      a->host ? "host" : "proto");
	if (a->resolve && n != 1)
		return cr_usage_error("match", "%s", "match --resolve NAME takes FILE alone");
	if (!a->resolve && n == 3 && strspn(args[2], "0123456789") == strlen(args[2])) {
		char what[600];
		const char *h = args[1];
		snprintf(what, sizeof what, "match: the port goes with the address: %s%s%s:%s",
			 strchr(h, ':') ? "[" : "", h, strchr(h, ':') ? "]" : "", args[2]);
		return cr_usage_error("match", "%s", what);
	}
	if (!a->resolve && n != 2)
		return cr_usage_error("match", "%s", "match takes FILE and DST[:PORT] (or FILE --resolve NAME)");
	struct cr_target swapped;
	if (!a->resolve && access(args[0], F_OK) != 0 && cr_target_parse(args[0], &swapped) == 0 &&
	    access(args[1], R_OK) == 0) {
		char what[600];
		snprintf(what, sizeof what, "match: FILE comes first: connrefuse match %s %s", args[1], args[0]);
		return cr_usage_error("match", "%s", what);
	}
	return 0;
}

/* The rules of file asked about dst, or about a->resolve (dst NULL). */
static int ask_rules(const char *file, const char *dst, struct ask *a)
{
	struct cr_rules rules;
	if (cr_rules_load(file, CR_RULES_DRAFT, &rules) != 0)
		return 1;
	a->draft = rules.draft;
	int rc;
	if (a->resolve) {
		rc = explain_lookup(rules.set, a);
	} else {
		a->text = dst;
		rc = explain(rules.set, a);
	}
	cr_rules_free(&rules);
	return rc;
}

int cr_cmd_match(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "proto", required_argument, NULL, 'p' },   { "process", required_argument, NULL, 'P' },
		{ "host", required_argument, NULL, 'H' },    { "resolve", required_argument, NULL, 'R' },
		{ "attempt", required_argument, NULL, 'a' }, { "at", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },          { 0 },
	};
	struct ask a = { .attempt = 1 };
	char *end;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a.proto = optarg;
			break;
		case 'P':
			a.process = optarg;
			break;
		case 'H':
			a.host = optarg;
			break;
		case 'R':
			a.resolve = optarg;
			break;
		case 'a':
			a.attempt = strtoull(optarg, &end, 10);
			if (!isdigit((unsigned char)*optarg) || *end || a.attempt == 0)
				return cr_usage_error("match", "match: --attempt %s: expected a number from 1", optarg);
			break;
		case 't':
			a.at = strtod(optarg, &end);
			if (!isdigit((unsigned char)*optarg) || *end || !(a.at >= 0) || isinf(a.at))
				return cr_usage_error(
					"match",
					"match: --at %s: expected seconds since the rules were loaded (0, 2.5, ...)",
					optarg);
			break;
		case 'h':
			return cr_help("match");
		default:
			return cr_usage_error("match", "%s", "match: bad option");
		}
	}
	int rc = check_operands(argc - optind, argv + optind, &a);
	if (rc != 0)
		return rc;
	return ask_rules(argv[optind], a.resolve ? NULL : argv[optind + 1], &a);
}
