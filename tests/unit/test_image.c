/* The compiled rule image: it decides as the text it came from, and a
 * truncated, corrupt, foreign or hostile one is refused or read safely,
 * never outside the image (the sanitizer build runs this suite too). */
#define _GNU_SOURCE
#include "engine/config.h"
#include "engine/decide.h"
#include "engine/image.h"
#include "engine/rules_impl.h" /* rule positions: the two sets decide alike */
#include "suites.h"

#include "../fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

/* Every kind of key, so that every section and index table is present. */
static const char rich[] =
	"version = 1; seed = 9;\n"
	"rules = (\n"
	"  { name = \"net\"; dst = [\"10.0.0.0/8\", \"10.1.0.0/16\", \"10.1.2.3\"]; port = (5432, \"8000-8100\"); action = \"refuse\"; },\n"
	"  { name = \"v6\"; dst = [\"fd00::/8\", \"2001:db8::7\", \"2001:db8:0:0:1::/80\"]; action = \"fail\"; errno = \"ETIMEDOUT\"; },\n"
	"  { name = \"names\"; dst = [\"db.test\", \"*.example.com\"]; proto = \"tcp\"; action = \"refuse\"; first = 3; },\n"
	"  { name = \"sock\"; path = [\"/run/x.sock\", \"/var/run/pg/*\", \"@abstract\", \"*.sock\"]; action = \"refuse\"; },\n"
	"  { name = \"proc\"; dst = \"127.0.0.0/8\"; process = \"fuzz\"; action = \"drop\"; probability = 0.5; },\n"
	"  { name = \"clock\"; port = 443; action = \"refuse\"; window = { start_s = 0; duration_s = 100; }; flap = { up_s = 1; down_s = 2; }; every = 2; },\n"
	"  { name = \"dns\"; host = [\"db.test\", \"*.internal\"]; action = \"fail\"; errno = \"EAI_AGAIN\"; after = 1; },\n"
	"  { dst = \"*\"; port = 1; action = \"log\"; }\n"
	");\n";

static void *image_of(const char *text, size_t *len)
{
	char err[512];
	struct cr_draft *d = cr_config_parse(text, "t.cfg", err, sizeof err);
	ck_assert_msg(d != NULL, "%s", err);
	void *img = cr_image_build(d, 1234, len);
	ck_assert_ptr_nonnull(img);
	cr_draft_free(d);
	return img;
}

/* The rule set as check prints it, named t.cfg whatever its source. */
char *cr_test_printed(const struct cr_ruleset *rs)
{
	struct cr_draft *d = cr_ruleset_to_draft(rs);
	ck_assert_ptr_nonnull(d);
	free(d->source);
	d->source = strdup("t.cfg");
	char *text = NULL;
	size_t n;
	FILE *f = open_memstream(&text, &n);
	cr_config_print(d, f);
	fclose(f);
	cr_draft_free(d);
	return text;
}

START_TEST(image_decides_as_its_text)
{
	size_t len;
	void *img = image_of(rich, &len);
	char err[512];
	struct cr_ruleset *text = cr_config_load_string(rich, "t.cfg", err, sizeof err);
	struct cr_ruleset *rs = cr_image_open(img, len, CR_IMAGE_BORROWED, "t.compiled", err, sizeof err);
	ck_assert_msg(rs && text, "%s", err);
	ck_assert_int_eq(cr_image_verify(rs, err, sizeof err), 0);
	ck_assert_uint_eq(rs->source_hash, 1234);
	char *a = cr_test_printed(text), *b = cr_test_printed(rs);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	struct cr_dest d = { .family = CR_FAM_INET, .addr = { 10, 1, 2, 3 }, .port = 5432 };
	struct cr_query q = { .dest = &d, .comm = "x" };
	struct cr_verdict v;
	cr_decide(rs, &q, &v);
	ck_assert_str_eq(cr_rule_name(rs, v.rule), "net");
	ck_assert_uint_eq(cr_rule_line(rs, v.rule), 3);
	struct cr_lookup lq = { .name = "x.internal", .comm = "x" };
	cr_decide_lookup(rs, &lq, &v); /* attempt 1: after = 1 holds it back */
	ck_assert_int_eq(v.action, CR_ACT_PASS);
	cr_decide_lookup(rs, &lq, &v);
	ck_assert_str_eq(cr_rule_name(rs, v.rule), "dns");
	cr_ruleset_free(rs);
	cr_ruleset_free(text);
	cr_image_release(img, len);
}
END_TEST

