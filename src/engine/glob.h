/* Shell-style globs (* ? [a-z] [!x] \x) for unix paths, process names and
 * host names. Our own rather than fnmatch(3): it never allocates, and it
 * takes a length, since abstract socket names may hold NUL bytes. */
#ifndef CR_GLOB_H
#define CR_GLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

enum {
	CR_GLOB_PATHNAME = 1, /* '*' and '?' do not match '/' */
	CR_GLOB_NOCASE = 2,   /* ASCII case-insensitive (host names) */
};

bool cr_glob_match(const char *pattern, const char *s, size_t len, int flags);

/* The commonest glob, '*' and then a literal of n bytes ("*.sock"): does
 * s end with the literal, and (PATHNAME) hold no '/' before it? Case
 * sensitive. The matcher's shortcut, and the index's for the tails it
 * has marked as such. */
static inline bool cr_glob_star_literal(const char *literal, size_t n, const char *s, size_t len, int flags)
{
	if (len < n || memcmp(s + len - n, literal, n) != 0)
		return false;
	if (flags & CR_GLOB_PATHNAME)
		for (size_t i = 0; i < len - n; i++)
			if (s[i] == '/')
				return false;
	return true;
}
/* Does a process key (glob on comm, or on exe if it holds a '/') match? */
bool cr_process_matches(const char *pattern, const char *comm, const char *exe);
/* True when the pattern has no special character (an exact string). */
bool cr_glob_is_literal(const char *pattern);
/* Returns NULL if the pattern is well formed, else what is wrong with it. */
const char *cr_glob_check(const char *pattern);

#endif
