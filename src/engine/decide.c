#include "decide.h"
#include "rules_impl.h"
#include "glob.h"
#include "index.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>

static bool host_matches(const struct cr_ruleset *rs, const struct cr_rule *r, const char *host)
{
	if (!host)
		return false;
	size_t len = strlen(host);
	if (len && host[len - 1] == '.')
		len--; /* "db.internal." is "db.internal" */
	uint32_t off = CR_ONCE(r->hosts), n = cr_rs_fit(off, CR_ONCE(r->nhosts), rs->nrefs);
	for (uint32_t i = 0; i < n; i++)
		if (cr_glob_match(cr_rs_str(rs, rs->refs[off + i]), host, len, CR_GLOB_NOCASE))
			return true;
	return false;
}

static bool dst_matches(const struct cr_ruleset *rs, const struct cr_rule *r, const struct cr_query *q)
{
	if (r->flags & CR_RF_DST_ANY)
		return true;
	uint32_t off = CR_ONCE(r->prefixes), n = cr_rs_fit(off, CR_ONCE(r->nprefixes), rs->nprefixes);
	for (uint32_t i = 0; i < n; i++)
		if (cr_prefix_match(&rs->prefixes[off + i], q->dest))
			return true;
	return host_matches(rs, r, q->host);
}

static bool port_matches(const struct cr_ruleset *rs, const struct cr_rule *r, uint16_t port)
{
	if (port >= r->port0.lo && port <= r->port0.hi)
		return true; /* the first range, from the rule's own cache line */
	uint32_t off = CR_ONCE(r->ports), n = cr_rs_fit(off, CR_ONCE(r->nports), rs->nports);
	for (uint32_t i = 1; i < n; i++)
		if (port >= rs->ports[off + i].lo && port <= rs->ports[off + i].hi)
			return true;
	return false;
}

static bool path_matches(const struct cr_ruleset *rs, const struct cr_rule *r, const struct cr_dest *d)
{
	/* The first pattern from the rule's own cache line. */
	if (cr_glob_match(cr_rs_str(rs, r->path0), d->path, d->path_len, CR_GLOB_PATHNAME))
		return true;
	uint32_t off = CR_ONCE(r->paths), n = cr_rs_fit(off, CR_ONCE(r->npaths), rs->nrefs);
	for (uint32_t i = 1; i < n; i++)
		if (cr_glob_match(cr_rs_str(rs, rs->refs[off + i]), d->path, d->path_len, CR_GLOB_PATHNAME))
			return true;
	return false;
}

static CR_HOT bool matches(const struct cr_ruleset *rs, const struct cr_rule *r, const struct cr_query *q,
			   bool key_matched)
{
	if (r->flags & CR_RF_RESOLVER)
		return false; /* a host rule decides look-ups only */
	const struct cr_dest *d = q->dest;
	bool inet = d->family == CR_FAM_INET || d->family == CR_FAM_INET6;
	if ((r->flags & CR_RF_HAS_DST) && !key_matched && (!inet || !dst_matches(rs, r, q)))
		return false;
	if (r->nports && (!inet || !port_matches(rs, r, d->port)))
		return false;
	if (r->npaths && !key_matched && (d->family != CR_FAM_UNIX || !path_matches(rs, r, d)))
		return false;
	if (r->proto_mask) {
		unsigned p = d->family == CR_FAM_UNIX   ? CR_PROTO_UNIX
			     : q->sotype == SOCK_STREAM ? CR_PROTO_TCP
			     : q->sotype == SOCK_DGRAM  ? CR_PROTO_UDP
							: 0;
		if (!(r->proto_mask & p))
			return false;
	}
	if (r->process && !cr_ruleset_process_ok(rs, r->process, q->comm, q->exe))
		return false;
	return true;
}

bool cr_rule_matches(const struct cr_ruleset *rs, const struct cr_rule *r, const struct cr_query *q)
{
	return matches(rs, r, q, false);
}

/* splitmix64: a strong 64-bit mix, so that consecutive n give independent draws. */
static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

bool cr_err_reported_later(int err)
{
	switch (err) {
	case ECONNREFUSED:
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ECONNRESET:
	case ECONNABORTED:
	case EHOSTDOWN:
	case ENETDOWN:
		return true;
	default:
		return false;
	}
}

double cr_draw(uint64_t seed, uint64_t name_hash, uint64_t n)
{
	uint64_t x = mix64(mix64(seed ^ mix64(name_hash)) + n);
	return (double)(x >> 11) * 0x1.0p-53;
}

double cr_rule_draw(const struct cr_ruleset *rs, const struct cr_rule *r, uint64_t n)
{
	const struct cr_sched *s = cr_rule_sched(rs, r);
	return cr_draw(rs->seed, s ? s->name_hash : 0, n);
}