/* A reload keeps the counters of the rules it leaves unchanged, shared:
 * an attempt on the old set after the swap still counts once. */
START_TEST(reload_carries_counters)
{
	char err[512];
	struct cr_ruleset *old = cr_config_load_string(rich, "t.cfg", err, sizeof err);
	ck_assert_msg(old != NULL, "%s", err);
	struct cr_dest d = { .family = CR_FAM_INET, .addr = { 1, 2, 3, 4 }, .port = 80 };
	struct cr_query q = { .dest = &d, .comm = "x", .host = "db.test", .sotype = 1 };
	struct cr_verdict v;
	cr_decide(old, &q, &v); /* "names": attempt 1 of first = 3 */
	ck_assert_str_eq(cr_rule_name(old, v.rule), "names");
	char *changed = strdup(rich);
	memcpy(strstr(changed, "\"v6\""), "\"V6\"", 4); /* another rule changes; "names" does not */
	struct cr_ruleset *fresh = cr_config_load_string(changed, "t.cfg", err, sizeof err);
	ck_assert_msg(fresh != NULL, "%s", err);
	ck_assert_int_eq(cr_ruleset_adopt_state(fresh, old), 0);
	cr_decide(old, &q, &v);   /* attempt 2, on the old set */
	cr_decide(fresh, &q, &v); /* attempt 3 */
	ck_assert_str_eq(cr_rule_name(fresh, v.rule), "names");
	ck_assert_uint_eq(v.attempt, 3);
	cr_decide(fresh, &q, &v); /* attempt 4: first = 3 is over */
	ck_assert_ptr_null(v.rule);
	cr_ruleset_free(old); /* its states live on in fresh */
	cr_decide(fresh, &q, &v);
	ck_assert_ptr_null(v.rule);
	cr_ruleset_free(fresh);
	free(changed);
}
END_TEST

/* Opens bytes as an image: 0 when refused with a message naming it, 1
 * when opened (then exercised: back to a draft, printed, decided). */
static int try_open(const void *bytes, size_t len)
{
	void *copy = aligned_alloc(64, len ? (len + 63) / 64 * 64 : 64);
	memcpy(copy, bytes, len);
	char err[512] = "";
	struct cr_ruleset *rs = cr_image_open(copy, len, CR_IMAGE_BORROWED, "bad.compiled", err, sizeof err);
	int opened = rs != NULL;
	if (rs) {
		fuzz_exercise(rs);
		cr_ruleset_free(rs);
	} else {
		ck_assert_msg(strncmp(err, "bad.compiled: ", 14) == 0, "%s", err);
	}
	free(copy);
	return opened;
}

static void reseal(char *img)
{
	struct cr_image_header *h = (struct cr_image_header *)img;
	h->table_sum = cr_image_hash(img + sizeof *h, h->nsections * sizeof(struct cr_image_section), h->file_size);
}

/* A copy of img as an older format wrote it: without the section that
 * format did not have, marked with its version, resealed. */
static char *older_format(const char *img, size_t len, uint32_t section, uint32_t version)
{
	char *old = malloc(len);
	memcpy(old, img, len);
	struct cr_image_header *h = (struct cr_image_header *)old;
	struct cr_image_section *t = (struct cr_image_section *)(old + sizeof *h);
	unsigned at = UINT32_MAX;
	for (unsigned i = 0; i < h->nsections; i++)
		if (t[i].id == section)
			at = i;
	ck_assert_uint_ne(at, UINT32_MAX);
	t[at] = t[h->nsections - 1];
	h->nsections--;
	h->version = version;
	reseal(old);
	return old;
}

