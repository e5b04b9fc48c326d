/* Drafts and rule sets as things in memory: made, freed, merged, measured;
 * a rule set's per-process state, and its hand-over across a reload (rules
 * that a reload leaves unchanged keep their counters and clocks). */
#define _GNU_SOURCE
#include "rules_impl.h"
#include "bigmem.h"
#include "glob.h"
#include "image.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>

/* ---- drafts ---- */

struct cr_draft *cr_draft_new(const char *source)
{
	struct cr_draft *d = calloc(1, sizeof *d);
	if (!d || !(d->source = strdup(source ? source : "rules"))) {
		free(d);
		return NULL;
	}
	d->default_action = CR_ACT_PASS;
	d->log.syslog = true;
	strcpy(d->log.ident, "connrefuse");
	d->log.facility = LOG_USER;
	d->log.level = CR_LEVEL_FAILURES;
	d->log.rate = 100;
	return d;
}

static void free_strings(char **v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cr_draft_rule_clear(struct cr_draft_rule *r)
{
	free(r->name);
	free(r->prefixes);
	free_strings(r->hosts, r->nhosts);
	free_strings(r->paths, r->npaths);
	free(r->ports);
	free(r->process);
	memset(r, 0, sizeof *r);
}

void cr_draft_free(struct cr_draft *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->nrules; i++)
		cr_draft_rule_clear(&d->rules[i]);
	free(d->rules);
	free(d->source);
	free(d);
}

int cr_draft_prepend(struct cr_draft *dst, struct cr_draft *src)
{
	struct cr_draft_rule *rules = calloc(dst->nrules + src->nrules + 1, sizeof *rules);
	if (!rules)
		return -1;
	if (src->nrules)
		memcpy(rules, src->rules, src->nrules * sizeof *rules);
	if (dst->nrules)
		memcpy(rules + src->nrules, dst->rules, dst->nrules * sizeof *rules);
	free(dst->rules);
	free(src->rules);
	dst->rules = rules;
	dst->nrules += src->nrules;
	src->rules = NULL;
	src->nrules = 0;
	return 0;
}

uint64_t cr_name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

int cr_draft_first_duplicate(const struct cr_draft *d, unsigned *dup, unsigned *first)
{
	uint32_t cap = 16;
	while (cap < 2 * d->nrules + 2)
		cap *= 2;
	int32_t *slot = malloc(cap * sizeof *slot);
	if (!slot)
		return -1;
	memset(slot, 0xff, cap * sizeof *slot);
	int found = 0;
	for (unsigned i = 0; i < d->nrules && !found; i++) {
		if (!d->rules[i].named)
			continue;
		uint32_t h = (uint32_t)cr_name_hash(d->rules[i].name) & (cap - 1);
		for (; slot[h] >= 0; h = (h + 1) & (cap - 1))
			if (strcmp(d->rules[slot[h]].name, d->rules[i].name) == 0) {
				*dup = i;
				*first = (unsigned)slot[h];
				found = 1;
				break;
			}
		slot[h] = (int32_t)i;
	}
	free(slot);
	return found;
}

/* ---- per-process state ---- */

struct cr_state_block {
	atomic_long refs;
	struct cr_state_block **held; /* blocks some of our states point into */
	unsigned nheld;
	size_t nstates;
	_Atomic int8_t *process_ok; /* per pattern: 0 not asked yet, 1 matches, 2 does not */
	struct cr_rule_state states[];
};

static void block_unref(struct cr_state_block *b)
{
	if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	for (unsigned i = 0; i < b->nheld; i++)
		block_unref(b->held[i]);
	free(b->held);
	free(b);
}

int cr_ruleset_init_states(struct cr_ruleset *rs)
{
	if (!rs->nscheds && !rs->npatterns)
		return 0;
	/* calloc of a big block is fresh zero pages: a rule's state costs
	 * memory only once the rule first counts. */
	struct cr_state_block *b = calloc(1, sizeof *b + rs->nscheds * sizeof b->states[0] +
						     rs->npatterns * sizeof(int8_t));
	if (!b)
		return -1;
	atomic_init(&b->refs, 1);
	b->nstates = rs->nscheds;
	b->process_ok = (_Atomic int8_t *)(b->states + rs->nscheds);
	rs->states = b;
	return 0;
}

