/* The rule image as the engine reads it: its records and their checked
 * readers, and what ruleset.c gives the image code. The front ends see a
 * rule set through rules.h alone (check-layers.py holds them to it). */
#ifndef CR_RULES_IMPL_H
#define CR_RULES_IMPL_H

#include "image.h"
#include "rules.h"

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

/* A fault after connect (CR_SEC_FAULTS, sorted by rule): only the rules
 * whose action is reset, close or stall have one. */
struct cr_fault_rec {
	uint64_t after_bytes;
	uint32_t rule;
	uint32_t after_ms;
	uint8_t direction, has_after_bytes, has_after_ms, has_direction;
	uint32_t reserved;
};
_Static_assert(sizeof(struct cr_fault_rec) == 24, "a fault record is 24 bytes");

/* Rule r's fault record (NULL: none). */
static inline const struct cr_fault_rec *cr_rule_fault(const struct cr_ruleset *rs, const struct cr_rule *r)
{
	if (r < rs->rules || r >= rs->rules + rs->nrules)
		return NULL;
	uint32_t i = (uint32_t)(r - rs->rules), lo = 0, hi = rs->nfaults;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2, at = CR_ONCE(rs->faults[mid].rule);
		if (at == i)
			return &rs->faults[mid];
		if (at < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

#endif
