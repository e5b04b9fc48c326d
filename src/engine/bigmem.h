/* Big tables: the rule array and the index's tables, read at random on
 * every decision. */
#ifndef CR_BIGMEM_H
#define CR_BIGMEM_H

#include <stddef.h>

struct cr_rule;

/* n zeroed rules, the array aligned to a cache line; cr_big_free releases it. */
struct cr_rule *cr_rules_alloc(size_t n);
/* A zeroed table of `bytes` read at random: aligned to a cache line, and
 * on huge pages when big. Only cr_big_free releases it. */
void *cr_big_calloc(size_t bytes);
void cr_big_free(void *p);

#endif
