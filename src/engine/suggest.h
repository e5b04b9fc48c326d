/* "Did you mean": the nearest of a list of names to a word that is none of
 * them (case-insensitive edit distance), for messages. */
#ifndef CR_SUGGEST_H
#define CR_SUGGEST_H

#include <stddef.h>

/* The nearest name within a distance that makes it a likely typo, or NULL.
 * names: n entries, read through name(i) so any table can be asked. */
const char *cr_suggest(const char *word, size_t n, const char *(*name)(size_t i, const void *arg), const void *arg);

#endif
