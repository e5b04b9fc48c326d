#include "suites.h"
#include "preload/hostcache.h"

#include <string.h>

static struct cr_dest v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct cr_dest x = { .family = CR_FAM_INET };
	x.addr[0] = a, x.addr[1] = b, x.addr[2] = c, x.addr[3] = d;
	return x;
}

START_TEST(names_by_address)
{
	char buf[CR_HOST_MAX];
	struct cr_dest d = v4(10, 1, 2, 3);
	ck_assert(!cr_hostcache_get(&d, buf, sizeof buf));
	cr_hostcache_put(CR_FAM_INET, d.addr, "db.internal");
	ck_assert(cr_hostcache_get(&d, buf, sizeof buf));
	ck_assert_str_eq(buf, "db.internal");
	cr_hostcache_put(CR_FAM_INET, d.addr, "db2.internal"); /* the newest name wins */
	ck_assert(cr_hostcache_get(&d, buf, sizeof buf));
	ck_assert_str_eq(buf, "db2.internal");
	struct cr_dest other = v4(10, 1, 2, 4);
	ck_assert(!cr_hostcache_get(&other, buf, sizeof buf));
}
END_TEST

START_TEST(ipv6_and_families)
{
	char buf[CR_HOST_MAX];
	struct cr_dest d6 = { .family = CR_FAM_INET6 };
	d6.addr[0] = 0xfd, d6.addr[15] = 1;
	cr_hostcache_put(CR_FAM_INET6, d6.addr, "v6.test");
	ck_assert(cr_hostcache_get(&d6, buf, sizeof buf));
	ck_assert_str_eq(buf, "v6.test");
	/* The same first four bytes as IPv4 are another address. */
	struct cr_dest d4 = v4(0xfd, 0, 0, 0);
	ck_assert(!cr_hostcache_get(&d4, buf, sizeof buf) || strcmp(buf, "v6.test") != 0);
	struct cr_dest u = { .family = CR_FAM_UNIX };
	ck_assert(!cr_hostcache_get(&u, buf, sizeof buf));
}
END_TEST

START_TEST(bounded_copies)
{
	char longname[400], buf[CR_HOST_MAX], small[8];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	struct cr_dest d = v4(192, 0, 2, 9);
	cr_hostcache_put(CR_FAM_INET, d.addr, longname);
	ck_assert(cr_hostcache_get(&d, buf, sizeof buf));
	ck_assert_uint_eq(strlen(buf), CR_HOST_MAX - 1);
	ck_assert(cr_hostcache_get(&d, small, sizeof small));
	ck_assert_str_eq(small, "aaaaaaa");
	ck_assert(!cr_hostcache_get(&d, small, 0));
}
END_TEST

Suite *hostcache_suite(void)
{
	Suite *s = suite_create("hostcache");
	TCase *tc = tcase_create("hostcache");
	tcase_add_test(tc, names_by_address);
	tcase_add_test(tc, ipv6_and_families);
	tcase_add_test(tc, bounded_copies);
	suite_add_tcase(s, tc);
	return s;
}
