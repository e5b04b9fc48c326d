#include "suites.h"
#include "engine/logfmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static struct cr_dest v4(const char *a, int port)
{
	struct cr_dest d = { .family = CR_FAM_INET, .port = (uint16_t)port };
	inet_pton(AF_INET, a, d.addr);
	return d;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

START_TEST(spec_line)
{
	struct cr_dest d = v4("10.1.2.3", 5432);
	struct cr_event ev = {
		.result = CR_RES_REFUSED,
		.simulated = true,
		.rule = "db-down",
		.action = CR_ACT_REFUSE,
		.pid = 4242,
		.has_ids = true,
		.uid = 1000,
		.euid = 1000,
		.comm = "psql",
		.dest = &d,
		.host = "db.internal",
		.proto = "tcp",
		.err = ECONNREFUSED,
	};
	char buf[CR_LOG_LINE_MAX];
	cr_log_format(&ev, buf, sizeof buf);
	ck_assert_str_eq(buf,
			 "result=refused simulated=yes rule=db-down action=refuse pid=4242 uid=1000 comm=psql dst=10.1.2.3:5432 "
			 "host=db.internal proto=tcp errno=ECONNREFUSED code=111 hex=0x6f wsa=WSAECONNREFUSED wsa_code=10061 "
			 "wsa_hex=0x274d desc=\"Connection refused\" "
			 "hint=\"nothing listens on that port, or a firewall rejected the connection\"");
}
END_TEST

/* connrefuse audit's lines: source=kernel after simulated (SPEC.md). */
/* A fault after connect: the bytes each way and the time (SPEC.md). */
START_TEST(fault_line)
{
	struct cr_dest d = v4("127.0.0.1", 8080);
	struct cr_event ev = { .result = CR_RES_RESET,
			       .simulated = true,
			       .rule = "cut",
			       .action = CR_ACT_RESET,
			       .pid = 7,
			       .has_ids = true,
			       .comm = "curl",
			       .dest = &d,
			       .proto = "tcp",
			       .traffic = true,
			       .sent = 78,
			       .received = 100,
			       .after_ms = 3 };
	char buf[CR_LOG_LINE_MAX];
	cr_log_format(&ev, buf, sizeof buf);
	ck_assert_str_eq(buf,
			 "result=reset simulated=yes rule=cut action=reset pid=7 uid=0 comm=curl dst=127.0.0.1:8080 "
			 "proto=tcp sent=78 received=100 after_ms=3");
	ev.result = CR_RES_STALLED;
	ev.action = CR_ACT_STALL;
	cr_log_format_as(&ev, true, buf, sizeof buf);
	ck_assert_msg(strstr(buf, "\"result\":\"stalled\"") &&
			      strstr(buf, "\"sent\":78,\"received\":100,\"after_ms\":3"),
		      "%s", buf);
}
END_TEST

START_TEST(kernel_source)
{
	struct cr_dest d = v4("127.0.0.1", 7);
	struct cr_event ev = {
		.result = CR_RES_FAILED,
		.source = "kernel",
		.action = CR_ACT_PASS,
		.pid = 9,
		.has_ids = true,
		.uid = 65534,
		.euid = 0,
		.comm = "suid",
		.dest = &d,
		.proto = "tcp",
		.err = ETIMEDOUT,
	};
	char buf[CR_LOG_LINE_MAX];
	cr_log_format(&ev, buf, sizeof buf);
	ck_assert_msg(starts(buf,
			     "result=failed simulated=no source=kernel action=pass pid=9 uid=65534 euid=0 comm=suid "
			     "dst=127.0.0.1:7 proto=tcp errno=ETIMEDOUT "),
		      "%s", buf);
	cr_log_format_as(&ev, true, buf, sizeof buf);
	ck_assert_msg(starts(buf,
			     "{\"result\":\"failed\",\"simulated\":\"no\",\"source\":\"kernel\",\"action\":\"pass\""),
		      "%s", buf);
}
END_TEST

/* euid follows uid when it differs; cgroup follows comm unless it is the root. */
START_TEST(who_and_where)
{
	struct cr_dest d = v4("127.0.0.1", 1);
	struct cr_event ev = {
		.result = CR_RES_REFUSED,
		.action = CR_ACT_PASS,
		.pid = 7,
		.has_ids = true,
		.uid = 1000,
		.euid = 0,
		.comm = "sudo",
		.cgroup = "/system.slice/web.service",
		.dest = &d,
		.proto = "tcp",
		.err = ECONNREFUSED,
	};
	char buf[CR_LOG_LINE_MAX];
	cr_log_format(&ev, buf, sizeof buf);
	ck_assert_msg(starts(buf, "result=refused simulated=no action=pass pid=7 uid=1000 euid=0 comm=sudo "
				  "cgroup=/system.slice/web.service dst=127.0.0.1:1 "),
		      "%s", buf);
	ev.euid = 1000;
	ev.cgroup = "/";
	cr_log_format(&ev, buf, sizeof buf);
	ck_assert_msg(starts(buf, "result=refused simulated=no action=pass pid=7 uid=1000 comm=sudo dst="), "%s", buf);
	/* The same keys in JSON, numbers as numbers. */
	ev.euid = 0;
	ev.cgroup = "/a \"b\"";
	cr_log_format_as(&ev, true, buf, sizeof buf);
	ck_assert_msg(starts(buf, "{\"result\":\"refused\",\"simulated\":\"no\",\"action\":\"pass\",\"pid\":7,"
				  "\"uid\":1000,\"euid\":0,\"comm\":\"sudo\",\"cgroup\":\"/a \\\"b\\\"\","),
		      "%s", buf);
	ck_assert_msg(strstr(buf, "\"code\":111,\"hex\":\"0x6f\"") && buf[strlen(buf) - 1] == '}', "%s", buf);
}
END_TEST

/* A JSON key too long for what is left of the buffer is left out whole:
 * the line stays one valid object. */
START_TEST(json_cut_whole)
{
	struct cr_dest d = v4("127.0.0.1", 1);
	char host[300];
	memset(host, 'h', sizeof host - 1);
	host[sizeof host - 1] = '\0';
	struct cr_event ev = { .result = CR_RES_REFUSED,
			       .action = CR_ACT_PASS,
			       .pid = 7,
			       .comm = "x",
			       .dest = &d,
			       .host = host,
			       .proto = "tcp",
			       .err = ECONNREFUSED };
	char buf[400];
	size_t n = cr_log_format_as(&ev, true, buf, sizeof buf);
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_msg(buf[0] == '{' && buf[n - 1] == '}' && strstr(buf, "\"proto\":\"tcp\""), "%s", buf);
	ck_assert_ptr_null(strstr(buf, "\"host\""));
	ck_assert_ptr_null(strstr(buf, "hhh"));
}
END_TEST

START_TEST(optional_keys)
{
	struct cr_dest d = v4("127.0.0.1", 1);
	struct cr_event ev = {
		.result = CR_RES_FAILED,
		.simulated = false,
		.action = CR_ACT_REFUSE,
		.dry_run = true,
		.pid = 1,
		.comm = "x",
		.dest = &d,
		.proto = "tcp",
		.err = EPERM,
	};
	char buf[CR_LOG_LINE_MAX];
	cr_log_format(&ev, buf, sizeof buf);
	/* No rule, no host, no wsa for EPERM; dry_run right after action. */
	ck_assert_msg(strncmp(buf,
			      "result=failed simulated=no action=refuse dry_run=yes pid=1 comm=x dst=127.0.0.1:1 proto=tcp errno=EPERM code=1 hex=0x1 desc=",
			      124) == 0,
		      "%s", buf);
	ck_assert_ptr_null(strstr(buf, "wsa"));
	ck_assert_ptr_null(strstr(buf, "host="));

	ev.result = CR_RES_CONNECTED;
	ev.err = 0;
	ev.dry_run = false;
	ev.action = CR_ACT_PASS;
	cr_log_format(&ev, buf, sizeof buf);
	ck_assert_str_eq(buf, "result=connected simulated=no action=pass pid=1 comm=x dst=127.0.0.1:1 proto=tcp");
}
END_TEST

START_TEST(escaping)
{
	char buf[256];
	size_t n;
	n = cr_log_append(buf, sizeof buf, 0, "k", "plain", 5);
	ck_assert_str_eq(buf, "k=plain");
	ck_assert_uint_eq(n, 7);
	cr_log_append(buf, sizeof buf, 0, "k", "", 0);
	ck_assert_str_eq(buf, "k=\"\"");
	cr_log_append(buf, sizeof buf, 0, "k", "a b", 3);
	ck_assert_str_eq(buf, "k=\"a b\"");
	cr_log_append(buf, sizeof buf, 0, "k", "say \"hi\"", 8);
	ck_assert_str_eq(buf, "k=\"say \\\"hi\\\"\"");
	cr_log_append(buf, sizeof buf, 0, "k", "a\nb\\c=d", 7);
	ck_assert_str_eq(buf, "k=\"a\\nb\\\\c=d\"");
	cr_log_append(buf, sizeof buf, 0, "k", "\x01\x7f", 2);
	ck_assert_str_eq(buf, "k=\"\\x01\\x7f\"");
	/* Valid UTF-8 stays; invalid bytes are escaped; NULs too. */
	cr_log_append(buf, sizeof buf, 0, "k", "caf\xc3\xa9", 5);
	ck_assert_str_eq(buf, "k=\"caf\xc3\xa9\"");
	cr_log_append(buf, sizeof buf, 0, "k", "\xff\xc3", 2);
	ck_assert_str_eq(buf, "k=\"\\xff\\xc3\"");
	cr_log_append(buf, sizeof buf, 0, "k", "@a\0b", 4);
	ck_assert_str_eq(buf, "k=\"@a\\x00b\"");
	/* Overlong encodings and surrogates are invalid. */
	cr_log_append(buf, sizeof buf, 0, "k", "\xc0\xaf\xed\xa0\x80", 5);
	ck_assert_str_eq(buf, "k=\"\\xc0\\xaf\\xed\\xa0\\x80\"");
}
END_TEST

START_TEST(truncation_keeps_quotes)
{
	char buf[16];
	cr_log_append(buf, sizeof buf, 0, "k", "a very long value with spaces", 29);
	ck_assert_uint_eq(strlen(buf), 15);
	ck_assert_int_eq(buf[14], '"');
}
END_TEST

START_TEST(unix_destinations)
{
	struct cr_dest d = { .family = CR_FAM_UNIX };
	memcpy(d.path, "/tmp/a b\n.sock", 15);
	d.path_len = 14;
	struct cr_event ev = { .result = CR_RES_FAILED,
			       .action = CR_ACT_FAIL,
			       .pid = 1,
			       .comm = "x",
			       .dest = &d,
			       .proto = "unix",
			       .err = EACCES };
	char buf[CR_LOG_LINE_MAX];
	cr_log_format(&ev, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, " dst=\"/tmp/a b\\n.sock\" proto=unix "));
	ck_assert_ptr_null(strchr(buf, '\n'));
}
END_TEST

