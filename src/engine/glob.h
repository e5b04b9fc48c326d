/* Shell-style globs (* ? [a-z] [!x] \x) for unix paths, process names and
 * host names. Our own rather than fnmatch(3): it never allocates, and it
 * takes a length, since abstract socket names may hold NUL bytes. */
#ifndef CR_GLOB_H
#define CR_GLOB_H

#include <stdbool.h>
#include <stddef.h>

enum {
	CR_GLOB_PATHNAME = 1, /* '*' and '?' do not match '/' */
	CR_GLOB_NOCASE = 2,   /* ASCII case-insensitive (host names) */
};

bool cr_glob_match(const char *pattern, const char *s, size_t len, int flags);
/* True when the pattern has no special character (an exact string). */
bool cr_glob_is_literal(const char *pattern);
/* Returns NULL if the pattern is well formed, else what is wrong with it. */
const char *cr_glob_check(const char *pattern);

#endif
