#include "suites.h"
#include "engine/config.h"
#include "engine/decide.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static char err[1024];

static struct cr_ruleset *load(const char *rules)
{
	char text[4096];
	snprintf(text, sizeof text, "version = 1; seed = 7;\nrules = (\n%s\n);\n", rules);
	struct cr_ruleset *rs = cr_config_load_string(text, "t.cfg", err, sizeof err);
	ck_assert_msg(rs != NULL, "%s", err);
	return rs;
}

static struct cr_dest ip(const char *a, int port)
{
	struct cr_dest d = { 0 };
	struct cr_prefix p;
	ck_assert(cr_prefix_parse(a, &p) == CR_PREFIX_OK);
	d.family = p.family;
	memcpy(d.addr, p.addr, 16);
	d.port = (uint16_t)port;
	return d;
}

static struct cr_dest unix_path(const char *path)
{
	struct cr_dest d = { .family = CR_FAM_UNIX };
	d.path_len = (uint16_t)strlen(path);
	memcpy(d.path, path, d.path_len + 1);
	return d;
}

/* The name of the deciding rule, or "default". */
static const char *decide(struct cr_ruleset *rs, struct cr_dest d, int sotype, const char *host, const char *comm)
{
	struct cr_query q = { .dest = &d, .sotype = sotype, .host = host, .comm = comm, .exe = "/usr/bin/python3.11" };
	struct cr_verdict v;
	cr_decide(rs, &q, &v);
	return v.rule ? cr_rule_name(rs, v.rule) : "default";
}

START_TEST(first_match_wins)
{
	struct cr_ruleset *rs = load(
		"{ name = \"a\"; dst = \"10.0.0.0/8\"; port = 5432; action = \"refuse\"; },\n"
		"{ name = \"b\"; dst = \"10.0.0.0/8\"; action = \"fail\"; errno = \"ETIMEDOUT\"; },\n"
		"{ name = \"c\"; dst = \"*\"; action = \"pass\"; }");
	ck_assert_str_eq(decide(rs, ip("10.1.2.3", 5432), 0, NULL, "x"), "a");
	ck_assert_str_eq(decide(rs, ip("10.1.2.3", 5433), 0, NULL, "x"), "b");
	ck_assert_str_eq(decide(rs, ip("11.1.2.3", 5432), 0, NULL, "x"), "c");
	ck_assert_str_eq(decide(rs, ip("::1", 5432), 0, NULL, "x"), "c");
	ck_assert_str_eq(decide(rs, unix_path("/x"), 0, NULL, "x"), "default"); /* dst is for IP destinations */
	cr_ruleset_free(rs);
}
END_TEST

/* Found by fuzz_config: with no rule at all the index has no pool, and the
 * look-up did arithmetic on its NULL pointer (undefined behaviour). */
