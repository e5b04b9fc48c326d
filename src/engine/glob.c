#include "glob.h"

#include <string.h>

static unsigned char fold(unsigned char c, int flags)
{
	if ((flags & CR_GLOB_NOCASE) && c >= 'A' && c <= 'Z')
		return (unsigned char)(c - 'A' + 'a');
	return c;
}

/* Matches one bracket expression at *pp against c; advances *pp past it.
 * Returns 1 on match, 0 on no match, -1 if the bracket is unterminated. */
static int match_bracket(const char **pp, unsigned char c, int flags)
{
	const char *p = *pp + 1;
	bool negate = false, matched = false;
	if (*p == '!' || *p == '^') {
		negate = true;
		p++;
	}
	bool first = true;
	while (*p && (*p != ']' || first)) {
		first = false;
		unsigned char lo = (unsigned char)*p;
		if (lo == '\\' && p[1])
			lo = (unsigned char)*++p;
		unsigned char hi = lo;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = (unsigned char)p[2];
			if (hi == '\\' && p[3])
				hi = (unsigned char)*(++p + 2);
			p += 2;
		}
		unsigned char fc = fold(c, flags);
		if ((c >= lo && c <= hi) || (fc >= fold(lo, flags) && fc <= fold(hi, flags)))
			matched = true;
		p++;
	}
	if (*p != ']')
		return -1;
	*pp = p + 1;
	return matched != negate;
}

/* What ends a literal stretch of a pattern: its end, or a special character. */
static const bool stops_literal[256] = { ['\0'] = true, ['*'] = true, ['?'] = true, ['['] = true, ['\\'] = true };

bool cr_glob_match(const char *pattern, const char *s, size_t len, int flags)
{
	const char *p = pattern;
	size_t i = 0;
	const char *star_p = NULL; /* pattern position after the last '*' */
	size_t star_i = 0;         /* string position that '*' is extended from */

	/* The literal stretch before the first wildcard, compared directly:
	 * before any '*' a mismatch is final. */
	if (!(flags & CR_GLOB_NOCASE))
		for (; i < len && !stops_literal[(unsigned char)*p]; p++, i++)
			if (*p != s[i])
				return false;

	/* "*" and a literal tail ("*.sock", or "*" alone), the commonest
	 * glob: the tail can only sit at the end. */
	if (*p == '*' && !(flags & CR_GLOB_NOCASE)) {
		const char *tail = p;
		while (*tail == '*')
			tail++;
		size_t n = 0;
		while (!stops_literal[(unsigned char)tail[n]])
			n++;
		if (!tail[n])
			return cr_glob_star_literal(tail, n, s + i, len - i, flags);
	}

	while (i < len || *p) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_i = i;
			continue;
		}
		if (i < len) {
			unsigned char c = (unsigned char)s[i];
			bool slash_guard = (flags & CR_GLOB_PATHNAME) && c == '/';
			if (*p == '?' && !slash_guard) {
				p++;
				i++;
				continue;
			}
			if (*p == '[' && !slash_guard) {
				const char *q = p;
				int r = match_bracket(&q, c, flags);
				if (r == 1) {
					p = q;
					i++;
					continue;
				}
				if (r < 0 && c == '[') { /* unterminated: a literal '[' */
					p++;
					i++;
					continue;
				}
			} else if (*p && *p != '?' && *p != '[') {
				const char *q = p;
				if (*q == '\\' && q[1])
					q++;
				if (fold((unsigned char)*q, flags) == fold(c, flags)) {
					p = q + 1;
					i++;
					continue;
				}
			}
		}
		/* Mismatch: let the last '*' swallow one more character. */
		if (star_p && star_i < len && !((flags & CR_GLOB_PATHNAME) && s[star_i] == '/')) {
			star_i++;
			p = star_p;
			i = star_i;
			continue;
		}
		return false;
	}
	return true;
}

bool cr_glob_is_literal(const char *pattern)
{
	return strpbrk(pattern, "*?[\\") == NULL;
}

const char *cr_glob_check(const char *pattern)
{
	for (const char *p = pattern; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return "ends with a lone backslash";
			p++;
		} else if (*p == '[') {
			const char *q = p;
			if (match_bracket(&q, 'a', 0) < 0)
				return "has a '[' without its closing ']'";
			p = q - 1;
		}
	}
	return NULL;
}

bool cr_process_matches(const char *pattern, const char *comm, const char *exe)
{
	if (strchr(pattern, '/'))
		return exe && cr_glob_match(pattern, exe, strlen(exe), CR_GLOB_PATHNAME);
	return comm && cr_glob_match(pattern, comm, strlen(comm), 0);
}