START_TEST(corrupt_header_and_table_refused)
{
	size_t len;
	char *img = image_of(rich, &len), *bad = malloc(len);
	struct cr_image_header *h = (struct cr_image_header *)bad;
	struct cr_image_section *t = (struct cr_image_section *)(bad + sizeof *h);
	unsigned refused = 0, cases = 0;
	ck_assert_int_eq(try_open(img, len), 1);
	/* Truncated: at every section boundary, and inside the header and table. */
	const struct cr_image_section *st = (const struct cr_image_section *)(img + sizeof *h);
	unsigned nsec = ((struct cr_image_header *)img)->nsections;
	for (unsigned i = 0; i < nsec; i++) {
		size_t cuts[] = { st[i].offset, st[i].offset + st[i].size, st[i].offset + st[i].size / 2 };
		for (unsigned k = 0; k < 3; k++)
			if (cuts[k] < len) {
				cases++;
				refused += !try_open(img, cuts[k]);
			}
	}
	for (size_t cut = 0; cut < sizeof *h + nsec * sizeof *st; cut += 7) {
		cases++;
		refused += !try_open(img, cut);
	}
	/* Each header field wrong. */
	for (int field = 0; field < 6; field++) {
		memcpy(bad, img, len);
		switch (field) {
		case 0:
			h->magic[3] ^= 1;
			break;
		case 1:
			h->version++;
			break;
		case 2:
			h->layout ^= 0x01000000;
			break;
		case 3:
			h->file_size--;
			break;
		case 4:
			h->nsections = 1000;
			break;
		case 5:
			h->table_sum ^= 1;
			break;
		}
		cases++;
		refused += !try_open(bad, len);
	}
	/* Each field of each section entry wrong, the table's checksum made
	 * right again: the checks themselves must catch it. */
	for (unsigned i = 0; i < nsec; i++)
		for (int field = 0; field < 8; field++) {
			memcpy(bad, img, len);
			switch (field) {
			case 0:
				t[i].id = 0;
				break;
			case 1:
				t[i].id = 999;
				break;
			case 2:
				t[i].id = t[(i + 1) % nsec].id;
				break;
			case 3:
				t[i].elem_size++;
				break;
			case 4:
				t[i].offset = len;
				t[i].size = 64;
				break;
			case 5:
				t[i].offset += 8;
				break;
			case 6:
				t[i].size = len;
				break;
			case 7:
				t[i].offset = UINT64_MAX - 63;
				break;
			}
			reseal(bad);
			cases++;
			refused += !try_open(bad, len);
		}
	ck_assert_uint_eq(refused, cases);
	/* Each section cut to half its records (resealed): refused, or read
	 * safely (the sanitizer run checks); an index table whose size the
	 * index fixes must be refused. */
	for (unsigned i = 0; i < nsec; i++) {
		memcpy(bad, img, len);
		t[i].size = t[i].size / t[i].elem_size / 2 * t[i].elem_size;
		reseal(bad);
		int opened = try_open(bad, len);
		unsigned id = st[i].id;
		if (id == CR_SEC_IX_PATHS || id == CR_SEC_IX_PATH_TAGS || id == CR_SEC_IX_V4 || id == CR_SEC_IX_V6)
			ck_assert_msg(!opened, "section %u cut to half, yet opened", id);
	}
	/* A section left out (the table shortened, resealed) is read as empty
	 * or refused: never read. */
	for (unsigned i = 0; i < nsec; i++) {
		memcpy(bad, img, len);
		t[i] = t[nsec - 1];
		h->nsections = nsec - 1;
		reseal(bad);
		try_open(bad, len);
	}
	free(bad);
	cr_image_release(img, len);
}
END_TEST

/* Format 1 (before the path tags) is still read, and decides as format 2:
 * the same image without its tags section, marked format 1, against a
 * thousand unix destinations, most of whose folders some rule names. */
START_TEST(format_1_decides_alike)
{
	char *text = NULL;
	size_t tlen;
	FILE *f = open_memstream(&text, &tlen);
	fprintf(f, "version = 1;\nrules = (\n");
	for (unsigned i = 0; i < 600; i++)
		fprintf(f, "%s{ name = \"p%u\"; path = \"/run/s%u/%s\"; action = \"refuse\"; }", i ? ",\n" : "", i, i,
			i % 3   ? "*.sock"
			: i % 2 ? "x"
				: "*");
	fprintf(f, "\n);\n");
	fclose(f);
	size_t len;
	char *img = image_of(text, &len), *old = older_format(img, len, CR_SEC_IX_PATH_TAGS, 1);
	char err[512];
	struct cr_ruleset *v2 = cr_image_open(img, len, CR_IMAGE_BORROWED, "t.compiled", err, sizeof err);
	ck_assert_msg(v2 != NULL, "%s", err);
	struct cr_ruleset *v1 = cr_image_open(old, len, CR_IMAGE_BORROWED, "t.compiled", err, sizeof err);
	ck_assert_msg(v1 != NULL, "%s", err);
	unsigned matched = 0;
	for (unsigned i = 0; i < 1000; i++) {
		struct cr_dest d = { .family = CR_FAM_UNIX };
		d.path_len = (uint16_t)snprintf(d.path, sizeof d.path, "/run/s%u/%s", i, i % 4 ? "a.sock" : "x");
		struct cr_query q = { .dest = &d, .comm = "x" };
		struct cr_verdict a, b;
		cr_decide_peek(v1, &q, &a);
		cr_decide_peek(v2, &q, &b);
		ck_assert_msg((a.rule ? a.rule - v1->rules : -1) == (b.rule ? b.rule - v2->rules : -1), "%s", d.path);
		matched += b.rule != NULL;
	}
	ck_assert_uint_gt(matched, 300);
	cr_ruleset_free(v1);
	cr_ruleset_free(v2);
	free(old);
	cr_image_release(img, len);
	free(text);
}
END_TEST

