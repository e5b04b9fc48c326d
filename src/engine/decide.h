/* The decision: which rule matches a connection attempt and fires, and what
 * it does. It knows nothing of how the attempt arrived (the preload hook, or
 * later a seccomp supervisor) and makes no system call: the caller supplies
 * the destination, the socket type when the rule set needs it, the host name
 * the process resolved, the process's identity and the time. */
#ifndef CR_DECIDE_H
#define CR_DECIDE_H

#include "rules.h"

struct cr_query {
	const struct cr_dest *dest;
	int sotype;       /* SOCK_STREAM, SOCK_DGRAM, or 0 if unknown */
	const char *host; /* what the process resolved to this address, or NULL */
	const char *comm; /* program name */
	const char *exe;  /* executable path, or NULL */
	double now;       /* monotonic seconds */
	/* The attempt counters and clocks to use, one per scheduled rule of the
	 * set (rs->nscheds); NULL: the set's own. (The seccomp supervisor keeps
	 * a set per process.) */
	struct cr_rule_state *states;
};

struct cr_verdict {
	const struct cr_rule *rule; /* the rule that decided, NULL for default_action */
	enum cr_action action;
	int err; /* the errno a refuse/fail simulates */
	unsigned delay_ms;
	int level; /* effective log level for this attempt */
	bool dry_run;
	bool simulate; /* fail the connect ourselves */
	bool drop;     /* make the connect hang, as a firewall's DROP (TCP) */
	bool relay;    /* send the connection through a relay that makes fault (reset, close, stall) and shape */
	struct cr_fault fault;
	struct cr_shape shape;
	uint64_t attempt; /* the deciding rule's attempt number (1-based) */
};

/* Matching only (keys, no schedule): does rule r match q? */
bool cr_rule_matches(const struct cr_ruleset *rs, const struct cr_rule *r, const struct cr_query *q);
/* Would rule r fire on its n-th matching attempt at time now? Pure. */
bool cr_rule_fires(const struct cr_ruleset *rs, const struct cr_rule *r, uint64_t n, double now);
/* Decides, counting the attempt against every rule that matches on the way. */
void cr_decide(const struct cr_ruleset *rs, const struct cr_query *q, struct cr_verdict *v);
/* The same, counting nothing: each matching rule is asked about its next
 * attempt as if it were taken now (for `connrefuse match`). */
void cr_decide_peek(const struct cr_ruleset *rs, const struct cr_query *q, struct cr_verdict *v);

/* A name look-up (getaddrinfo and friends), decided by the host rules. */
struct cr_lookup {
	const char *name; /* the name asked for, as the program gave it */
	const char *comm;
	const char *exe; /* or NULL */
	double now;      /* monotonic seconds */
};
/* Matching only: is r a host rule that matches the look-up q? */
bool cr_lookup_matches(const struct cr_ruleset *rs, const struct cr_rule *r, const struct cr_lookup *q);
/* The first host rule that matches and fires; none: pass at log.level
 * (default_action does not apply to look-ups). v->err is then the
 * resolver's code (EAI_*, negative) of a "fail". Counts the attempt. */
void cr_decide_lookup(const struct cr_ruleset *rs, const struct cr_lookup *q, struct cr_verdict *v);
/* The same, counting nothing (for `connrefuse match --resolve`). */
void cr_decide_lookup_peek(const struct cr_ruleset *rs, const struct cr_lookup *q, struct cr_verdict *v);

/* The verdict of rule r (NULL: of default_action), as cr_decide gives it. */
void cr_verdict_of(const struct cr_ruleset *rs, const struct cr_rule *r, struct cr_verdict *v);

/* Errnos the kernel reports on a non-blocking TCP socket later (poll,
 * SO_ERROR), not from connect() itself: a simulation of one goes through
 * the kernel's own refusal (cr_sink_address), the others fail at once. */
bool cr_err_reported_later(int err);

/* Whether these rules can need an outcome the program learns after
 * connect() returns (poll, SO_ERROR): a fail rule with an errno the kernel
 * reports later, or a log level that audits (a non-blocking connect's
 * outcome is logged where the program learns it). */
bool cr_ruleset_learnt_later(const struct cr_ruleset *rs);

/* The probability draw for (seed, rule name hash, n): uniform in [0, 1). */
double cr_draw(uint64_t seed, uint64_t name_hash, uint64_t n);
/* The draw rule r's probability is held to on its n-th attempt. */
double cr_rule_draw(const struct cr_ruleset *rs, const struct cr_rule *r, uint64_t n);

#endif
