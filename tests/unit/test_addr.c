#include "suites.h"
#include "engine/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

static struct cr_dest dest4(const char *a, int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, a, &in.sin_addr);
	struct cr_dest d;
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&in, sizeof in, &d), 0);
	return d;
}

static struct cr_dest dest6(const char *a, int port)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	inet_pton(AF_INET6, a, &in6.sin6_addr);
	struct cr_dest d;
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&in6, sizeof in6, &d), 0);
	return d;
}

static struct cr_prefix prefix(const char *text)
{
	struct cr_prefix p;
	ck_assert_msg(cr_prefix_parse(text, &p) == CR_PREFIX_OK, "parse %s", text);
	return p;
}

START_TEST(sockaddr_inet)
{
	struct cr_dest d = dest4("10.1.2.3", 5432);
	char buf[128];
	ck_assert_int_eq(d.family, CR_FAM_INET);
	ck_assert_int_eq(d.port, 5432);
	cr_dest_format(&d, buf, sizeof buf);
	ck_assert_str_eq(buf, "10.1.2.3:5432");

	d = dest6("::1", 80);
	ck_assert_int_eq(d.family, CR_FAM_INET6);
	cr_dest_format(&d, buf, sizeof buf);
	ck_assert_str_eq(buf, "[::1]:80");

	d = dest6("::ffff:10.0.0.1", 443);
	ck_assert_int_eq(d.family, CR_FAM_INET);
	ck_assert(d.mapped);
	cr_dest_format(&d, buf, sizeof buf);
	ck_assert_str_eq(buf, "[::ffff:10.0.0.1]:443");
}
END_TEST

START_TEST(sockaddr_lengths)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	struct sockaddr_storage big = { .ss_family = AF_INET };
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	struct cr_dest d;
	ck_assert_int_eq(cr_dest_from_sockaddr(NULL, sizeof in, &d), -1);
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&in, 0, &d), -1);
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&in, 1, &d), -1);
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&in, sizeof in - 1, &d), -1);
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&in6, 23, &d), -1);
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&in6, 24, &d), 0);
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&big, sizeof big + 1, &d), -1);
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&big, sizeof big, &d), 0);
	ck_assert_int_eq(cr_dest_from_sockaddr(&sa, sizeof sa, &d), -1);
}
END_TEST

START_TEST(sockaddr_unix)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct cr_dest d;
	char buf[256];
	strcpy(un.sun_path, "/run/x.sock");
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&un, sizeof un, &d), 0);
	ck_assert_int_eq(d.family, CR_FAM_UNIX);
	ck_assert_str_eq(d.path, "/run/x.sock");

	/* A full 108-byte path without NUL. */
	memset(un.sun_path, 'a', sizeof un.sun_path);
	un.sun_path[0] = '/';
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&un, sizeof un, &d), 0);
	ck_assert_int_eq(d.path_len, sizeof un.sun_path);
	ck_assert_int_eq(d.path[sizeof un.sun_path], '\0');
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&un, sizeof un + 1, &d), -1);

	/* Abstract: the length counts, NULs included. */
	memset(un.sun_path, 0, sizeof un.sun_path);
	memcpy(un.sun_path, "\0ab\0c", 5);
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&un, offsetof(struct sockaddr_un, sun_path) + 5, &d),
			 0);
	ck_assert_int_eq(d.path_len, 5);
	ck_assert_int_eq(memcmp(d.path, "@ab\0c", 5), 0);
	ck_assert_uint_eq(cr_dest_format(&d, buf, sizeof buf), 5);

	/* The family alone names nothing: connect() says EINVAL, so it is left
	 * to the kernel (t_badargs checks the kernel's answer). */
	ck_assert_int_eq(cr_dest_from_sockaddr((struct sockaddr *)&un, sizeof(sa_family_t), &d), -1);
}
END_TEST