/* Format 3 (before the shaping) is still read: the same image without its
 * shapes section, marked format 3, decides its faults as before, and its
 * pass rules pass unrelayed (they had no shaping to lose). */
START_TEST(format_3_read_without_shapes)
{
	size_t len;
	char *img = image_of("version = 1;\nrules = (\n"
			     "  { name = \"cut\"; port = 80; action = \"reset\"; after_bytes = 9; latency_ms = 5; },\n"
			     "  { name = \"p\"; port = 81; action = \"pass\"; }\n);\n",
			     &len),
	     *old = older_format(img, len, CR_SEC_SHAPES, 3);
	char err[512];
	struct cr_ruleset *v4 = cr_image_open(img, len, CR_IMAGE_BORROWED, "t.compiled", err, sizeof err);
	ck_assert_msg(v4 != NULL, "%s", err);
	struct cr_ruleset *v3 = cr_image_open(old, len, CR_IMAGE_BORROWED, "t.compiled", err, sizeof err);
	ck_assert_msg(v3 != NULL, "%s", err);
	struct cr_verdict a, b;
	cr_verdict_of(v4, cr_ruleset_rule(v4, 0), &a);
	cr_verdict_of(v3, cr_ruleset_rule(v3, 0), &b);
	ck_assert(a.relay && b.relay && a.fault.after_bytes == 9 && b.fault.after_bytes == 9);
	ck_assert(a.shape.latency_ms == 5 && !cr_shape_any(&b.shape));
	cr_verdict_of(v3, cr_ruleset_rule(v3, 1), &b);
	ck_assert(b.action == CR_ACT_PASS && !b.relay);
	cr_ruleset_free(v3);
	cr_ruleset_free(v4);
	free(old);
	cr_image_release(img, len);
}
END_TEST

/* The body is not checksummed at load (that would touch every page): any
 * byte may change, and any word may point anywhere; the rules change, the
 * reads stay inside. `check` finds the change. */
START_TEST(corrupt_body_read_safely)
{
	size_t len;
	char *img = image_of(rich, &len), *bad = malloc(len);
	const struct cr_image_header *h = (const void *)img;
	size_t body = sizeof *h + h->nsections * sizeof(struct cr_image_section);
	unsigned opened = 0, cases = 0;
	for (size_t at = body; at < len; at++) {
		memcpy(bad, img, len);
		bad[at] ^= 0x5a;
		cases++;
		opened += try_open(bad, len);
	}
	static const uint32_t words[] = { UINT32_MAX, 0x7fffffff, 0x80000000, 1u << 20, 0 };
	for (size_t at = body; at + 4 <= len; at += 4)
		for (unsigned w = 0; w < sizeof words / sizeof words[0]; w++) {
			memcpy(bad, img, len);
			memcpy(bad + at, &words[w], 4);
			cases++;
			opened += try_open(bad, len);
		}
	/* Some changes are refused (the strings section's last byte, the index's
	 * counts); most open, and must have been read safely to get here. */
	ck_assert_uint_gt(opened, cases / 2);
	memcpy(bad, img, len);
	bad[len - 1] ^= 1;
	char err[512];
	struct cr_ruleset *rs = cr_image_open(bad, len, CR_IMAGE_BORROWED, "bad.compiled", err, sizeof err);
	if (rs) {
		ck_assert_int_eq(cr_image_verify(rs, err, sizeof err), -1);
		ck_assert_msg(strstr(err, "checksum") != NULL, "%s", err);
		cr_ruleset_free(rs);
	}
	free(bad);
	cr_image_release(img, len);
}
END_TEST

Suite *image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("image");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, image_decides_as_its_text);
	tcase_add_test(tc, reload_carries_counters);
	tcase_add_test(tc, corrupt_header_and_table_refused);
	tcase_add_test(tc, corrupt_body_read_safely);
	tcase_add_test(tc, format_1_decides_alike);
	tcase_add_test(tc, format_3_read_without_shapes);
	suite_add_tcase(s, tc);
	return s;
}