struct cr_counts *cr_ruleset_state(const struct cr_ruleset *rs, uint32_t s)
{
	struct cr_rule_state *st = &rs->states->states[s];
	struct cr_counts *shared = st->shared;
	return shared ? shared : &st->n;
}

struct cr_rule_state *cr_ruleset_sched_state(const struct cr_ruleset *rs, uint32_t s)
{
	return rs->states && s < rs->nscheds ? &rs->states->states[s] : NULL;
}

uint64_t cr_ruleset_sched_identity(const struct cr_ruleset *rs, uint32_t s, int *declared)
{
	const struct cr_sched *sc = s < rs->nscheds ? &rs->scheds[s] : NULL;
	uint8_t scope = sc ? CR_ONCE(sc->scope) : 0;
	*declared = scope < 4 ? scope : CR_SHARE_DEFAULT;
	uint64_t id = sc ? CR_ONCE(sc->identity) : 0;
	return id ? id : 1; /* 0 marks a free slot */
}

const struct cr_rule *cr_ruleset_sched_rule(const struct cr_ruleset *rs, uint32_t s)
{
	return s < rs->nscheds ? cr_ruleset_rule(rs, CR_ONCE(rs->scheds[s].rule)) : NULL;
}

int cr_rule_declared_scope(const struct cr_ruleset *rs, const struct cr_rule *r)
{
	uint32_t at;
	int declared;
	if (!cr_rule_sched_at(rs, r, &at))
		return -1;
	cr_ruleset_sched_identity(rs, at, &declared);
	return declared;
}

const struct cr_counts *cr_rule_counts(const struct cr_ruleset *rs, const struct cr_rule *r, int *scope)
{
	uint32_t at;
	*scope = CR_SHARE_PROCESS;
	if (!cr_rule_sched_at(rs, r, &at) || !rs->states)
		return NULL;
	const struct cr_rule_state *st = &rs->states->states[at];
	if (st->mapped)
		*scope = st->scope;
	return cr_ruleset_state(rs, at);
}

bool cr_ruleset_process_ok(const struct cr_ruleset *rs, uint32_t p, const char *comm, const char *exe)
{
	if (!p || p > rs->npatterns)
		return false;
	const char *pattern = cr_rs_str(rs, CR_ONCE(rs->patterns[p - 1]));
	if (!rs->bound)
		return cr_process_matches(pattern, comm, exe);
	_Atomic int8_t *known = &rs->states->process_ok[p - 1];
	int8_t v = atomic_load_explicit(known, memory_order_relaxed);
	if (!v) {
		v = cr_process_matches(pattern, comm, exe) ? 1 : 2;
		atomic_store_explicit(known, v, memory_order_relaxed);
	}
	return v == 1;
}

void cr_ruleset_bind_process(struct cr_ruleset *rs)
{
	rs->bound = rs->states != NULL;
}

void cr_ruleset_each_continued(const struct cr_ruleset *fresh, const struct cr_ruleset *old,
			       void (*fn)(uint32_t fresh_sched, uint32_t old_sched, void *arg), void *arg)
{
	/* Both lists are sorted by identity: one merge. */
	uint32_t i = 0, j = 0;
	while (i < fresh->ncontinues && j < old->ncontinues) {
		const struct cr_continue *a = &fresh->continues[i], *b = &old->continues[j];
		if (a->identity < b->identity) {
			i++;
		} else if (a->identity > b->identity) {
			j++;
		} else {
			uint32_t fs = CR_ONCE(a->sched), os = CR_ONCE(b->sched);
			if (fs < fresh->nscheds && os < old->nscheds)
				fn(fs, os, arg);
			i++;
			j++;
		}
	}
}

struct adoption {
	struct cr_ruleset *fresh;
	const struct cr_ruleset *old;
	bool failed;
};