bool cr_ruleset_learnt_later(const struct cr_ruleset *rs)
{
	bool later = rs->log.level >= CR_LEVEL_FAILURES;
	for (unsigned i = 0; i < rs->nrules; i++)
		later |= (rs->rules[i].action == CR_ACT_FAIL && rs->rules[i].err != ECONNREFUSED &&
			  cr_err_reported_later(rs->rules[i].err)) ||
			 rs->rules[i].level >= CR_LEVEL_FAILURES;
	return later;
}

static bool fires(const struct cr_ruleset *rs, const struct cr_sched *r, uint64_t n, double now, double loaded_at);

/* When the rule's clock started: its own, or its set's loading. */
static double started(const struct cr_ruleset *rs, const struct cr_counts *st)
{
	double t = st ? atomic_load_explicit(&st->started, memory_order_relaxed) : 0;
	return t ? t : rs->loaded_at;
}

bool cr_rule_fires(const struct cr_ruleset *rs, const struct cr_rule *r, uint64_t n, double now)
{
	uint32_t at;
	const struct cr_sched *s = cr_rule_sched_at(rs, r, &at);
	return !s || fires(rs, s, n, now, started(rs, rs->states ? cr_ruleset_state(rs, at) : NULL));
}

static bool fires(const struct cr_ruleset *rs, const struct cr_sched *r, uint64_t n, double now, double loaded_at)
{
	if (r->first && n > r->first)
		return false;
	if (r->after && n <= r->after)
		return false;
	if (r->every && n % r->every != 0)
		return false;
	double t = now - loaded_at;
	if (r->has_window && (t < r->window_start || t >= r->window_start + r->window_duration))
		return false;
	if (r->has_flap) {
		/* Down (firing) first, for down_s; then up for up_s; repeating. */
		double phase = fmod(t, r->flap_up + r->flap_down);
		if (phase >= r->flap_down)
			return false;
	}
	if (r->has_probability && !(cr_draw(rs->seed, r->name_hash, n) < r->probability))
		return false;
	return true;
}

void cr_verdict_of(const struct cr_ruleset *rs, const struct cr_rule *r, struct cr_verdict *v)
{
	if (!r) {
		*v = (struct cr_verdict){
			.action = rs->default_action,
			.err = ECONNREFUSED,
			.level = rs->log.level,
			.dry_run = rs->dry_run,
		};
		v->simulate = (v->action == CR_ACT_REFUSE || v->action == CR_ACT_FAIL) && !v->dry_run;
		v->drop = v->action == CR_ACT_DROP && !v->dry_run;
		return;
	}
	v->rule = r;
	v->action = r->action <= CR_ACT_LAST ? r->action : CR_ACT_PASS;
	v->err = r->action == CR_ACT_FAIL ? r->err : ECONNREFUSED;
	v->delay_ms = r->delay_ms;
	v->level = r->level == CR_LEVEL_INHERIT || r->level > CR_LEVEL_ALL ? rs->log.level : r->level;
	v->dry_run = r->dry_run >= 0 ? r->dry_run : rs->dry_run;
	v->simulate = (v->action == CR_ACT_REFUSE || v->action == CR_ACT_FAIL) && !v->dry_run;
	v->drop = v->action == CR_ACT_DROP && !v->dry_run;
	/* A pass rule reaches the relay only through its flag (CR_RF_SHAPED):
	 * one that does not shape looks up nothing. */
	const struct cr_shape_rec *sh = cr_rule_shape(rs, r);
	const struct cr_fault_rec *f = cr_action_after_connect(v->action) || (sh && v->action == CR_ACT_PASS)
					       ? cr_rule_fault(rs, r)
					       : NULL;
	v->relay = f && !v->dry_run;
	v->shape = cr_shape_of(sh);
	v->fault = f ? (struct cr_fault){ .after_bytes = CR_ONCE(f->after_bytes),
					  .after_ms = CR_ONCE(f->after_ms),
					  .direction = CR_ONCE(f->direction) <= CR_DIR_OUT ? f->direction : CR_DIR_BOTH,
					  .has_after_bytes = f->has_after_bytes != 0,
					  .has_after_ms = f->has_after_ms != 0,
					  .has_direction = f->has_direction != 0 }
		     : (struct cr_fault){ 0 };
}

/* A rule that matched: counts the attempt if its schedule counts, and
 * fills v if the rule fires. */