START_TEST(prefix_parse_errors)
{
	struct cr_prefix p;
	ck_assert_int_eq(cr_prefix_parse("10.1.2.3/8", &p), CR_PREFIX_HOST_BITS);
	ck_assert_int_eq(cr_prefix_parse("10.0.0.0/33", &p), CR_PREFIX_BAD_LEN);
	ck_assert_int_eq(cr_prefix_parse("10.0.0.0/", &p), CR_PREFIX_BAD_LEN);
	ck_assert_int_eq(cr_prefix_parse("10.0.0.0/x", &p), CR_PREFIX_BAD_LEN);
	ck_assert_int_eq(cr_prefix_parse("fd00::/129", &p), CR_PREFIX_BAD_LEN);
	ck_assert_int_eq(cr_prefix_parse("fd00::1/8", &p), CR_PREFIX_HOST_BITS);
	ck_assert_int_eq(cr_prefix_parse("10.0.0.256", &p), CR_PREFIX_BAD_ADDRESS);
	ck_assert_int_eq(cr_prefix_parse("1::2::3", &p), CR_PREFIX_BAD_ADDRESS);
	ck_assert_int_eq(cr_prefix_parse("db.internal", &p), CR_PREFIX_NOT_ADDRESS);
	ck_assert_int_eq(cr_prefix_parse("0.0.0.0/0", &p), CR_PREFIX_OK);
	ck_assert_int_eq(cr_prefix_parse("::/0", &p), CR_PREFIX_OK);
}
END_TEST

START_TEST(prefix_match_edges)
{
	struct cr_prefix p = prefix("10.0.0.0/8");
	ck_assert(cr_prefix_match(&p, &(struct cr_dest){ 0 }) == false);
	struct cr_dest in = dest4("10.255.255.255", 1), out = dest4("11.0.0.0", 1);
	ck_assert(cr_prefix_match(&p, &in));
	ck_assert(!cr_prefix_match(&p, &out));

	p = prefix("0.0.0.0/0");
	ck_assert(cr_prefix_match(&p, &out));
	struct cr_dest v6 = dest6("::1", 1);
	ck_assert(!cr_prefix_match(&p, &v6)); /* an IPv4 prefix never matches IPv6 */

	p = prefix("192.0.2.1/32");
	struct cr_dest a = dest4("192.0.2.1", 1), b = dest4("192.0.2.2", 1);
	ck_assert(cr_prefix_match(&p, &a));
	ck_assert(!cr_prefix_match(&p, &b));

	p = prefix("10.0.0.0/9");
	struct cr_dest c = dest4("10.127.0.1", 1), e = dest4("10.128.0.1", 1);
	ck_assert(cr_prefix_match(&p, &c));
	ck_assert(!cr_prefix_match(&p, &e));

	p = prefix("::1/128");
	ck_assert(cr_prefix_match(&p, &v6));
	struct cr_dest v6b = dest6("::2", 1);
	ck_assert(!cr_prefix_match(&p, &v6b));

	p = prefix("::/0");
	ck_assert(cr_prefix_match(&p, &v6));
	ck_assert(!cr_prefix_match(&p, &a)); /* nor an IPv6 prefix IPv4 */

	p = prefix("fd00::/8");
	struct cr_dest u = dest6("fdff::1", 1), w = dest6("fe00::1", 1);
	ck_assert(cr_prefix_match(&p, &u));
	ck_assert(!cr_prefix_match(&p, &w));
}
END_TEST

START_TEST(v4_mapped_matches_v4_rules)
{
	struct cr_prefix p = prefix("10.0.0.0/8");
	struct cr_dest m = dest6("::ffff:10.0.0.1", 5432);
	ck_assert(cr_prefix_match(&p, &m));
	/* A rule written in mapped form means the IPv4 address too. */
	p = prefix("::ffff:127.0.0.1");
	struct cr_dest v4 = dest4("127.0.0.1", 80);
	ck_assert_int_eq(p.family, CR_FAM_INET);
	ck_assert_int_eq(p.len, 32);
	ck_assert(cr_prefix_match(&p, &v4));
}
END_TEST

Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("addr");
	tcase_add_test(tc, sockaddr_inet);
	tcase_add_test(tc, sockaddr_lengths);
	tcase_add_test(tc, sockaddr_unix);
	tcase_add_test(tc, prefix_parse_errors);
	tcase_add_test(tc, prefix_match_edges);
	tcase_add_test(tc, v4_mapped_matches_v4_rules);
	suite_add_tcase(s, tc);
	return s;
}
