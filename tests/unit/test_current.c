#include "suites.h"
#include "preload/current.h"
#include "engine/config.h"
#include "engine/decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(rename(tmp, path), 0); /* a new inode: seen as changed */
}

/* Polls as connects do (the file is looked at once a second) until the
 * rule set in force is no longer `was`, for up to 5 s. */
static const struct cr_ruleset *wait_for_swap(const struct cr_ruleset *was)
{
	for (int i = 0; i < 200; i++) {
		cr_current_poll();
		struct cr_reader r;
		const struct cr_ruleset *now = cr_current_enter(&r);
		cr_current_leave(&r);
		if (now != was)
			return now;
		nanosleep(&(struct timespec){ 0, 25000000 }, NULL);
	}
	return was;
}

static const char rules_v1[] = "version = 1; log: { syslog = false; };\n"
			       "rules = ( { name = \"keep\"; dst = \"10.0.0.1\"; action = \"refuse\"; first = 2; },\n"
			       "          { name = \"gone\"; dst = \"10.0.0.2\"; action = \"refuse\"; } );\n";
static const char rules_v2[] = "version = 1; log: { syslog = false; };\n"
			       "rules = ( { name = \"keep\"; dst = \"10.0.0.1\"; action = \"refuse\"; first = 2; },\n"
			       "          { name = \"new\"; dst = \"10.0.0.3\"; action = \"refuse\"; } );\n";

/* One test: the rule set in force is the process's own (one a process). */
START_TEST(in_force_and_reloaded)
{
	char path[] = "/tmp/connrefuse-current-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	write_file(path, rules_v1);
	char err[512];
	struct cr_ruleset *rs = cr_config_load(path, err, sizeof err);
	ck_assert_msg(rs != NULL, "%s", err);
	cr_current_start(rs, path, NULL, false, true);

	struct cr_reader r;
	const struct cr_ruleset *cur = cr_current_enter(&r);
	ck_assert_ptr_eq(cur, rs);
	struct cr_dest d = { .family = CR_FAM_INET, .port = 80, .addr = { 10, 0, 0, 1 } };
	struct cr_query q = { .dest = &d, .comm = "unit" };
	struct cr_verdict v;
	cr_decide(cur, &q, &v); /* attempt 1 of "keep" */
	ck_assert(v.simulate);
	cr_current_leave(&r);

	/* A file that does not load: the rules in force stay. */
	write_file(path, "version = 1; rules = ( { action = \"explode\"; } );\n");
	for (int i = 0; i < 60; i++) { /* more than a second of polls */
		cr_current_poll();
		nanosleep(&(struct timespec){ 0, 25000000 }, NULL);
	}
	cur = cr_current_enter(&r);
	ck_assert_ptr_eq(cur, rs);
	cr_current_leave(&r);

	/* A good one replaces them; the unchanged rule keeps its count. */
	write_file(path, rules_v2);
	const struct cr_ruleset *fresh = wait_for_swap(rs);
	ck_assert_ptr_ne(fresh, rs);
	cur = cr_current_enter(&r);
	ck_assert_str_eq(cr_rule_name(cur, cr_ruleset_rule(cur, 1)), "new");
	cr_decide(cur, &q, &v); /* attempt 2 of "keep": still fires */
	ck_assert(v.simulate);
	cr_decide(cur, &q, &v); /* attempt 3: first = 2 is over */
	ck_assert(!v.simulate);
	cr_current_leave(&r);

	/* A forked child has no other thread: no reader is left counted. */
	cur = cr_current_enter(&r);
	cr_current_after_fork();
	unlink(path);
}
END_TEST

Suite *current_suite(void)
{
	Suite *s = suite_create("current");
	TCase *tc = tcase_create("current");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, in_force_and_reloaded);
	suite_add_tcase(s, tc);
	return s;
}
