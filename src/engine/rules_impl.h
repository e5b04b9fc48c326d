/* The rule image as the engine reads it: its records and their checked
 * readers, and what ruleset.c gives the image code. The front ends see a
 * rule set through rules.h alone (check-layers.py holds them to it). */
#ifndef CR_RULES_IMPL_H
#define CR_RULES_IMPL_H

#include "image.h"
#include "rules.h"

#include <stddef.h>

/* One rule, 64 bytes: all a decision reads about a candidate whose
 * destination already matched is in this line. Offsets are into the
 * sections named; counts are elements. */
struct cr_rule {
	uint32_t name;    /* strings */
	uint32_t process; /* 1 + index in patterns; 0: no process key */
	uint32_t prefixes, nprefixes;
	uint32_t ports, nports;
	struct cr_port_range port0; /* ports[0], held here too */
	uint32_t paths, npaths;     /* refs (string offsets) */
	uint32_t path0;             /* strings: paths[0] */
	uint32_t hosts, nhosts;     /* refs */
	uint32_t sched;             /* 1 + index in scheds; 0: no schedule */
	uint32_t delay_ms;
	int16_t err;
	uint8_t action; /* enum cr_action */
	uint8_t proto_mask;
	int8_t level;
	int8_t dry_run;
	uint8_t flags; /* CR_RF_* */
	uint8_t reserved;
};
_Static_assert(sizeof(struct cr_rule) == 64, "a rule is one cache line");

enum {
	CR_RF_HAS_DST = 1,
	CR_RF_DST_ANY = 2,
	CR_RF_COUNTED = 4,
	CR_RF_RESOLVER = 8,
	CR_RF_NAMED = 16,
	CR_RF_SHAPED = 32, /* a shape record (format 4): a pass rule that has one needs the relay */
};

/* A rule's schedule (only rules that have one). */
struct cr_sched {
	double probability;
	uint64_t first, after, every;
	double window_start, window_duration;
	double flap_up, flap_down;
	uint64_t name_hash; /* seeds the probability stream */
	uint64_t identity;  /* the rule's whole text, hashed: same rule across reloads */
	uint32_t rule;      /* whose schedule this is */
	uint8_t has_probability, has_window, has_flap, scope; /* scope: enum cr_share */
};

/* A scheduled rule by identity (sorted by identity): how a reload finds
 * the rules whose state carries over. */
struct cr_continue {
	uint64_t identity;
	uint32_t sched;
	uint32_t reserved;
};

/* The counters of schedule s in this process (the set's own, an older
 * set's, or a shared slot). */
struct cr_counts *cr_ruleset_state(const struct cr_ruleset *rs, uint32_t s);
/* Whether process pattern p (1-based) matches this process, asked once. */
bool cr_ruleset_process_ok(const struct cr_ruleset *rs, uint32_t p, const char *comm, const char *exe);

/* For image.c: a zeroed set with `extra` bytes of storage; its per-process
 * state; the image it frees with itself. */
struct cr_ruleset *cr_ruleset_alloc(size_t extra);
int cr_ruleset_init_states(struct cr_ruleset *rs);
void cr_ruleset_set_image(struct cr_ruleset *rs, const void *image, size_t len, enum cr_image_owner owner);

/* ---- checked readers of the image ----
 * A value read from the image to bound or index anything is read once
 * (CR_ONCE), checked, and that copy used: the file under a mapping may be
 * written by someone else, and a value checked must be the value used. */
#define CR_ONCE(x) (*(const volatile __typeof__(x) *)&(x))

/* A step of the decision, inlined into it whatever the compiler thinks:
 * a call there costs a frame of saved registers, and a decision makes a
 * few calls per rule it tries. */
#define CR_HOT inline __attribute__((always_inline))

static inline const char *cr_rs_str(const struct cr_ruleset *rs, uint32_t off)
{
	return off < rs->nstrings ? rs->strings + off : "";
}

static inline uint32_t cr_rs_ref(const struct cr_ruleset *rs, uint32_t list, uint32_t n, uint32_t i)
{
	return list < rs->nrefs && n <= rs->nrefs - list && i < n ? rs->refs[list + i] : UINT32_MAX;
}

