/* Rules in their two forms.
 *
 * A draft (struct cr_draft) is what the config parser builds and the
 * printer writes back: plain C with pointers, one allocation per list.
 *
 * A rule set (struct cr_ruleset) is what decisions read: a flat,
 * position-independent image (image.h) of fixed-size records, string and
 * list sections and the matcher's index, all addressed by 32-bit offsets.
 * The same bytes come from parsing a text file in memory or from mapping a
 * compiled file (`connrefuse compile`), shared by every process that maps
 * it. The image is untrusted: every offset is checked against its section
 * where it is read (rules_impl.h's readers), so a changed byte can change
 * a rule but never make a reader leave the image. The front ends read a
 * rule set's settings and counts here; its records are the engine's.
 *
 * What changes while a program runs (attempt counters, schedule clocks,
 * whether a process pattern matches this process) is per process, apart
 * from the image, in memory that costs nothing until a rule first needs it. */
#ifndef CR_RULES_H
#define CR_RULES_H

#include "addr.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* reset, close and stall act after the connect (SPEC.md, "Faults after
 * connect"): the connection is sent through a relay that makes them. */
enum cr_action {
	CR_ACT_PASS,
	CR_ACT_LOG,
	CR_ACT_REFUSE,
	CR_ACT_FAIL,
	CR_ACT_DROP,
	CR_ACT_RESET,
	CR_ACT_CLOSE,
	CR_ACT_STALL
};
#define CR_ACT_LAST CR_ACT_STALL
static inline bool cr_action_after_connect(int a)
{
	return a == CR_ACT_RESET || a == CR_ACT_CLOSE || a == CR_ACT_STALL;
}
/* Which bytes a fault after connect counts, and which it stalls: "in"
 * (toward the program), "out" (from it), "both". */
enum cr_direction { CR_DIR_BOTH, CR_DIR_IN, CR_DIR_OUT };
const char *cr_direction_name(int dir);
/* When a fault after connect fires: after after_bytes bytes (counted in
 * direction), or after_ms from the connect; neither: at once. */
struct cr_fault {
	uint64_t after_bytes;
	uint32_t after_ms;
	uint8_t direction; /* enum cr_direction */
	uint8_t has_after_bytes, has_after_ms, has_direction;
};
/* How a relayed connection is shaped in the rule's direction (doc/relay.md,
 * "Shaping"): each chunk held latency_ms (+- jitter_ms, uniform), read at
 * most bandwidth bytes a second, written in pieces of at most slice bytes
 * slice_ms apart. 0: not shaped that way. On pass (a rule that only shapes)
 * and on reset, close, stall (shaped until the fault fires). */
struct cr_shape {
	uint64_t bandwidth;
	uint32_t latency_ms, jitter_ms, slice, slice_ms;
	uint8_t has_latency_ms, has_jitter_ms, has_bandwidth, has_slice, has_slice_ms;
	uint8_t reserved[3];
};
static inline bool cr_shape_any(const struct cr_shape *s)
{
	return s->has_latency_ms || s->has_bandwidth || s->has_slice;
}
enum cr_level { CR_LEVEL_INHERIT = -1, CR_LEVEL_NONE = 0, CR_LEVEL_FAILURES = 1, CR_LEVEL_ALL = 2 };
enum { CR_PROTO_TCP = 1, CR_PROTO_UDP = 2, CR_PROTO_UNIX = 4 };
/* A schedule's scope: who shares its counters and clocks (shared.h). The
 * default is "run" under connrefuse run, "file" otherwise. */
enum cr_share { CR_SHARE_DEFAULT, CR_SHARE_RUN, CR_SHARE_FILE, CR_SHARE_PROCESS };
const char *cr_share_name(int share);

struct cr_port_range {
	uint16_t lo, hi;
};

struct cr_log_conf {
	bool syslog;
	char ident[48];
	int facility; /* LOG_USER, ... */
	bool to_stderr;
	char file[4096]; /* "" = none */
	int level;       /* enum cr_level */
	unsigned rate;   /* lines per second; 0 = no limit */
	bool json;       /* log.format = "json": one JSON object a line */
};

/* relay = { socket = "..."; }: where connrefuse relay listens and the
 * library asks it (a unix socket path: sun_path's size, its NUL
 * included); "" = none. */
#define CR_RELAY_SOCKET_MAX 108

/* ---- the draft: parser and printer ---- */