/* The stamp of log.file and JSON lines: RFC 3339, UTC, microseconds, and
 * the machine, before the event's keys; a machine name escaped as any
 * value is. */
START_TEST(stamp)
{
	struct cr_utc u;
	cr_utc_of(0, &u);
	ck_assert(u.year == 1970 && u.mon == 1 && u.day == 1 && u.hour == 0);
	cr_utc_of(951782400, &u); /* 2000-02-29, a leap day */
	ck_assert(u.year == 2000 && u.mon == 2 && u.day == 29);
	cr_utc_of(-1, &u);
	ck_assert(u.year == 1969 && u.mon == 12 && u.day == 31 && u.hour == 23 && u.min == 59 && u.sec == 59);
	char t[40];
	struct timespec ts = { .tv_sec = 1796514278, .tv_nsec = 123456789 };
	ck_assert_uint_eq(cr_log_time(&ts, t, sizeof t), 27);
	ck_assert_str_eq(t, "2026-12-05T23:44:38.123456Z");

	struct cr_dest d = v4("127.0.0.1", 1);
	struct cr_event ev = {
		.result = CR_RES_REFUSED, .action = CR_ACT_PASS, .pid = 7, .comm = "x", .dest = &d, .err = ECONNREFUSED
	};
	struct cr_stamp st = { .time = ts, .machine = "web-3" };
	char body[CR_LOG_LINE_MAX], buf[CR_LOG_LINE_MAX + CR_LOG_STAMP_MAX];
	struct cr_line l;
	size_t n = cr_log_format_as(&ev, false, body, sizeof body);
	cr_line_begin_stamped(&l, buf, sizeof buf, false, &st);
	cr_line_keys_of(&l, body, n);
	cr_line_end(&l);
	ck_assert_msg(starts(buf, "time=2026-12-05T23:44:38.123456Z machine=web-3 result=refused simulated=no "), "%s",
		      buf);
	ck_assert_str_eq(buf + strlen("time=2026-12-05T23:44:38.123456Z machine=web-3 "), body);

	n = cr_log_format_as(&ev, true, body, sizeof body);
	st.machine = "a \"b\"";
	cr_line_begin_stamped(&l, buf, sizeof buf, true, &st);
	cr_line_keys_of(&l, body, n);
	size_t len = cr_line_end(&l);
	ck_assert_msg(starts(buf, "{\"time\":\"2026-12-05T23:44:38.123456Z\",\"machine\":\"a \\\"b\\\"\",\"result\":"),
		      "%s", buf);
	ck_assert_str_eq(buf + len - strlen(body) + 1, body + 1); /* the event's keys, whole, and its brace */

	/* A message: its text after the stamp; in JSON, as message. */
	cr_line_begin_stamped(&l, buf, sizeof buf, true, &st);
	cr_line_str(&l, "message", "config error: x");
	cr_line_end(&l);
	ck_assert_msg(strstr(buf, ",\"message\":\"config error: x\"}"), "%s", buf);
}
END_TEST

Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	tcase_add_test(tc, spec_line);
	tcase_add_test(tc, who_and_where);
	tcase_add_test(tc, kernel_source);
	tcase_add_test(tc, fault_line);
	tcase_add_test(tc, json_cut_whole);
	tcase_add_test(tc, optional_keys);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, truncation_keeps_quotes);
	tcase_add_test(tc, unix_destinations);
	tcase_add_test(tc, stamp);
	suite_add_tcase(s, tc);
	return s;
}