static CR_HOT bool fire(const struct cr_ruleset *rs, const struct cr_rule *r, struct cr_rule_state *own, double now,
			struct cr_verdict *v, bool count)
{
	uint64_t n = 0;
	uint32_t at;
	const struct cr_sched *s = cr_rule_sched_at(rs, r, &at);
	if (s) {
		/* A shared scope counts in its slot whoever decides; the
		 * scope "process" in the caller's own counters, if it keeps
		 * them (the supervisor: one set a process). */
		const struct cr_rule_state *set = cr_ruleset_sched_state(rs, at);
		struct cr_counts *st = own && !(set && set->mapped) ? &own[at].n : cr_ruleset_state(rs, at);
		n = count ? atomic_fetch_add_explicit(&st->attempts, 1, memory_order_relaxed) + 1
			  : atomic_load_explicit(&st->attempts, memory_order_relaxed) + 1;
		if (!fires(rs, s, n, now, started(rs, st)))
			return false;
		if (count)
			atomic_fetch_add_explicit(&st->fired, 1, memory_order_relaxed);
	}
	cr_verdict_of(rs, r, v);
	v->attempt = n;
	return true;
}

/* Tries one rule; fills v and returns true if it matches and fires. */
static CR_HOT bool try_rule(const struct cr_ruleset *rs, const struct cr_rule *r, const struct cr_query *q,
			    struct cr_verdict *v, bool count, bool key_matched)
{
	if (!matches(rs, r, q, key_matched))
		return false;
	return fire(rs, r, q->states, q->now, v, count);
}

static bool decide_linear(const struct cr_ruleset *rs, const struct cr_query *q, struct cr_verdict *v, bool count)
{
	for (unsigned i = 0; i < rs->nrules; i++)
		if (try_rule(rs, &rs->rules[i], q, v, count, false))
			return true;
	return false;
}

static CR_HOT bool decide_indexed(const struct cr_ruleset *rs, const struct cr_query *q, struct cr_verdict *v,
				  bool count)
{
	struct cr_candidates c;
	uint32_t pos[CR_INDEX_MAX_LISTS];
	cr_index_candidates(rs->index, q->dest, &c);
	if (c.overflow)
		return decide_linear(rs, q, v, count);
	if (c.n <= 1) { /* the common case: one list, or none */
		for (uint32_t i = 0, last = UINT32_MAX; c.n && i < c.len[0]; i++) {
			uint32_t k = CR_ONCE(c.list[0][i]);
			if (k != last && k < rs->nrules && try_rule(rs, &rs->rules[k], q, v, count, c.key_matched[0]))
				return true;
			last = k;
		}
		return false;
	}
	memset(pos, 0, c.n * sizeof pos[0]);
	/* Merge the sorted lists: candidates in rule order, each once. */
	uint32_t last = UINT32_MAX;
	for (;;) {
		uint32_t best = UINT32_MAX;
		unsigned from = 0;
		for (unsigned k = 0; k < c.n; k++)
			if (pos[k] < c.len[k] && c.list[k][pos[k]] < best) {
				best = c.list[k][pos[k]];
				from = k;
			}
		if (best == UINT32_MAX)
			return false;
		pos[from]++;
		if (best == last || best >= rs->nrules)
			continue;
		last = best;
		if (try_rule(rs, &rs->rules[best], q, v, count, c.key_matched[from]))
			return true;
	}
}

static CR_HOT void decide(const struct cr_ruleset *rs, const struct cr_query *q, struct cr_verdict *v, bool count)
{
	if (!(rs->index ? decide_indexed(rs, q, v, count) : decide_linear(rs, q, v, count)))
		cr_verdict_of(rs, NULL, v);
}

void cr_decide(const struct cr_ruleset *rs, const struct cr_query *q, struct cr_verdict *v)
{
	decide(rs, q, v, true);
}

void cr_decide_peek(const struct cr_ruleset *rs, const struct cr_query *q, struct cr_verdict *v)
{
	decide(rs, q, v, false);
}

/* ---- name look-ups: the host rules, in order ---- */

bool cr_lookup_matches(const struct cr_ruleset *rs, const struct cr_rule *r, const struct cr_lookup *q)
{
	return (r->flags & CR_RF_RESOLVER) && host_matches(rs, r, q->name) &&
	       (!r->process || cr_ruleset_process_ok(rs, r->process, q->comm, q->exe));
}

static void decide_lookup(const struct cr_ruleset *rs, const struct cr_lookup *q, struct cr_verdict *v, bool count)
{
	for (uint32_t i = 0; i < rs->nresolvers; i++) {
		uint32_t k = CR_ONCE(rs->resolvers[i]);
		if (k >= rs->nrules)
			continue;
		const struct cr_rule *r = &rs->rules[k];
		if (cr_lookup_matches(rs, r, q) && fire(rs, r, NULL, q->now, v, count))
			return;
	}
	/* No host rule: the look-up goes ahead (default_action is for connects). */
	*v = (struct cr_verdict){ .action = CR_ACT_PASS, .level = rs->log.level };
}

void cr_decide_lookup(const struct cr_ruleset *rs, const struct cr_lookup *q, struct cr_verdict *v)
{
	decide_lookup(rs, q, v, true);
}

void cr_decide_lookup_peek(const struct cr_ruleset *rs, const struct cr_lookup *q, struct cr_verdict *v)
{
	decide_lookup(rs, q, v, false);
}