static bool block_holds(const struct cr_state_block *b, const struct cr_counts *c)
{
	return (const char *)c >= (const char *)b->states && (const char *)c < (const char *)(b->states + b->nstates);
}

static void adopt_one(uint32_t fs, uint32_t os, void *arg)
{
	struct adoption *a = arg;
	struct cr_state_block *fb = a->fresh->states, *ob = a->old->states;
	if (!fb || !ob || a->failed || fb->states[fs].mapped)
		return; /* a shared scope: the slot is the rule's by identity already */
	struct cr_counts *eff = cr_ruleset_state(a->old, os);
	double zero = 0;
	/* Its clock, made explicit before another set shares it. */
	atomic_compare_exchange_strong(&eff->started, &zero, a->old->loaded_at);
	struct cr_state_block *owner = block_holds(ob, eff) ? ob : NULL;
	for (unsigned k = 0; !owner && k < ob->nheld; k++)
		if (block_holds(ob->held[k], eff))
			owner = ob->held[k];
	if (!owner)
		return;
	unsigned k = 0;
	while (k < fb->nheld && fb->held[k] != owner)
		k++;
	if (k == fb->nheld) {
		struct cr_state_block **held = realloc(fb->held, (fb->nheld + 1) * sizeof *held);
		if (!held) {
			a->failed = true;
			return;
		}
		fb->held = held;
		fb->held[fb->nheld++] = owner;
		atomic_fetch_add(&owner->refs, 1);
	}
	fb->states[fs].shared = eff;
}

int cr_ruleset_adopt_state(struct cr_ruleset *fresh, const struct cr_ruleset *old)
{
	struct adoption a = { fresh, old, false };
	if (fresh == old)
		return 0;
	cr_ruleset_each_continued(fresh, old, adopt_one, &a);
	return a.failed ? -1 : 0;
}

/* ---- rule sets ---- */

struct cr_ruleset *cr_ruleset_alloc(size_t extra)
{
	return calloc(1, sizeof(struct cr_ruleset) + extra);
}

void cr_ruleset_set_image(struct cr_ruleset *rs, const void *image, size_t len, enum cr_image_owner owner)
{
	rs->image = image;
	rs->image_len = len;
	rs->image_owner = owner;
	rs->compiled = owner == CR_IMAGE_MAPPED;
}

void cr_ruleset_free(struct cr_ruleset *rs)
{
	if (!rs)
		return;
	block_unref(rs->states);
	if (rs->image_owner == CR_IMAGE_OWNED)
		cr_image_release((void *)rs->image, rs->image_len);
	else if (rs->image_owner == CR_IMAGE_MAPPED)
		munmap((void *)rs->image, rs->image_len);
	free(rs);
}

const struct cr_rule *cr_ruleset_rule(const struct cr_ruleset *rs, uint32_t i)
{
	return i < rs->nrules ? &rs->rules[i] : NULL;
}

const char *cr_rule_name(const struct cr_ruleset *rs, const struct cr_rule *r)
{
	return cr_rs_str(rs, r->name);
}

unsigned cr_rule_line(const struct cr_ruleset *rs, const struct cr_rule *r)
{
	size_t i = (size_t)(r - rs->rules);
	return i < rs->nlines ? rs->lines[i] : 0;
}

uint32_t cr_ruleset_faults(const struct cr_ruleset *rs)
{
	return rs->nfaults;
}

size_t cr_ruleset_bytes(const struct cr_ruleset *rs)
{
	return rs->image_len;
}

const char *cr_action_name(enum cr_action a)
{
	static const char *const names[] = { "pass", "log", "refuse", "fail", "drop", "reset", "close", "stall" };
	return (unsigned)a <= CR_ACT_LAST ? names[a] : "?";
}

const char *cr_direction_name(int dir)
{
	static const char *const names[] = { "both", "in", "out" };
	return dir >= CR_DIR_BOTH && dir <= CR_DIR_OUT ? names[dir] : "?";
}

const char *cr_level_name(int level)
{
	static const char *const names[] = { "none", "failures", "all" };
	return level >= 0 && level <= 2 ? names[level] : "inherit";
}
