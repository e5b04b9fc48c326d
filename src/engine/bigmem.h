/* Big tables: a rule image and the index's tables, read at random on
 * every decision. */
#ifndef CR_BIGMEM_H
#define CR_BIGMEM_H

#include <stddef.h>

/* A zeroed table of `bytes` read at random: aligned to a cache line, and
 * on huge pages when big. Only cr_big_free releases it. */
void *cr_big_calloc(size_t bytes);
void cr_big_free(void *p);

#endif
