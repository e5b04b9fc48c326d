#include "suites.h"
#include "engine/glob.h"

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

Suite *glob_suite(void)
{
	Suite *s = suite_create("glob");
	TCase *tc = tcase_create("glob");
	tcase_add_test(tc, basics);
	tcase_add_test(tc, pathname);
	tcase_add_test(tc, nocase_and_lengths);
	tcase_add_test(tc, check_patterns);
	suite_add_tcase(s, tc);
	return s;
}
