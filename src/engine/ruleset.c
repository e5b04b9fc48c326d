/* The rule set as a thing in memory: made empty, freed, measured, bound to
 * a process, merged with command-line rules, and carried across a reload
 * (rules that a reload leaves unchanged keep their counters and clocks). */
#define _GNU_SOURCE
#include "rules.h"
#include "bigmem.h"
#include "config.h"
#include "decide.h"
#include "index.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

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

struct cr_ruleset *cr_ruleset_new_empty(void)
{
	struct cr_ruleset *rs = calloc(1, sizeof *rs);
	if (!rs)
		return NULL;
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
	free(rs->resolvers);
	free(rs);
}

int cr_ruleset_list_resolvers(struct cr_ruleset *rs)
{
	unsigned n = 0;
	for (unsigned i = 0; i < rs->nrules; i++)
		n += rs->rules[i].resolver;
	uint32_t *list = n ? malloc(n * sizeof *list) : NULL;
	if (n && !list)
		return -1;
	n = 0;
	for (unsigned i = 0; i < rs->nrules; i++)
		if (rs->rules[i].resolver)
			list[n++] = i;
	free(rs->resolvers);
	rs->resolvers = list;
	rs->nresolvers = n;
	return 0;
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

int cr_ruleset_prepend(struct cr_ruleset *dst, struct cr_ruleset *src)
{
	struct cr_rule *rules = cr_rules_alloc(dst->nrules + src->nrules + 1);
	uint32_t *resolvers = malloc((dst->nresolvers + src->nresolvers + 1) * sizeof *resolvers);
	if (!rules || !resolvers) {
		cr_big_free(rules);
		free(resolvers);
		return -1;
	}
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
	dst->needs_sotype |= src->needs_sotype;
	dst->needs_clock |= src->needs_clock;
	dst->needs_host |= src->needs_host;
	/* The host rules' positions: src's first, then dst's moved along. */
	for (unsigned i = 0; i < src->nresolvers; i++)
		resolvers[i] = src->resolvers[i];
	for (unsigned i = 0; i < dst->nresolvers; i++)
		resolvers[src->nresolvers + i] = dst->resolvers[i] + src->nrules;
	free(dst->resolvers);
	dst->resolvers = resolvers;
	dst->nresolvers += src->nresolvers;
	dst->rules = rules;
	dst->nrules += src->nrules;
	src->rules = NULL;
	src->nrules = 0;
	src->nresolvers = 0;
	cr_index_free(dst->index);
	cr_index_free(src->index);
	src->index = NULL;
	dst->index = cr_index_build(dst);
	return 0;
}

const char *cr_action_name(enum cr_action a)
{
	static const char *const names[] = { "pass", "log", "refuse", "fail", "drop" };
	return (unsigned)a < 5 ? names[a] : "?";
}

const char *cr_level_name(int level)
{
	static const char *const names[] = { "none", "failures", "all" };
	return level >= 0 && level <= 2 ? names[level] : "inherit";
}

int cr_ruleset_first_duplicate(const struct cr_ruleset *rs, unsigned *dup, unsigned *first)
{
	struct name_set names;
	if (name_set_init(&names, rs->nrules) != 0)
		return -1;
	int found = 0;
	for (unsigned i = 0; i < rs->nrules && !found; i++) {
		int j = rs->rules[i].named ? name_set_add(&names, rs->rules, i) : -1;
		if (j >= 0) {
			*dup = i;
			*first = (unsigned)j;
			found = 1;
		}
	}
	name_set_free(&names);
	return found;
}

/* A rule's identity across reloads: its whole text as printed. */
static char *rule_text(const struct cr_rule *r)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	cr_config_print_rule(r, f);
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
