#include "suites.h"
#include "engine/glob.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

static bool m(const char *p, const char *s, int flags)
{
	return cr_glob_match(p, s, strlen(s), flags);
}

START_TEST(basics)
{
	ck_assert(m("*", "", 0));
	ck_assert(m("*", "anything", 0));
	ck_assert(m("py*", "python3", 0));
	ck_assert(!m("py*", "npy", 0));
	ck_assert(m("python?", "python3", 0));
	ck_assert(!m("python?", "python", 0));
	ck_assert(m("*.sock", "/run/x.sock", 0));
	ck_assert(m("a*b*c", "aXXbYYc", 0));
	ck_assert(!m("a*b*c", "aXXbYY", 0));
	ck_assert(m("[a-c]x", "bx", 0));
	ck_assert(!m("[!a-c]x", "bx", 0));
	ck_assert(m("[!a-c]x", "dx", 0));
	ck_assert(m("\\*", "*", 0));
	ck_assert(!m("\\*", "a", 0));
}
END_TEST

START_TEST(pathname)
{
	ck_assert(m("/run/*.sock", "/run/x.sock", CR_GLOB_PATHNAME));
	ck_assert(!m("/run/*.sock", "/run/a/x.sock", CR_GLOB_PATHNAME));
	ck_assert(m("/run/*/*.sock", "/run/a/x.sock", CR_GLOB_PATHNAME));
	ck_assert(!m("/run/?", "/run//", CR_GLOB_PATHNAME));
	ck_assert(m("/usr/bin/python3*", "/usr/bin/python3.11", CR_GLOB_PATHNAME));
}
END_TEST

START_TEST(nocase_and_lengths)
{
	ck_assert(m("*.example.com", "API.Example.COM", CR_GLOB_NOCASE));
	ck_assert(!m("*.example.com", "API.Example.COM", 0));
	ck_assert(!m("*.example.com", "example.com", CR_GLOB_NOCASE));
	/* Abstract names hold NULs: the length decides. */
	ck_assert(cr_glob_match("@ab*", "@ab\0c", 5, 0));
	ck_assert(!cr_glob_match("@ab", "@ab\0c", 5, 0));
}
END_TEST

START_TEST(check_patterns)
{
	ck_assert_ptr_null(cr_glob_check("/run/*.sock"));
	ck_assert_ptr_nonnull(cr_glob_check("/run/[a"));
	ck_assert_ptr_nonnull(cr_glob_check("abc\\"));
	ck_assert(cr_glob_is_literal("/run/x.sock"));
	ck_assert(!cr_glob_is_literal("/run/*.sock"));
}
END_TEST

/* Against the oracle, glibc's fnmatch(3): random short patterns (stars
 * and literal tails among them, the shapes the matcher settles early)
 * and strings of the same few characters, with and without PATHNAME. */
START_TEST(agrees_with_fnmatch)
{
	static const char *const atoms[] = { "a", "b", "/", ".", "*", "**", "?", "[ab]", "[!a]", "\\*", "\\a" };
	static const char chars[] = "ab/.*";
	uint64_t rng = 0x2545f4914f6cdd1dULL;
	unsigned checked = 0;
	for (int round = 0; round < 200000; round++) {
		char p[64] = "", s[16];
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		uint64_t r = rng;
		for (unsigned k = r % 6; k > 0; k--, r /= 11)
			strcat(p, atoms[(r / 6) % 11]);
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		r = rng;
		size_t len = r % 9;
		for (size_t i = 0; i < len; i++, r /= 5)
			s[i] = chars[(r / 9) % 5];
		s[len] = '\0';
		for (int pathname = 0; pathname < 2; pathname++) {
			bool ours = cr_glob_match(p, s, len, pathname ? CR_GLOB_PATHNAME : 0);
			bool theirs = fnmatch(p, s, pathname ? FNM_PATHNAME : 0) == 0;
			if (ours != theirs)
				ck_abort_msg("pattern \"%s\" string \"%s\"%s: ours %d, fnmatch %d", p, s,
					     pathname ? " (pathname)" : "", ours, theirs);
			checked++;
		}
	}
	ck_assert_uint_eq(checked, 400000);
}
END_TEST

Suite *glob_suite(void)
{
	Suite *s = suite_create("glob");
	TCase *tc = tcase_create("glob");
	tcase_add_test(tc, basics);
	tcase_add_test(tc, pathname);
	tcase_add_test(tc, nocase_and_lengths);
	tcase_add_test(tc, check_patterns);
	tcase_add_test(tc, agrees_with_fnmatch);
	suite_add_tcase(s, tc);
	return s;
}
