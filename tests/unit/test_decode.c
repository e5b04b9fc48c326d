#define _GNU_SOURCE
#include "suites.h"
#include "connrefuse.h"
#include "engine/errtab.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

static void same_record(const char *a, const char *b)
{
	struct connrefuse_error x, y;
	ck_assert_msg(connrefuse_decode(a, &x) == 0, "%s does not decode", a);
	ck_assert_msg(connrefuse_decode(b, &y) == 0, "%s does not decode", b);
	ck_assert_msg(memcmp(&x, &y, sizeof x) == 0, "%s and %s decode differently", a, b);
}

START_TEST(vectors)
{
	struct connrefuse_error e;
	ck_assert_int_eq(connrefuse_decode("111", &e), 0);
	ck_assert_str_eq(e.errno_name, "ECONNREFUSED");
	ck_assert_int_eq(e.errno_code, 111);
	ck_assert_str_eq(e.wsa_name, "WSAECONNREFUSED");
	ck_assert_int_eq(e.wsa_code, 10061);
	ck_assert_int_eq(e.wsa_code, 0x274d);
	ck_assert_str_eq(e.desc, "Connection refused");
	ck_assert_ptr_nonnull(e.hint);
	ck_assert_ptr_nonnull(e.causes);
	ck_assert_ptr_nonnull(e.fix);
	ck_assert_ptr_nonnull(e.related);
	const char *forms[] = { "ECONNREFUSED", "econnrefused", "10061", "0x274D", "0x274d", "WSAECONNREFUSED", "0x6f" };
	for (unsigned i = 0; i < sizeof forms / sizeof forms[0]; i++)
		same_record("111", forms[i]);

	ck_assert_int_eq(connrefuse_decode("ETIMEDOUT", &e), 0);
	ck_assert_int_eq(e.errno_code, 110);
	ck_assert_int_eq(e.wsa_code, 10060);
	same_record("110", "10060");

	ck_assert_int_eq(connrefuse_decode("EWOULDBLOCK", &e), 0);
	ck_assert_str_eq(e.errno_name, "EAGAIN");
	ck_assert_str_eq(e.wsa_name, "WSAEWOULDBLOCK");
	ck_assert_int_eq(e.wsa_code, 10035);
	same_record("EAGAIN", "10035");
	same_record("EAGAIN", "WSAEWOULDBLOCK");

	ck_assert_int_eq(connrefuse_decode("EPERM", &e), 0);
	ck_assert_ptr_null(e.wsa_name); /* no Winsock equivalent */

	ck_assert_int_eq(connrefuse_decode("WSAHOST_NOT_FOUND", &e), 0);
	ck_assert_str_eq(e.errno_name, "EAI_NONAME"); /* ws2tcpip.h: EAI_NONAME is WSAHOST_NOT_FOUND */
	ck_assert_int_eq(e.wsa_code, 11001);

	ck_assert_int_eq(connrefuse_decode("WSA_QOS_SENDERS", &e), 0);
	ck_assert_ptr_null(e.errno_name);
	ck_assert_int_eq(e.wsa_code, 11006);
}
END_TEST

/* The resolver's codes: by negative number, by name, by the h_errno name
 * that stands for them, and by their Winsock equivalent; each as glibc
 * names and describes it. */
START_TEST(resolver_codes)
{
	unsigned n = 0;
	for (int code = -200; code < 0; code++) {
		struct connrefuse_error e;
		const char *text = gai_strerror(code);
		if (code == EAI_OVERFLOW) { /* netdb.h defines it, gai_strerror has no text for it */
			n++;
			continue;
		}
		if (!text || strncmp(text, "Unknown error", 13) == 0) {
			ck_assert_msg(connrefuse_decode_errno(code, &e) == -1, "%d is not a getaddrinfo code", code);
			continue;
		}
		n++;
		ck_assert_msg(connrefuse_decode_errno(code, &e) == 0, "getaddrinfo code %d missing", code);
		ck_assert_str_eq(e.desc, text);
		ck_assert_int_eq(e.errno_code, code);
		char num[16];
		snprintf(num, sizeof num, "%d", code);
		same_record(num, e.errno_name);
	}
	ck_assert_uint_eq(n, cr_eai_nrows);
	struct {
		const char *name;
		int value;
		const char *eai;
	} herr[] = {
		{ "HOST_NOT_FOUND", HOST_NOT_FOUND, "EAI_NONAME" }, { "TRY_AGAIN", TRY_AGAIN, "EAI_AGAIN" },
		{ "NO_RECOVERY", NO_RECOVERY, "EAI_FAIL" },         { "NO_DATA", NO_DATA, "EAI_NODATA" },
		{ "NO_ADDRESS", NO_ADDRESS, "EAI_NODATA" },
	};
	for (unsigned i = 0; i < sizeof herr / sizeof herr[0]; i++) {
		const struct cr_herrno_row *row = cr_herrno_by_name(herr[i].name);
		ck_assert_ptr_nonnull(row);
		ck_assert_int_eq(row->herrno, herr[i].value);
		ck_assert_str_eq(row->desc, hstrerror(herr[i].value));
		same_record(herr[i].name, herr[i].eai);
	}
	same_record("-2", "WSAHOST_NOT_FOUND");
	same_record("EAI_AGAIN", "11002");
	same_record("eai_fail", "WSANO_RECOVERY");
	same_record("EAI_NODATA", "0x2afc");
	const char *with_help[] = { "EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA" };
	for (unsigned i = 0; i < 4; i++) {
		struct connrefuse_error e;
		ck_assert_int_eq(connrefuse_decode(with_help[i], &e), 0);
		ck_assert_msg(e.hint && e.causes && e.fix && e.related, "%s lacks help", with_help[i]);
	}
}
END_TEST

