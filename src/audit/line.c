/* A record of the kernel program as the library's line: the same keys,
 * decoded error and sinks, with source=kernel after simulated. Left out,
 * when the rules hold "log" rules, what none of them matches. (The
 * library's own sinks the kernel program leaves out itself.) */
#define _GNU_SOURCE
#include "audit.h"
#include "engine/decide.h"
#include "engine/logfmt.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void cr_audit_log_init(struct cr_audit_log *l, const struct cr_ruleset *rules)
{
	memset(l, 0, sizeof *l);
	l->rules = rules;
	for (uint32_t i = 0; rules && i < rules->nrules; i++) {
		struct cr_verdict v;
		cr_verdict_of(rules, cr_ruleset_rule(rules, i), &v);
		if (v.action == CR_ACT_LOG)
			l->filter = true;
	}
}

/* The destination as the program gave it: a v4-mapped address on an
 * AF_INET6 socket stays mapped, as the library's line writes it. */
static int dest_of(const struct cr_audit_record *r, struct cr_dest *d)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	if (r->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(r->dport);
		memcpy(&in->sin_addr, r->daddr, 4);
		len = sizeof *in;
	} else if (r->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(r->dport);
		memcpy(&in6->sin6_addr, r->daddr, 16);
		len = sizeof *in6;
	} else {
		return -1;
	}
	return cr_dest_from_sockaddr((struct sockaddr *)&ss, len, d);
}

/* The first "log" rule that matches (the filter), or NULL. */
static const struct cr_rule *log_rule(const struct cr_audit_log *l, const struct cr_dest *d, int sotype,
				      const char *comm, const char *exe)
{
	struct cr_query q = { .dest = d, .sotype = sotype, .comm = comm, .exe = exe };
	for (uint32_t i = 0; i < l->rules->nrules; i++) {
		const struct cr_rule *rule = cr_ruleset_rule(l->rules, i);
		struct cr_verdict v;
		cr_verdict_of(l->rules, rule, &v);
		if (v.action == CR_ACT_LOG && cr_rule_matches(l->rules, rule, &q))
			return rule;
	}
	return NULL;
}

bool cr_audit_log_record(struct cr_audit_log *l, const struct cr_audit_record *r)
{
	struct cr_dest d;
	if (dest_of(r, &d) != 0)
		return false;
	char comm[CR_AUDIT_COMM_LEN + 1];
	memcpy(comm, r->comm, CR_AUDIT_COMM_LEN);
	comm[CR_AUDIT_COMM_LEN] = '\0';
	const char *rule = NULL;
	if (l->filter) {
		char exe[4096] = "", link[64];
		snprintf(link, sizeof link, "/proc/%u/exe", r->tgid);
		ssize_t n = readlink(link, exe, sizeof exe - 1);
		exe[n > 0 ? n : 0] = '\0';
		const struct cr_rule *hit = log_rule(l, &d, r->kind == CR_AUDIT_UDP ? SOCK_DGRAM : SOCK_STREAM, comm,
						     *exe ? exe : NULL);
		if (!hit)
			return false;
		rule = cr_rule_name(l->rules, hit);
	}
	char cgroup[512];
	cr_audit_cgroup_path(r->cgroup_id, cgroup, sizeof cgroup);
	struct cr_event ev = {
		.result = cr_result_of(r->err),
		.simulated = false,
		.source = "kernel",
		.rule = rule,
		.action = rule ? CR_ACT_LOG : CR_ACT_PASS,
		.pid = (pid_t)r->tgid,
		.comm = comm,
		.dest = &d,
		.proto = r->kind == CR_AUDIT_UDP ? "udp" : "tcp",
		.err = r->err,
		.has_ids = true,
		.uid = (int)r->uid,
		.euid = (int)r->euid,
		.cgroup = *cgroup ? cgroup : NULL,
	};
	bool logged = false;
	for (unsigned i = 0; i < l->nsinks; i++) {
		const struct cr_log_conf *lc = l->sinks[i].conf;
		if (lc->level < CR_LEVEL_FAILURES)
			continue;
		cr_log_event(lc, l->sinks[i].state, &ev);
		logged = true;
	}
	return logged;
}

void cr_audit_log_summary(struct cr_audit_log *l, unsigned long long lost)
{
	unsigned long long fresh = lost > l->lost_seen ? lost - l->lost_seen : 0;
	l->lost_seen = lost > l->lost_seen ? lost : l->lost_seen;
	for (unsigned i = 0; i < l->nsinks; i++) {
		struct cr_log_state *st = l->sinks[i].state;
		if (fresh) {
			atomic_fetch_add(&st->dropped, fresh);
			atomic_fetch_add(&st->dropped_total, fresh);
		}
		cr_log_summary(l->sinks[i].conf, st, "connrefuse");
	}
}
