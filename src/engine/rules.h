/* The rule set: the compact, immutable form a config file is loaded into.
 * The hot path only reads it; a reload builds a new one and swaps a pointer.
 * The mutable per-rule state (attempt counter, clock) lives apart, in
 * cr_rule_state, so that a reload can hand it on to an unchanged rule. */
#ifndef CR_RULES_H
#define CR_RULES_H

#include "addr.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum cr_action { CR_ACT_PASS, CR_ACT_LOG, CR_ACT_REFUSE, CR_ACT_FAIL, CR_ACT_DROP };
enum cr_level { CR_LEVEL_INHERIT = -1, CR_LEVEL_NONE = 0, CR_LEVEL_FAILURES = 1, CR_LEVEL_ALL = 2 };
enum { CR_PROTO_TCP = 1, CR_PROTO_UDP = 2, CR_PROTO_UNIX = 4 };

struct cr_port_range { uint16_t lo, hi; };
struct cr_index;

struct cr_rule_state {
	atomic_uint_fast64_t attempts; /* matching attempts so far */
	double loaded_at;              /* monotonic seconds: the window/flap clock */
};

/* The states of one loaded rule set, in one allocation; counted, since a
 * later rule set may go on using some of them. */
struct cr_state_block {
	atomic_long refs;
	struct cr_rule_state states[];
};

/* Rules live in a cache-line-aligned array (cr_rules_alloc), and everything
 * a decision reads about a rule whose destination already matched sits in
 * its first line: one cache miss a candidate, even among 100,000 rules. */
struct cr_rule {
	/* ---- the decision's line ---- */
	_Alignas(64) struct cr_rule_state *state;
	struct cr_port_range *ports;
	char *process;              /* glob on comm, or on the executable path */
	unsigned nports, npaths;
	unsigned proto_mask;        /* CR_PROTO_*; 0 = any */
	int err;                    /* errno of a refuse/fail */
	unsigned delay_ms;
	struct cr_port_range port0; /* ports[0], held here too */
	uint8_t action;             /* enum cr_action */
	int8_t level;               /* enum cr_level; INHERIT = log.level */
	int8_t dry_run;             /* -1 = the top-level dry_run */
	int8_t process_ok;          /* bound to this process: 1 matches, 0 not; -1 unbound */
	bool has_dst : 1, dst_any : 1; /* dst given; dst holds "*" */
	bool counted : 1;           /* a schedule counts attempts (first, after, every, probability) */
	bool scheduled : 1;         /* any schedule at all */
	bool resolver : 1;          /* a host rule: decides name look-ups, never a connect */
	char *path0;                /* paths[0], or NULL */

	/* ---- the rest: two more lines, packed (pointers, 8-byte values,
	 * 4-byte values, flags) ---- */
	char *name;                 /* given, or "#N" (its position, from 1) */
	struct cr_prefix *prefixes; /* a key absent matches everything */
	char **hosts;               /* names and wildcards, lower case: of dst, or of host in a resolver rule */
	char **paths;               /* unix path globs; "@name" for abstract */
	struct cr_state_block *foreign; /* the block of an adopted state (holds a reference), or NULL */

	/* Schedule: every one given must allow the rule to fire. */
	double probability;
	uint64_t first, after, every; /* 0 = not given */
	double window_start, window_duration;
	double flap_up, flap_down;
	uint64_t name_hash;         /* seeds the probability stream */

	unsigned line;              /* where it starts in the file */
	unsigned nprefixes, nhosts;
	bool named, has_probability, has_window, has_flap;
};

struct cr_log_conf {
	bool syslog;
	char ident[48];
	int facility;               /* LOG_USER, ... */
	bool to_stderr;
	char *file;                 /* NULL = none */
	int level;                  /* enum cr_level */
	unsigned rate;              /* lines per second; 0 = no limit */
	bool json;                  /* log.format = "json": one JSON object a line */
};

struct cr_ruleset {
	char *source;               /* file name, or "(command line)" */
	uint64_t seed;
	bool seeded;
	enum cr_action default_action;
	bool dry_run;
	bool needs_sotype;          /* some rule has proto = tcp/udp */
	bool needs_clock;           /* some rule has a window or a flap */
	bool needs_host;            /* some rule matches host names */
	struct cr_log_conf log;
	struct cr_rule *rules;
	unsigned nrules;
	struct cr_index *index;     /* candidates by destination (index.h) */
	uint32_t *resolvers;        /* the host rules' positions, in order */
	unsigned nresolvers;
	struct cr_state_block *states;
};

/* A ruleset with no rules and the default log settings: audit mode (NULL
 * when memory is out). */
struct cr_ruleset *cr_ruleset_new_empty(void);
void cr_ruleset_free(struct cr_ruleset *rs);
/* Decides each rule's process key once, for the process that loads the set
 * (the preload library is one process); exe may be NULL. */
void cr_ruleset_bind_process(struct cr_ruleset *rs, const char *comm, const char *exe);
/* Bytes of the compact rule data, index included (malloc's overhead not). */
size_t cr_ruleset_bytes(const struct cr_ruleset *rs);
/* Lists the host rules' positions (rs->resolvers); -1 when memory is out. */
int cr_ruleset_list_resolvers(struct cr_ruleset *rs);
/* Moves the rules of src in front of those of dst (src is left empty);
 * -1 when memory is out (both unchanged). */
int cr_ruleset_prepend(struct cr_ruleset *dst, struct cr_ruleset *src);

/* Rules of fresh that are unchanged in old (same name, same text) take over
 * old's state: their attempt counters and clocks go on. */
void cr_ruleset_adopt_state(struct cr_ruleset *fresh, const struct cr_ruleset *old);
/* The same question as a map: map[i] is the rule of old that fresh's rule i
 * continues (same name, same text), or -1. */
void cr_ruleset_state_map(const struct cr_ruleset *fresh, const struct cr_ruleset *old, int32_t *map);
/* The first rule whose name an earlier rule has: 1 and the two indices,
 * 0 when names are unique, -1 when memory is out. */
int cr_ruleset_first_duplicate(const struct cr_ruleset *rs, unsigned *dup, unsigned *first);

const char *cr_action_name(enum cr_action a);
const char *cr_level_name(int level);

#endif