struct cr_draft_rule {
	char *name;                 /* given, or "#N" (its position, from 1) */
	struct cr_prefix *prefixes; /* a key absent matches everything */
	char **hosts;               /* names and wildcards, lower case: of dst, or of host in a resolver rule */
	char **paths;               /* unix path globs; "@name" for abstract */
	struct cr_port_range *ports;
	char *process; /* glob on comm, or on the executable path */
	unsigned nprefixes, nhosts, npaths, nports;
	unsigned proto_mask; /* CR_PROTO_*; 0 = any */
	int err;             /* errno of a refuse/fail (EAI_* of a host rule) */
	unsigned delay_ms;
	uint8_t action; /* enum cr_action */
	int8_t level;   /* enum cr_level; INHERIT = log.level */
	int8_t dry_run; /* -1 = the top-level dry_run */
	bool named, has_dst, dst_any, resolver;
	/* Schedule: every one given must allow the rule to fire. */
	bool has_probability, has_window, has_flap;
	double probability;
	uint64_t first, after, every; /* 0 = not given */
	double window_start, window_duration;
	double flap_up, flap_down;
	uint8_t scope;         /* enum cr_share */
	struct cr_fault fault; /* reset, close, stall; its direction is the shape's too */
	struct cr_shape shape;
	unsigned line; /* where it starts in the file */
};

struct cr_draft {
	char *source; /* file name, or "(command line)" */
	uint64_t seed;
	bool seeded;
	enum cr_action default_action;
	bool dry_run;
	struct cr_log_conf log;
	char relay_socket[CR_RELAY_SOCKET_MAX];
	struct cr_draft_rule *rules;
	unsigned nrules;
};

/* Default settings, no rules (NULL when memory is out). */
struct cr_draft *cr_draft_new(const char *source);
void cr_draft_free(struct cr_draft *d);
void cr_draft_rule_clear(struct cr_draft_rule *r);
/* The first rule whose name an earlier rule has: 1 and the two indices,
 * 0 when names are unique, -1 when memory is out. */
int cr_draft_first_duplicate(const struct cr_draft *d, unsigned *dup, unsigned *first);
/* Moves the rules of src in front of those of dst (src is left empty); -1
 * when memory is out (both unchanged). */
int cr_draft_prepend(struct cr_draft *dst, struct cr_draft *src);
/* A rule name's hash (FNV-1a): duplicate names at load; the seed of a
 * rule's probability stream. */
uint64_t cr_name_hash(const char *s);

/* ---- the rule set: the image as decisions read it ---- */

/* What a scheduled rule counts, in a process or in a slot of a shared
 * state file (shared.h). */
struct cr_counts {
	atomic_uint_fast64_t attempts; /* matching attempts so far */
	_Atomic double started;        /* monotonic seconds: the window/flap clock; 0: the set's loaded_at */
	atomic_uint_fast64_t fired;    /* times the rule fired */
};

/* The per-process state of a scheduled rule. A reload that keeps the rule
 * points the new state at the old one's counters, so attempts in flight on
 * either set count once; a shared scope points it at a slot of the state
 * file (mapped). (The seccomp supervisor keeps one a scheduled rule per
 * process for the scope "process": cr_query.states.) */
struct cr_rule_state {
	struct cr_counts n;
	struct cr_counts *shared; /* where the rule counts instead; NULL: n */
	bool mapped;              /* shared is a slot of a state file */
	uint8_t scope;            /* enum cr_share in force (the default resolved) */
};

/* The image's records (rules_impl.h): the engine's alone. A front end
 * holds a rule only as the one that decided (cr_verdict.rule). */
struct cr_rule;
struct cr_sched;
struct cr_continue;
struct cr_fault_rec;
struct cr_shape_rec;
struct cr_state_block;
struct cr_index;