/* How many of a list of n at off fit in a section of size elements. */
static inline uint32_t cr_rs_fit(uint32_t off, uint32_t n, uint32_t size)
{
	return off <= size && n <= size - off ? n : 0;
}

/* The schedule of a rule (NULL: none), and its index in *at. */
static inline const struct cr_sched *cr_rule_sched_at(const struct cr_ruleset *rs, const struct cr_rule *r,
						      uint32_t *at)
{
	uint32_t s = CR_ONCE(r->sched);
	*at = s - 1;
	return s && s <= rs->nscheds ? &rs->scheds[s - 1] : NULL;
}

static inline const struct cr_sched *cr_rule_sched(const struct cr_ruleset *rs, const struct cr_rule *r)
{
	uint32_t at;
	return cr_rule_sched_at(rs, r, &at);
}

/* A fault after connect (CR_SEC_FAULTS, sorted by rule): the rules whose
 * action is reset, close or stall have one, and (format 4) the pass rules
 * that shape, for their direction. */
struct cr_fault_rec {
	uint64_t after_bytes;
	uint32_t rule;
	uint32_t after_ms;
	uint8_t direction, has_after_bytes, has_after_ms, has_direction;
	uint32_t reserved;
};
_Static_assert(sizeof(struct cr_fault_rec) == 24, "a fault record is 24 bytes");

/* A rule's shaping (CR_SEC_SHAPES, format 4, sorted by rule): only rules
 * flagged CR_RF_SHAPED have one. */
struct cr_shape_rec {
	uint64_t bandwidth;
	uint32_t rule;
	uint32_t latency_ms, jitter_ms, slice, slice_ms;
	uint8_t has_latency_ms, has_jitter_ms, has_bandwidth, has_slice, has_slice_ms;
	uint8_t reserved[7];
};
_Static_assert(sizeof(struct cr_shape_rec) == 40, "a shape record is 40 bytes");

/* The record of rule r in a section sorted by rule (n records of size
 * bytes, each with its rule's index at offset at): NULL when none. */
static inline const void *cr_rule_record(const struct cr_ruleset *rs, const struct cr_rule *r, const void *recs,
					 uint32_t n, size_t size, size_t at)
{
	if (r < rs->rules || r >= rs->rules + rs->nrules)
		return NULL;
	uint32_t i = (uint32_t)(r - rs->rules), lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const char *rec = (const char *)recs + (size_t)mid * size;
		uint32_t rule = CR_ONCE(*(const uint32_t *)(rec + at));
		if (rule == i)
			return rec;
		if (rule < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Rule r's fault record (NULL: none). */
static inline const struct cr_fault_rec *cr_rule_fault(const struct cr_ruleset *rs, const struct cr_rule *r)
{
	return cr_rule_record(rs, r, rs->faults, rs->nfaults, sizeof *rs->faults, offsetof(struct cr_fault_rec, rule));
}

/* Rule r's shape record (NULL: none). */
static inline const struct cr_shape_rec *cr_rule_shape(const struct cr_ruleset *rs, const struct cr_rule *r)
{
	if (!(CR_ONCE(r->flags) & CR_RF_SHAPED))
		return NULL;
	return cr_rule_record(rs, r, rs->shapes, rs->nshapes, sizeof *rs->shapes, offsetof(struct cr_shape_rec, rule));
}

/* A shape record as decisions read it (NULL: none shapes). */
static inline struct cr_shape cr_shape_of(const struct cr_shape_rec *s)
{
	if (!s)
		return (struct cr_shape){ 0 };
	return (struct cr_shape){ .bandwidth = CR_ONCE(s->bandwidth),
				  .latency_ms = CR_ONCE(s->latency_ms),
				  .jitter_ms = CR_ONCE(s->jitter_ms),
				  .slice = CR_ONCE(s->slice),
				  .slice_ms = CR_ONCE(s->slice_ms),
				  .has_latency_ms = CR_ONCE(s->has_latency_ms) != 0,
				  .has_jitter_ms = CR_ONCE(s->has_jitter_ms) != 0,
				  .has_bandwidth = CR_ONCE(s->has_bandwidth) != 0,
				  .has_slice = CR_ONCE(s->has_slice) != 0,
				  .has_slice_ms = CR_ONCE(s->has_slice_ms) != 0 };
}

#endif