START_TEST(unknown)
{
	struct connrefuse_error e;
	const char *bad[] = { "",    "0",   "EFOO", "WSAEFOO", "10005", "99999", "-0",
			      "-13", "-2x", "--2",  "12x",     "0x",    "134",   "EAI_FOO" };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(connrefuse_decode(bad[i], &e) == -1, "'%s' decoded", bad[i]);
}
END_TEST

/* Every errno the running C library names is in the table, with its name. */
START_TEST(every_errno_of_the_system)
{
	unsigned n = 0;
	for (int code = 1; code < 4096; code++) {
		const char *name = strerrorname_np(code);
		struct connrefuse_error e;
		if (!name) {
			ck_assert_msg(connrefuse_decode_errno(code, &e) == -1, "%d is not an errno here", code);
			continue;
		}
		n++;
		ck_assert_msg(connrefuse_decode_errno(code, &e) == 0, "errno %d (%s) missing", code, name);
		ck_assert_str_eq(e.errno_name, name);
		ck_assert_str_eq(e.desc, strerrordesc_np(code));
		char text[16];
		snprintf(text, sizeof text, "%d", code);
		same_record(text, name);
		snprintf(text, sizeof text, "0x%x", code);
		same_record(text, name);
	}
	ck_assert_uint_eq(n, cr_errno_nrows);
}
END_TEST

/* Every Winsock code winerror.h defines from 10004 to 11031. */
START_TEST(every_wsa_code)
{
	static const int defined[] = {
		10004, 10009, 10013, 10014, 10022, 10024, 10035, 10036, 10037, 10038, 10039, 10040, 10041, 10042, 10043,
		10044, 10045, 10046, 10047, 10048, 10049, 10050, 10051, 10052, 10053, 10054, 10055, 10056, 10057, 10058,
		10059, 10060, 10061, 10062, 10063, 10064, 10065, 10066, 10067, 10068, 10069, 10070, 10071, 10091, 10092,
		10093, 10101, 10102, 10103, 10104, 10105, 10106, 10107, 10108, 10109, 10110, 10111, 10112,
	};
	unsigned n = 0;
	for (unsigned i = 0; i < sizeof defined / sizeof defined[0]; i++, n++) {
		struct connrefuse_error e;
		char text[16];
		ck_assert_msg(connrefuse_decode_wsa(defined[i], &e) == 0, "WSA %d missing", defined[i]);
		snprintf(text, sizeof text, "%d", defined[i]);
		const struct cr_wsa_row *row = cr_wsa_row(defined[i]);
		same_record(text, row->name);
		snprintf(text, sizeof text, "0x%X", defined[i]);
		same_record(text, row->name);
		if (row->posix)
			ck_assert_int_eq(e.wsa_code, defined[i]);
	}
	for (int code = 11001; code <= 11031; code++, n++) {
		struct connrefuse_error e;
		ck_assert_msg(connrefuse_decode_wsa(code, &e) == 0, "WSA %d missing", code);
		ck_assert_ptr_nonnull(e.desc);
	}
	ck_assert_uint_eq(n, cr_wsa_nrows);
	/* Every posix equivalent is a real errno that maps back. */
	for (unsigned i = 0; i < cr_wsa_nrows; i++)
		if (cr_wsa_rows[i].posix)
			ck_assert_ptr_eq(cr_wsa_for_errno(cr_wsa_rows[i].posix), &cr_wsa_rows[i]);
}
END_TEST

START_TEST(connect_errors_have_hints)
{
	const int codes[] = { ECONNREFUSED,  ETIMEDOUT, ENETUNREACH, EHOSTUNREACH, ECONNRESET, EACCES, EPERM,
			      EADDRNOTAVAIL, ENETDOWN,  EHOSTDOWN,   ECONNABORTED, EAGAIN,     EINTR,  ENOENT };
	for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		struct connrefuse_error e;
		ck_assert_int_eq(connrefuse_decode_errno(codes[i], &e), 0);
		ck_assert_msg(e.hint && e.causes && e.fix && e.related, "%s lacks help", e.errno_name);
	}
}
END_TEST

START_TEST(version)
{
	ck_assert_str_eq(connrefuse_version(), CONNREFUSE_VERSION);
}
END_TEST

Suite *decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("decode");
	tcase_add_test(tc, vectors);
	tcase_add_test(tc, unknown);
	tcase_add_test(tc, resolver_codes);
	tcase_add_test(tc, every_errno_of_the_system);
	tcase_add_test(tc, every_wsa_code);
	tcase_add_test(tc, connect_errors_have_hints);
	tcase_add_test(tc, version);
	suite_add_tcase(s, tc);
	return s;
}