struct cr_ruleset {
	/* ---- what front ends read: the settings, the counts ---- */
	const char *source; /* file name, or "(command line)" */
	uint64_t seed;
	bool seeded;
	enum cr_action default_action;
	bool dry_run;
	bool needs_sotype; /* some rule has proto = tcp/udp */
	bool needs_clock;  /* some rule has a window or a flap */
	bool needs_host;   /* some rule matches host names */
	bool compiled;     /* mapped from a compiled file */
	struct cr_log_conf log;
	char relay_socket[CR_RELAY_SOCKET_MAX];
	uint32_t nrules;
	uint32_t nscheds;     /* the scheduled rules: one cr_rule_state each */
	uint32_t nresolvers;  /* the host rules */
	uint64_t source_hash; /* of the text the image was made from */
	uint32_t format;      /* the image's format version (image.h) */
	size_t image_len;     /* bytes */
	double loaded_at;     /* monotonic seconds */
	/* ---- the engine's: the image's sections (each checked against the
	 * image when opened, read through rules_impl.h), per-process state ---- */
	const struct cr_rule *rules;
	const struct cr_sched *scheds;
	const char *strings; /* ends in a NUL: any offset below nstrings is a string */
	uint32_t nstrings;
	const struct cr_prefix *prefixes;
	uint32_t nprefixes;
	const struct cr_port_range *ports;
	uint32_t nports;
	const uint32_t *refs; /* string offsets: the hosts and paths lists */
	uint32_t nrefs;
	const uint32_t *patterns; /* string offsets of distinct process patterns */
	uint32_t npatterns;
	const uint32_t *resolvers; /* the host rules' positions, in order */
	const uint32_t *lines;     /* each rule's line in its source */
	uint32_t nlines;
	const struct cr_continue *continues;
	uint32_t ncontinues;
	const struct cr_fault_rec *faults; /* the faults after connect, by rule */
	uint32_t nfaults;
	const struct cr_shape_rec *shapes; /* the shaped rules, by rule */
	uint32_t nshapes;
	const struct cr_index *index; /* candidates by destination; NULL: walk every rule */
	const void *image;
	int image_owner; /* enum cr_image_owner (image.h) */
	struct cr_state_block *states;
	bool bound;                  /* process patterns are asked of this process (the preload) */
	_Alignas(16) char storage[]; /* the index view, the source name */
};

void cr_ruleset_free(struct cr_ruleset *rs);
/* Process patterns are then asked once each, lazily, of the process that
 * decides (the preload library is one process). */
void cr_ruleset_bind_process(struct cr_ruleset *rs);
/* The rules that need the relay: a fault after connect (reset, close,
 * stall), or a pass that shapes. */
uint32_t cr_ruleset_faults(const struct cr_ruleset *rs);
/* Bytes of the image (the compact rule data, index included). */
size_t cr_ruleset_bytes(const struct cr_ruleset *rs);

/* Scheduled rules of fresh that continue one of old (same identity: same
 * name, same text), as pairs of schedule indices; calls fn for each. Cost
 * grows with the scheduled rules, not the rule count. */
void cr_ruleset_each_continued(const struct cr_ruleset *fresh, const struct cr_ruleset *old,
			       void (*fn)(uint32_t fresh_sched, uint32_t old_sched, void *arg), void *arg);
/* Rules of fresh that continue a rule of old take over its state (their
 * counters and clocks go on); -1 when memory is out (they start again). */
int cr_ruleset_adopt_state(struct cr_ruleset *fresh, const struct cr_ruleset *old);
/* Rule i (NULL past the last), its name and its line in the source. */
const struct cr_rule *cr_ruleset_rule(const struct cr_ruleset *rs, uint32_t i);
/* Rule r's counters in this process's view (NULL: r has no schedule), and
 * the scope they are kept in (CR_SHARE_*; CR_SHARE_PROCESS when none). */
const struct cr_counts *cr_rule_counts(const struct cr_ruleset *rs, const struct cr_rule *r, int *scope);
/* The state record of schedule s (NULL past the last, or no state). */
struct cr_rule_state *cr_ruleset_sched_state(const struct cr_ruleset *rs, uint32_t s);
/* The rule whose schedule s is (NULL: none). */
const struct cr_rule *cr_ruleset_sched_rule(const struct cr_ruleset *rs, uint32_t s);
/* Rule r's declared scope (enum cr_share), -1 when it has no schedule. */
int cr_rule_declared_scope(const struct cr_ruleset *rs, const struct cr_rule *r);
/* Schedule s's identity and declared scope (enum cr_share). */
uint64_t cr_ruleset_sched_identity(const struct cr_ruleset *rs, uint32_t s, int *declared);
const char *cr_rule_name(const struct cr_ruleset *rs, const struct cr_rule *r);
unsigned cr_rule_line(const struct cr_ruleset *rs, const struct cr_rule *r);
/* The rule set back as a draft (check, match, run): NULL when memory is out. */
struct cr_draft *cr_ruleset_to_draft(const struct cr_ruleset *rs);

const char *cr_action_name(enum cr_action a);
const char *cr_level_name(int level);

#endif