START_TEST(no_rules_at_all)
{
	struct cr_ruleset *rs = cr_config_load_string("version = 1;\nlog: { syslog = true; level = \"all\"; };\n",
						      "t.cfg", err, sizeof err);
	ck_assert_msg(rs != NULL, "%s", err);
	ck_assert_str_eq(decide(rs, ip("10.1.2.3", 80), 0, NULL, "x"), "default");
	ck_assert_str_eq(decide(rs, ip("::1", 80), 0, NULL, "x"), "default");
	ck_assert_str_eq(decide(rs, unix_path("/run/x.sock"), 0, NULL, "x"), "default");
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(verdicts)
{
	struct cr_ruleset *rs = load("{ name = \"r\"; port = 1; action = \"refuse\"; delay_ms = 5; },\n"
				     "{ name = \"f\"; port = 2; action = \"fail\"; errno = \"EHOSTUNREACH\"; },\n"
				     "{ name = \"d\"; port = 3; action = \"refuse\"; dry_run = true; },\n"
				     "{ name = \"l\"; port = 4; action = \"log\"; }");
	struct cr_verdict v;
	struct cr_dest d = ip("127.0.0.1", 1);
	struct cr_query q = { .dest = &d, .comm = "x" };
	cr_decide(rs, &q, &v);
	ck_assert(v.simulate);
	ck_assert_int_eq(v.err, ECONNREFUSED);
	ck_assert_uint_eq(v.delay_ms, 5);
	d.port = 2;
	cr_decide(rs, &q, &v);
	ck_assert(v.simulate);
	ck_assert_int_eq(v.err, EHOSTUNREACH);
	d.port = 3;
	cr_decide(rs, &q, &v);
	ck_assert(!v.simulate);
	ck_assert(v.dry_run);
	d.port = 4;
	cr_decide(rs, &q, &v);
	ck_assert(!v.simulate);
	ck_assert_int_eq(v.level, CR_LEVEL_ALL);
	d.port = 5;
	cr_decide(rs, &q, &v);
	ck_assert_ptr_null(v.rule);
	ck_assert_int_eq(v.action, CR_ACT_PASS);
	ck_assert_int_eq(v.level, CR_LEVEL_FAILURES);
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(ports_and_protos)
{
	struct cr_ruleset *rs = load(
		"{ name = \"range\"; port = (\"8080-8090\", 22); proto = \"tcp\"; action = \"refuse\"; },\n"
		"{ name = \"udp\"; proto = \"udp\"; action = \"refuse\"; },\n"
		"{ name = \"unix\"; proto = \"unix\"; action = \"refuse\"; }");
	ck_assert_str_eq(decide(rs, ip("1.1.1.1", 8079), SOCK_STREAM, NULL, "x"), "default");
	ck_assert_str_eq(decide(rs, ip("1.1.1.1", 8080), SOCK_STREAM, NULL, "x"), "range");
	ck_assert_str_eq(decide(rs, ip("1.1.1.1", 8090), SOCK_STREAM, NULL, "x"), "range");
	ck_assert_str_eq(decide(rs, ip("1.1.1.1", 8091), SOCK_STREAM, NULL, "x"), "default");
	ck_assert_str_eq(decide(rs, ip("1.1.1.1", 22), SOCK_STREAM, NULL, "x"), "range");
	ck_assert_str_eq(decide(rs, ip("1.1.1.1", 22), SOCK_DGRAM, NULL, "x"), "udp");
	ck_assert_str_eq(decide(rs, unix_path("/x"), SOCK_STREAM, NULL, "x"), "unix");
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(v4_mapped)
{
	struct cr_ruleset *rs = load("{ name = \"v4\"; dst = \"127.0.0.0/8\"; action = \"refuse\"; }");
	struct cr_dest d = { .family = CR_FAM_INET, .mapped = true, .port = 80 };
	d.addr[0] = 127;
	d.addr[3] = 1;
	ck_assert_str_eq(decide(rs, d, 0, NULL, "x"), "v4");
	ck_assert_str_eq(decide(rs, ip("::1", 80), 0, NULL, "x"), "default");
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(paths_and_abstract)
{
	struct cr_ruleset *rs = load(
		"{ name = \"docker\"; path = \"/var/run/docker.sock\"; action = \"fail\"; errno = \"EACCES\"; },\n"
		"{ name = \"run\"; path = \"/run/*.sock\"; action = \"refuse\"; },\n"
		"{ name = \"abs\"; path = \"@dbus-*\"; action = \"refuse\"; }");
	ck_assert_str_eq(decide(rs, unix_path("/var/run/docker.sock"), 0, NULL, "x"), "docker");
	ck_assert_str_eq(decide(rs, unix_path("/run/a.sock"), 0, NULL, "x"), "run");
	ck_assert_str_eq(decide(rs, unix_path("/run/a/b.sock"), 0, NULL, "x"), "default");
	ck_assert_str_eq(decide(rs, unix_path("@dbus-xyz"), 0, NULL, "x"), "abs");
	ck_assert_str_eq(decide(rs, unix_path("/dbus-xyz"), 0, NULL, "x"), "default");
	ck_assert_str_eq(decide(rs, ip("1.2.3.4", 1), 0, NULL, "x"), "default");
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(hosts_and_processes)
{
	struct cr_ruleset *rs = load("{ name = \"host\"; dst = \"db.internal\"; action = \"refuse\"; },\n"
				     "{ name = \"wild\"; dst = \"*.example.com\"; action = \"refuse\"; },\n"
				     "{ name = \"comm\"; process = \"curl*\"; action = \"refuse\"; },\n"
				     "{ name = \"exe\"; process = \"/usr/bin/python3*\"; action = \"refuse\"; }");
	ck_assert_str_eq(decide(rs, ip("10.0.0.1", 1), 0, "DB.internal.", "x"), "host");
	ck_assert_str_eq(decide(rs, ip("10.0.0.1", 1), 0, "api.example.com", "x"), "wild");
	ck_assert_str_eq(decide(rs, ip("10.0.0.1", 1), 0, "example.com", "curl"), "comm");
	ck_assert_str_eq(decide(rs, ip("10.0.0.1", 1), 0, NULL, "python3"), "exe");
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(schedules_first_after_every)
{
	struct cr_ruleset *rs = load("{ name = \"first\"; port = 1; action = \"refuse\"; first = 3; },\n"
				     "{ name = \"after\"; port = 2; action = \"refuse\"; after = 2; },\n"
				     "{ name = \"every\"; port = 3; action = \"refuse\"; every = 3; }");
	const char *expect_first[] = { "first", "first", "first", "default", "default" };
	for (int i = 0; i < 5; i++)
		ck_assert_str_eq(decide(rs, ip("1.1.1.1", 1), 0, NULL, "x"), expect_first[i]);
	const char *expect_after[] = { "default", "default", "after", "after" };
	for (int i = 0; i < 4; i++)
		ck_assert_str_eq(decide(rs, ip("1.1.1.1", 2), 0, NULL, "x"), expect_after[i]);
	const char *expect_every[] = { "default", "default", "every", "default", "default", "every" };
	for (int i = 0; i < 6; i++)
		ck_assert_str_eq(decide(rs, ip("1.1.1.1", 3), 0, NULL, "x"), expect_every[i]);
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(schedule_skips_to_next_rule)
{
	struct cr_ruleset *rs = load("{ name = \"first\"; action = \"refuse\"; first = 1; },\n"
				     "{ name = \"rest\"; action = \"fail\"; errno = \"ETIMEDOUT\"; }");
	ck_assert_str_eq(decide(rs, ip("1.1.1.1", 1), 0, NULL, "x"), "first");
	ck_assert_str_eq(decide(rs, ip("1.1.1.1", 1), 0, NULL, "x"), "rest");
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(schedules_window_flap)
{
	struct cr_ruleset *rs = load(
		"{ name = \"w\"; port = 1; action = \"refuse\"; window = { start_s = 5; duration_s = 10; }; },\n"
		"{ name = \"f\"; port = 2; action = \"refuse\"; flap = { up_s = 2; down_s = 1; }; }");
	const struct cr_rule *w = cr_ruleset_rule(rs, 0), *f = cr_ruleset_rule(rs, 1);
	double t0 = rs->loaded_at;
	/* A millisecond either side of each edge: (t0 + 15.0) - t0 is not always
	 * 15.0 in doubles (t0 is the monotonic clock's seconds), so the edge
	 * itself is not asked. */
	ck_assert(!cr_rule_fires(rs, w, 1, t0 + 4.999));
	ck_assert(cr_rule_fires(rs, w, 1, t0 + 5.001));
	ck_assert(cr_rule_fires(rs, w, 1, t0 + 14.999));
	ck_assert(!cr_rule_fires(rs, w, 1, t0 + 15.001));
	/* Down (firing) for 1 s, up for 2 s, repeating. */
	ck_assert(cr_rule_fires(rs, f, 1, t0 + 0.5));
	ck_assert(!cr_rule_fires(rs, f, 1, t0 + 1.5));
	ck_assert(!cr_rule_fires(rs, f, 1, t0 + 2.9));
	ck_assert(cr_rule_fires(rs, f, 1, t0 + 3.1));
	ck_assert(!cr_rule_fires(rs, f, 1, t0 + 4.1));
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(probability_is_seeded)
{
	struct cr_ruleset *rs = load("{ name = \"p\"; action = \"refuse\"; probability = 0.3; }");
	unsigned fired = 0;
	char seq1[1001], seq2[1001];
	for (int i = 0; i < 1000; i++) {
		bool f = cr_rule_fires(rs, cr_ruleset_rule(rs, 0), (uint64_t)i + 1, 0);
		seq1[i] = f ? 'R' : 'c';
		fired += f;
	}
	seq1[1000] = '\0';
	ck_assert_msg(fired >= 250 && fired <= 350, "fired %u of 1000 at p=0.3", fired);
	cr_ruleset_free(rs);
	rs = load("{ name = \"p\"; action = \"refuse\"; probability = 0.3; }");
	for (int i = 0; i < 1000; i++)
		seq2[i] = cr_rule_fires(rs, cr_ruleset_rule(rs, 0), (uint64_t)i + 1, 0) ? 'R' : 'c';
	seq2[1000] = '\0';
	ck_assert_str_eq(seq1, seq2);
	cr_ruleset_free(rs);
	/* A different rule name draws a different sequence. */
	ck_assert(cr_draw(7, 1, 1) != cr_draw(7, 2, 1));
}
END_TEST

START_TEST(peek_counts_nothing)
{
	struct cr_ruleset *rs = load("{ name = \"first\"; action = \"refuse\"; first = 1; }");
	struct cr_dest d = ip("1.1.1.1", 1);
	struct cr_query q = { .dest = &d, .comm = "x" };
	struct cr_verdict v;
	for (int i = 0; i < 3; i++) {
		cr_decide_peek(rs, &q, &v);
		ck_assert_ptr_nonnull(v.rule);
	}
	cr_ruleset_free(rs);
}
END_TEST

Suite *decide_suite(void)
{
	Suite *s = suite_create("decide");
	TCase *tc = tcase_create("decide");
	tcase_add_test(tc, first_match_wins);
	tcase_add_test(tc, no_rules_at_all);
	tcase_add_test(tc, verdicts);
	tcase_add_test(tc, ports_and_protos);
	tcase_add_test(tc, v4_mapped);
	tcase_add_test(tc, paths_and_abstract);
	tcase_add_test(tc, hosts_and_processes);
	tcase_add_test(tc, schedules_first_after_every);
	tcase_add_test(tc, schedule_skips_to_next_rule);
	tcase_add_test(tc, schedules_window_flap);
	tcase_add_test(tc, probability_is_seeded);
	tcase_add_test(tc, peek_counts_nothing);
	suite_add_tcase(s, tc);
	return s;
}
