/* The index must pick exactly the rule a walk over every rule would pick:
 * random rule sets (nested and overlapping prefixes, ports, paths, globs,
 * wildcards, host names) against random destinations. */
#include "suites.h"
#include "engine/config.h"
#include "engine/decide.h"
#include "engine/index.h"
#include "engine/index_impl.h" /* the path hash: to build a cluster that wraps */
#include "engine/rules_impl.h" /* rule positions: the index against the walk */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 12345;
static unsigned rnd(unsigned n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

/* Long paths too: a folder key past the slot's inline bytes whose slashes
 * fall in every word of the look-up's scan, and one 70 slashes deep (the
 * look-up counts depths up to 63, then "63 or more"). */
#define W10 "abcdefghij/"
#define LONG_FOLDER "/" W10 W10 W10 W10 W10 W10 W10 W10 W10
#define S10 "//////////"
#define DEEP S10 S10 S10 S10 S10 S10 S10
static const char *const paths[] = { "/run/a.sock",
				     "/run/*.sock",
				     "/run/x/*",
				     "/tmp/s*",
				     "@abs",
				     "@ab*",
				     "*.sock",
				     "/var/run/docker.sock",
				     "/run/x/y.sock",
				     LONG_FOLDER "*.sock",
				     LONG_FOLDER "zzzz/*",
				     DEEP "*" };

/* Addresses at the edges of the wide prefixes generated (first, last, and
 * one beyond each), for destinations that probe the interval boundaries. */
static struct cr_dest edges[4096];
static unsigned nedges;

static uint32_t rnd32(void)
{
	return rnd(1u << 16) << 16 | rnd(1u << 16);
}

static void add_edge(int family, const uint8_t *addr)
{
	if (nedges < sizeof edges / sizeof edges[0]) {
		struct cr_dest *d = &edges[nedges++];
		memset(d, 0, sizeof *d);
		d->family = (uint8_t)family;
		memcpy(d->addr, addr, family == CR_FAM_INET ? 4 : 16);
		d->port = (uint16_t)(79 + rnd(8));
	}
}

/* The prefix's first and last address, and the ones just outside. */
static void add_edges(int family, const uint8_t *start, unsigned len)
{
	unsigned bytes = family == CR_FAM_INET ? 4 : 16;
	uint8_t lo[16], hi[16], below[16], above[16];
	memcpy(lo, start, bytes);
	for (unsigned b = 0; b < bytes; b++) {
		unsigned bits_here = len > 8 * b ? (len - 8 * b >= 8 ? 8 : len - 8 * b) : 0;
		hi[b] = (uint8_t)(lo[b] | (0xff >> bits_here));
	}
	memcpy(below, lo, bytes);
	memcpy(above, hi, bytes);
	for (int b = (int)bytes - 1; b >= 0 && below[b]-- == 0; b--)
		;
	for (int b = (int)bytes - 1; b >= 0 && ++above[b] == 0; b--)
		;
	add_edge(family, lo);
	add_edge(family, hi);
	add_edge(family, below);
	add_edge(family, above);
}

static void random_rule(FILE *f, unsigned i)
{
	fprintf(f, "%s{ name = \"r%u\"; ", i ? ",\n" : "", i);
	unsigned kind = rnd(9);
	switch (kind) {
	case 7: { /* IPv4 anywhere, any length */
		unsigned len = rnd(33);
		uint32_t a = rnd32();
		a = len ? a & (0xffffffffu << (32 - len)) : 0;
		uint8_t b[4] = { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a };
		fprintf(f, "dst = \"%u.%u.%u.%u/%u\"; ", b[0], b[1], b[2], b[3], len);
		add_edges(CR_FAM_INET, b, len);
		break;
	}
	case 8: { /* IPv6 anywhere, any length */
		unsigned len = rnd(129);
		uint8_t b[16];
		for (int k = 0; k < 16; k++) {
			unsigned keep = len > 8u * k ? (len - 8u * k >= 8 ? 8 : len - 8u * k) : 0;
			b[k] = (uint8_t)(rnd(256) & (0xff00 >> keep));
		}
		char text[64];
		snprintf(text, sizeof text, "%x:%x:%x:%x:%x:%x:%x:%x", b[0] << 8 | b[1], b[2] << 8 | b[3],
			 b[4] << 8 | b[5], b[6] << 8 | b[7], b[8] << 8 | b[9], b[10] << 8 | b[11], b[12] << 8 | b[13],
			 b[14] << 8 | b[15]);
		fprintf(f, "dst = \"%s/%u\"; ", text, len);
		add_edges(CR_FAM_INET6, b, len);
		break;
	}
	case 0: /* IPv4 prefix, nested around 10.x */
		if (rnd(2))
			fprintf(f, "dst = \"10.0.0.0/8\"; ");
		else
			fprintf(f, "dst = \"10.%u.0.0/16\"; ", rnd(4));
		break;
	case 1: {
		unsigned len = rnd(33);
		unsigned a = (10u << 24) | (rnd(4) << 16) | (rnd(4) << 8) | rnd(4);
		a = len ? a & (0xffffffffu << (32 - len)) : 0;
		fprintf(f, "dst = \"%u.%u.%u.%u/%u\"; ", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, len);
		break;
	}
	case 2:
		fprintf(f, "dst = [\"fd00::/%u\", \"fd00:%x::%x\"]; ", 8 + rnd(3) * 8, rnd(3), rnd(3));
		break;
	case 3: /* one pattern, or two */
		if (rnd(2))
			fprintf(f, "path = \"%s\"; ", paths[rnd(sizeof paths / sizeof paths[0])]);
		else
			fprintf(f, "path = [\"%s\", \"%s\"]; ", paths[rnd(sizeof paths / sizeof paths[0])],
				paths[rnd(sizeof paths / sizeof paths[0])]);
		break;
	case 4:
		fprintf(f, "dst = \"*\"; ");
		break;
	case 5:
		fprintf(f, "dst = \"*.example.com\"; ");
		break;
	default:
		break; /* matches everything */
	}
	if (kind != 3 && rnd(3) == 0)
		fprintf(f, "port = \"%u-%u\"; ", 80 + rnd(3), 82 + rnd(3));
	fprintf(f, "action = \"refuse\"; }");
}

static struct cr_dest random_dest(const char **host)
{
	struct cr_dest d = { 0 };
	*host = rnd(4) == 0 ? "api.example.com" : NULL;
	if (nedges && rnd(3) == 0)
		return edges[rnd(nedges)];
	switch (rnd(3)) {
	case 0:
		d.family = CR_FAM_INET;
		d.addr[0] = rnd(5) ? 10 : 11;
		d.addr[1] = (uint8_t)rnd(4);
		d.addr[2] = (uint8_t)rnd(4);
		d.addr[3] = (uint8_t)rnd(4);
		d.port = (uint16_t)(79 + rnd(8));
		break;
	case 1:
		d.family = CR_FAM_INET6;
		d.addr[0] = rnd(5) ? 0xfd : 0xfe;
		d.addr[3] = (uint8_t)rnd(3);
		d.addr[15] = (uint8_t)rnd(3);
		d.port = (uint16_t)(79 + rnd(8));
		break;
	default: {
		static const char *const dests[] = { "/run/a.sock",
						     "/run/b.sock",
						     "/run/x/y.sock",
						     "/tmp/sock",
						     "@abs",
						     "@abc",
						     "/var/run/docker.sock",
						     "/x.sock",
						     LONG_FOLDER "zz.sock",
						     LONG_FOLDER "z/z.sock",
						     LONG_FOLDER "zzzz/x",
						     DEEP "x",
						     DEEP "/x" };
		d.family = CR_FAM_UNIX;
		const char *p = dests[rnd(sizeof dests / sizeof dests[0])];
		d.path_len = (uint16_t)strlen(p);
		memcpy(d.path, p, d.path_len + 1);
		/* What lies past the path is no part of it, slashes or not. */
		memset(d.path + d.path_len + 1, '/', sizeof d.path - d.path_len - 1);
	}
	}
	return d;
}

START_TEST(index_equals_linear_walk)
{
	for (int round = 0; round < 70; round++) {
		char *text = NULL;
		size_t len;
		FILE *f = open_memstream(&text, &len);
		fprintf(f, "version = 1;\nrules = (\n");
		nedges = 0;
		unsigned n = 1 + rnd(round < 30 ? 12 : round < 50 ? 200 : 3000);
		for (unsigned i = 0; i < n; i++)
			random_rule(f, i);
		fprintf(f, "\n);\n");
		fclose(f);
		char err[512];
		struct cr_ruleset *rs = cr_config_load_string(text, "t.cfg", err, sizeof err);
		ck_assert_msg(rs != NULL, "%s\n%s", err, text);
		ck_assert_ptr_nonnull(rs->index);
		for (int k = 0; k < 300; k++) {
			const char *host;
			struct cr_dest d = random_dest(&host);
			struct cr_query q = { .dest = &d, .host = host, .comm = "x" };
			int want = -1;
			for (unsigned i = 0; i < rs->nrules && want < 0; i++)
				if (cr_rule_matches(rs, &rs->rules[i], &q))
					want = (int)i;
			struct cr_verdict v;
			cr_decide_peek(rs, &q, &v);
			int got = v.rule ? (int)(v.rule - rs->rules) : -1;
			char dst[200];
			cr_dest_format(&d, dst, sizeof dst);
			ck_assert_msg(got == want, "round %d, %s: index picked %d, the walk %d\n%s", round, dst, got,
				      want, text);
		}
		cr_ruleset_free(rs);
		free(text);
	}
}
END_TEST

/* Found by the fuzz corpus under ASan: a key made by a rule's second
 * pattern was taken for its first one's, reading past a shorter first. */
START_TEST(path_key_of_second_pattern)
{
	char err[512];
	struct cr_ruleset *rs = cr_config_load_string(
		"version = 1; rules = ( { name = \"two\"; path = [\"@a\", \"/run/only/*.sock\"]; action = \"refuse\"; } );",
		"t.cfg", err, sizeof err);
	ck_assert_msg(rs != NULL, "%s", err);
	static const char *const yes[] = { "/run/only/x.sock", "@a" }, *const no[] = { "/run/only/x.txt", "@b" };
	for (int k = 0; k < 2; k++) {
		struct cr_dest d = { .family = CR_FAM_UNIX };
		for (int w = 0; w < 2; w++) {
			const char *p = w ? no[k] : yes[k];
			d.path_len = (uint16_t)strlen(p);
			memcpy(d.path, p, d.path_len + 1);
			struct cr_query q = { .dest = &d, .comm = "x" };
			struct cr_verdict v;
			cr_decide_peek(rs, &q, &v);
			ck_assert_msg((v.rule != NULL) == !w, "%s", p);
		}
	}
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(nested_prefixes_edges)
{
	char err[512];
	struct cr_ruleset *rs = cr_config_load_string(
		"version = 1; rules = (\n"
		"{ name = \"host\"; dst = \"255.255.255.255\"; action = \"refuse\"; },\n"
		"{ name = \"all4\"; dst = \"0.0.0.0/0\"; port = 1; action = \"refuse\"; },\n"
		"{ name = \"last6\"; dst = \"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\"; action = \"refuse\"; },\n"
		"{ name = \"all6\"; dst = \"::/0\"; port = 1; action = \"refuse\"; },\n"
		"{ name = \"net\"; dst = \"10.0.0.0/8\"; action = \"refuse\"; },\n"
		"{ name = \"sub\"; dst = \"10.1.0.0/16\"; action = \"refuse\"; }\n"
		");",
		"t.cfg", err, sizeof err);
	ck_assert_msg(rs != NULL, "%s", err);
	struct cr_dest d = { .family = CR_FAM_INET, .port = 1 };
	struct cr_query q = { .dest = &d, .comm = "x" };
	struct cr_verdict v;
	memset(d.addr, 0xff, 4);
	cr_decide_peek(rs, &q, &v);
	ck_assert_str_eq(cr_rule_name(rs, v.rule), "host");
	memcpy(d.addr, "\x0a\x01\x02\x03", 4);
	cr_decide_peek(rs, &q, &v);
	ck_assert_str_eq(cr_rule_name(rs, v.rule), "all4");
	d.port = 2;
	cr_decide_peek(rs, &q, &v);
	ck_assert_str_eq(cr_rule_name(rs, v.rule), "net");
	d.family = CR_FAM_INET6;
	memset(d.addr, 0xff, 16);
	cr_decide_peek(rs, &q, &v);
	ck_assert_str_eq(cr_rule_name(rs, v.rule), "last6");
	memset(d.addr, 0, 16);
	d.port = 1;
	cr_decide_peek(rs, &q, &v);
	ck_assert_str_eq(cr_rule_name(rs, v.rule), "all6");
	cr_ruleset_free(rs);
}
END_TEST

/* Two folder keys hashed to the path table's last slot: the second is
 * placed in slot 0, and a look-up that starts at the end must read on
 * past it (the tags repeated past the end). */
START_TEST(path_cluster_wraps_around)
{
	unsigned found[2], nfound = 0;
	char key[32];
	for (unsigned i = 0; nfound < 2 && i < 100000; i++) {
		int n = snprintf(key, sizeof key, "/w/%u/", i);
		if ((hash_bytes(key, (size_t)n) & 15) == 15) /* 2 keys: a table of 16 slots */
			found[nfound++] = i;
	}
	ck_assert_uint_eq(nfound, 2);
	char text[512], err[512];
	snprintf(text, sizeof text,
		 "version = 1;\nrules = ( { name = \"a\"; path = \"/w/%u/*\"; action = \"refuse\"; },\n"
		 "{ name = \"b\"; path = \"/w/%u/*\"; action = \"refuse\"; } );\n",
		 found[0], found[1]);
	struct cr_ruleset *rs = cr_config_load_string(text, "t.cfg", err, sizeof err);
	ck_assert_msg(rs != NULL, "%s", err);
	for (unsigned k = 0; k < 2; k++) {
		struct cr_dest d = { .family = CR_FAM_UNIX };
		d.path_len = (uint16_t)snprintf(d.path, sizeof d.path, "/w/%u/x.sock", found[k]);
		struct cr_query q = { .dest = &d, .comm = "x" };
		struct cr_verdict v;
		cr_decide_peek(rs, &q, &v);
		ck_assert_msg(v.rule == &rs->rules[k], "%s: rule %d", d.path, v.rule ? (int)(v.rule - rs->rules) : -1);
	}
	cr_ruleset_free(rs);
}
END_TEST

Suite *index_suite(void)
{
	Suite *s = suite_create("index");
	TCase *tc = tcase_create("index");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, index_equals_linear_walk);
	tcase_add_test(tc, nested_prefixes_edges);
	tcase_add_test(tc, path_key_of_second_pattern);
	tcase_add_test(tc, path_cluster_wraps_around);
	suite_add_tcase(s, tc);
	return s;
}
