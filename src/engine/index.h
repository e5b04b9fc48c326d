/* The rule index: which rules can match a destination, found in time that
 * does not grow with the number of rules, in rule order.
 *
 * Address prefixes (CIDR) are either disjoint or nested, so they form a
 * forest. The address space is cut into elementary intervals at every prefix
 * boundary; each interval names the rules of the prefixes that cover it: one
 * list, merged from the nested prefixes when short, else linked to the
 * enclosing prefix's list. A look-up is a table step and a short binary
 * search, then (usually) one list. Unix
 * paths are indexed by exact path and by the literal folder a glob starts
 * with. Rules that no index can exclude (no dst, "*", host names, paths that
 * begin with a wildcard) are candidates for every destination of their kind.
 * Candidates are visited in rule order by merging these sorted lists. */
#ifndef CR_INDEX_H
#define CR_INDEX_H

#include "addr.h"

#include <stdbool.h>
#include <stdint.h>

struct cr_draft_rule;
struct cr_index;

/* Builds the index of a draft's rules (NULL on allocation failure: the
 * decision then walks every rule). The image holds a copy (image.c). */
struct cr_index *cr_index_build(const struct cr_draft_rule *rules, unsigned nrules);
void cr_index_free(struct cr_index *ix);

#define CR_INDEX_MAX_LISTS 48

/* The candidate lists for d: sorted arrays of rule indices. */
struct cr_candidates {
	unsigned n;
	const uint32_t *list[CR_INDEX_MAX_LISTS];
	uint32_t len[CR_INDEX_MAX_LISTS];
	/* The rules of this list have a key the index has already seen match:
	 * a prefix that holds the destination, or the one path pattern of the
	 * rule. That key needs no second look. */
	bool key_matched[CR_INDEX_MAX_LISTS];
	uint32_t one[CR_INDEX_MAX_LISTS]; /* storage for lists of one rule */
	/* More lists than fit: the caller must walk every rule instead. */
	bool overflow;
};
void cr_index_candidates(const struct cr_index *ix, const struct cr_dest *d, struct cr_candidates *c);

/* Bytes the index holds (for the benchmark's memory figures). */
size_t cr_index_size(const struct cr_index *ix);

#endif
