#define _GNU_SOURCE
#include "suites.h"
#include "engine/config.h"
#include "engine/decide.h"
#include "engine/image.h"
#include "engine/outcome.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static char err[1024];

static struct cr_ruleset *load(const char *text)
{
	err[0] = '\0';
	return cr_config_load_string(text, "t.cfg", err, sizeof err);
}

/* The text must fail to load with a message that starts with where and
 * contains what. */
static void expect_error(const char *text, const char *where, const char *what)
{
	struct cr_ruleset *rs = load(text);
	ck_assert_msg(rs == NULL, "loaded, but expected an error: %s", text);
	ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "message '%s' should start with '%s'", err, where);
	ck_assert_msg(strstr(err, what) != NULL, "message '%s' should contain '%s'", err, what);
}

static const char spec_example[] =
	"version = 1;\n"
	"seed = 42;\n"
	"default_action = \"pass\";\n"
	"log: {\n"
	"  syslog   = true;\n"
	"  ident    = \"connrefuse\";\n"
	"  facility = \"local3\";\n"
	"  stderr   = false;\n"
	"  file     = \"\";\n"
	"  level    = \"failures\";\n"
	"  rate     = 100;\n"
	"};\n"
	"rules = (\n"
	"  { name = \"db-down\";    dst = \"10.0.0.0/8\";        port = 5432;          action = \"refuse\"; },\n"
	"  { name = \"flaky-api\";  dst = \"api.example.com\";   port = \"443\";         action = \"refuse\"; probability = 0.3; },\n"
	"  { name = \"retry-test\"; dst = [\"127.0.0.1\", \"::1\"]; port = \"8080-8090\";  action = \"refuse\"; first = 3; },\n"
	"  { name = \"slow-cache\"; dst = \"*\";                 port = 6379;          action = \"pass\"; delay_ms = 250; },\n"
	"  { name = \"unreach\";    dst = \"192.0.2.0/24\";                            action = \"fail\"; errno = \"EHOSTUNREACH\"; },\n"
	"  { name = \"docker\";     path = \"/var/run/docker.sock\";                   action = \"fail\"; errno = \"EACCES\"; },\n"
	"  { name = \"audit-web\";  dst = \"*\";                 port = [80, 443];     action = \"log\"; }\n"
	");\n";

START_TEST(spec_example_loads)
{
	struct cr_ruleset *rs = load(spec_example);
	ck_assert_msg(rs != NULL, "%s", err);
	ck_assert_int_eq(rs->nrules, 7);
	ck_assert(rs->seeded);
	ck_assert_uint_eq(rs->seed, 42);
	ck_assert_int_eq(rs->log.facility, LOG_LOCAL3);
	ck_assert_uint_eq(rs->log.rate, 100);
	ck_assert_str_eq(rs->log.file, "");

	/* The rules as a draft again, from the image: what was parsed, kept. */
	struct cr_draft *d = cr_ruleset_to_draft(rs);
	ck_assert_ptr_nonnull(d);
	const struct cr_draft_rule *r = &d->rules[0];
	ck_assert_str_eq(r->name, "db-down");
	ck_assert_uint_eq(r->line, 14);
	ck_assert_int_eq(r->nprefixes, 1);
	ck_assert_int_eq(r->nports, 1);
	ck_assert_int_eq(r->ports[0].lo, 5432);
	ck_assert_int_eq(r->action, CR_ACT_REFUSE);

	r = &d->rules[1];
	ck_assert_int_eq(r->nhosts, 1);
	ck_assert_str_eq(r->hosts[0], "api.example.com");
	ck_assert(r->has_probability);
	ck_assert_double_eq_tol(r->probability, 0.3, 1e-12);

	r = &d->rules[2];
	ck_assert_int_eq(r->nprefixes, 2);
	ck_assert_int_eq(r->ports[0].lo, 8080);
	ck_assert_int_eq(r->ports[0].hi, 8090);
	ck_assert_uint_eq(r->first, 3);

	ck_assert(d->rules[3].dst_any);
	ck_assert_uint_eq(d->rules[3].delay_ms, 250);
	ck_assert_int_eq(d->rules[4].err, EHOSTUNREACH);
	ck_assert_int_eq(d->rules[5].npaths, 1);
	ck_assert_int_eq(d->rules[5].err, EACCES);
	ck_assert_int_eq(d->rules[6].action, CR_ACT_LOG);
	ck_assert_int_eq(d->rules[6].level, CR_LEVEL_ALL); /* action log = pass + log all */
	ck_assert_int_eq(d->rules[6].nports, 2);
	cr_draft_free(d);
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(defaults)
{
	struct cr_ruleset *rs = load("version = 1;");
	ck_assert_msg(rs != NULL, "%s", err);
	ck_assert_int_eq(rs->nrules, 0);
	ck_assert_int_eq(rs->default_action, CR_ACT_PASS);
	ck_assert(rs->log.syslog);
	ck_assert_str_eq(rs->log.ident, "connrefuse");
	ck_assert_int_eq(rs->log.facility, LOG_USER);
	ck_assert_int_eq(rs->log.level, CR_LEVEL_FAILURES);
	ck_assert_uint_eq(rs->log.rate, 100);
	ck_assert(!rs->seeded);
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(valid_forms)
{
	struct cr_ruleset *rs = load(
		"version = 1; dry_run = true; default_action = \"refuse\";\n"
		"rules = (\n"
		"  { dst = \"fd00::/8\"; port = (22, \"8000-8100\"); proto = \"tcp\"; action = \"refuse\"; },\n"
		"  { path = [\"/run/*.sock\", \"@abstract\"]; process = \"/usr/bin/*\"; action = \"pass\"; log = \"none\"; },\n"
		"  { dst = \"*.Example.COM.\"; action = \"fail\"; errno = \"ETIMEDOUT\"; dry_run = false;\n"
		"    window = { start_s = 5; duration_s = 10.5; }; flap = { up_s = 2.0; down_s = 1; };\n"
		"    every = 2; after = 1; probability = 1; },\n"
		"  { action = \"refuse\"; proto = [\"udp\", \"unix\"]; }\n"
		");");
	ck_assert_msg(rs != NULL, "%s", err);
	ck_assert(rs->dry_run);
	ck_assert_int_eq(rs->default_action, CR_ACT_REFUSE);
	ck_assert(rs->needs_sotype);
	ck_assert(rs->needs_clock);
	struct cr_draft *d = cr_ruleset_to_draft(rs);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->rules[0].name, "#1");
	ck_assert_int_eq(d->rules[0].nports, 2);
	ck_assert_int_eq(d->rules[0].proto_mask, CR_PROTO_TCP);
	ck_assert_int_eq(d->rules[1].npaths, 2);
	ck_assert_str_eq(d->rules[1].process, "/usr/bin/*");
	ck_assert_int_eq(d->rules[1].level, CR_LEVEL_NONE);
	ck_assert_str_eq(d->rules[2].hosts[0], "*.example.com");
	ck_assert_int_eq(d->rules[2].dry_run, 0);
	ck_assert_double_eq_tol(d->rules[2].window_duration, 10.5, 1e-12);
	ck_assert_uint_eq(d->rules[2].every, 2);
	ck_assert_int_eq(d->rules[3].proto_mask, CR_PROTO_UDP | CR_PROTO_UNIX);
	cr_draft_free(d);
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(print_round_trips)
{
	struct cr_ruleset *rs = load(spec_example);
	ck_assert_msg(rs != NULL, "%s", err);
	char *a = NULL, *b = NULL;
	size_t alen, blen;
	struct cr_draft *d1 = cr_ruleset_to_draft(rs);
	FILE *f = open_memstream(&a, &alen);
	cr_config_print(d1, f);
	fclose(f);
	struct cr_ruleset *again = cr_config_load_string(a, "t.cfg", err, sizeof err);
	ck_assert_msg(again != NULL, "printed config does not load: %s\n%s", err, a);
	struct cr_draft *d2 = cr_ruleset_to_draft(again);
	f = open_memstream(&b, &blen);
	cr_config_print(d2, f);
	fclose(f);
	cr_draft_free(d1);
	cr_draft_free(d2);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	cr_ruleset_free(rs);
	cr_ruleset_free(again);
}
END_TEST

START_TEST(syntax_errors)
{
	expect_error("version = 1;\nrules = ( { name = \"x\"; ] );\n", "t.cfg:2:", "syntax error");
	expect_error("version = 1;\n\nseed = ;\n", "t.cfg:3:", "syntax error");
	expect_error("version = 1;\nversion = 1;\n", "t.cfg:2:", "duplicate");
	/* libconfig's "syntax error", explained, within one line as across two. */
	expect_error("version = 1;\nrules = ( { action = \"pass\"; }, );\n",
		     "t.cfg:2:", "after the last element of a list");
	expect_error("version = 1;\nrules = ( { action = \"pass\"; },\n);\n",
		     "t.cfg:3:", "after the last element of a list");
	expect_error("version = 1;\nrules = ( { action = \"pass\"; } { action = \"pass\"; } );\n",
		     "t.cfg:2:", "a ',' is missing between this group and the one before");
	expect_error("version = 1;\nrules = ( { name = \"},{\"; action = \"pass\" ] );\n", "t.cfg:2:", "syntax error");
}
END_TEST

START_TEST(unknown_keys)
{
	expect_error("version = 1;\nfoo = 1;\n", "t.cfg:2:", "unknown key 'foo'");
	expect_error("version = 1;\nlog: {\n  level = \"all\";\n  colour = true;\n};\n",
		     "t.cfg:4:", "unknown key 'log.colour'");
	expect_error("version = 1;\nrules = (\n  { name = \"a\";\n    prot = \"tcp\"; action = \"refuse\"; }\n);\n",
		     "t.cfg:4:", "rule \"a\": unknown key 'prot'");
	expect_error("version = 1;\nrules = ({ action = \"refuse\"; window = { start = 1; duration_s = 2; }; });\n",
		     "t.cfg:2:", "unknown key 'start'");
}
END_TEST

START_TEST(bad_values)
{
	expect_error("version = 2;", "t.cfg:1:", "version 2 is not supported");
	expect_error("seed = 1;", "t.cfg:", "no 'version = 1;'");
	expect_error("version = 1;\nseed = \"x\";", "t.cfg:2:", "'seed' must be an integer");
	expect_error("version = 1;\ndefault_action = \"explode\";", "t.cfg:2:", "\"explode\"");
	expect_error("version = 1;\ndefault_action = \"fail\";", "t.cfg:2:", "no errno");
	expect_error("version = 1;\nlog: { level = \"loud\"; };", "t.cfg:2:", "\"none\", \"failures\" or \"all\"");
	expect_error("version = 1;\nlog: { facility = \"kern\"; };", "t.cfg:2:", "local0 .. local7");
	expect_error("version = 1;\nlog: { rate = -1; };", "t.cfg:2:", "'rate' must be between");
	expect_error("version = 1;\nlog: { syslog = 1; };", "t.cfg:2:", "true or false");
	expect_error("version = 1;\nrules = { };", "t.cfg:2:", "rules must be a list");
	expect_error("version = 1;\nrules = ( \"x\" );", "t.cfg:2:", "must be a group");
}
END_TEST

START_TEST(bad_rule_values)
{
	const struct {
		const char *rule, *what;
	} cases[] = {
		{ "action = \"explode\";", "\"explode\"" },
		{ "dst = \"1.2.3.4\";", "has no action" },
		{ "action = \"refuse\"; dst = \"10.1.2.3/8\";", "host bits" },
		{ "action = \"refuse\"; dst = \"10.0.0.0/33\";", "prefix length" },
		{ "action = \"refuse\"; dst = \"10.0.0.256\";", "not a valid IPv4 or IPv6 address" },
		{ "action = \"refuse\"; dst = \"bad name!\";", "neither an address" },
		{ "action = \"refuse\"; dst = [];", "empty list" },
		{ "action = \"refuse\"; dst = 5;", "dst must be a string" },
		{ "action = \"refuse\"; port = 70000;", "out of range" },
		{ "action = \"refuse\"; port = \"9-1\";", "backwards" },
		{ "action = \"refuse\"; port = \"http\";", "must be a number or a range" },
		{ "action = \"refuse\"; port = 1.5;", "port must be a number" },
		{ "action = \"refuse\"; proto = \"sctp\";", "proto \"sctp\"" },
		{ "action = \"refuse\"; path = \"relative.sock\";", "must be absolute" },
		{ "action = \"refuse\"; path = \"/run/[x\";", "without its closing" },
		{ "action = \"refuse\"; dst = \"*\"; path = \"/x\";", "both dst and path" },
		{ "action = \"fail\";", "needs an errno" },
		{ "action = \"fail\"; errno = \"EFOO\";", "errno \"EFOO\" is not an errno name" },
		{ "action = \"fail\"; errno = \"ENOMEM\";", "errno \"ENOMEM\" cannot be simulated" },
		{ "action = \"refuse\"; errno = \"ETIMEDOUT\";", "errno goes with action = \"fail\"" },
		{ "action = \"refuse\"; probability = 1.5;", "between 0.0 and 1.0" },
		{ "action = \"refuse\"; first = 0;", "'first' must be between 1" },
		{ "action = \"refuse\"; every = \"2\";", "'every' must be an integer" },
		{ "action = \"refuse\"; delay_ms = -1;", "'delay_ms' must be between" },
		{ "action = \"refuse\"; window = { start_s = 1; };", "needs both" },
		{ "action = \"refuse\"; window = 3;", "window must be a group" },
		{ "action = \"refuse\"; flap = { up_s = 1; down_s = 0; };", "down_s > 0" },
		{ "action = \"refuse\"; log = \"loud\";", "\"none\", \"failures\" or \"all\"" },
		{ "action = \"refuse\"; name = \"\";", "name is empty" },
		{ "action = \"refuse\"; process = \"\";", "process is empty" },
		{ "host = \"db.internal\"; action = \"refuse\";",
		  "a host rule takes action \"pass\", \"log\" or \"fail\"" },
		{ "host = \"db.internal\"; action = \"drop\";", "a host rule takes action" },
		{ "host = \"db.internal\"; dst = \"10.0.0.1\"; action = \"fail\"; errno = \"EAI_NONAME\";",
		  "it has host and dst" },
		{ "host = \"db.internal\"; port = 5432; action = \"pass\";", "it has host and port" },
		{ "host = \"db.internal\"; action = \"fail\"; errno = \"ECONNREFUSED\";",
		  "errno \"ECONNREFUSED\" is not a resolver error" },
		{ "host = \"db.internal\"; action = \"fail\";", "needs an errno, e.g. errno = \"EAI_NONAME\"" },
		{ "dst = \"db.internal\"; action = \"fail\"; errno = \"EAI_NONAME\";",
		  "is a resolver error: it goes with host" },
		{ "host = \"10.0.0.1\"; action = \"pass\";", "is an address" },
		{ "host = \"bad name!\"; action = \"pass\";", "neither a host name" },
		{ "host = 5; action = \"pass\";", "host must be a string" },
		{ "host = \"x.test\"; action = \"fail\"; errno = \"EAI_NONAM\";", "did you mean \"EAI_NONAME\"" },
		{ "host = \"x.test\"; action = \"fail\"; errno = \"EAI_SERVICE\";", "cannot be simulated" },
	};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[512];
		snprintf(text, sizeof text, "version = 1;\nrules = (\n  { %s }\n);\n", cases[i].rule);
		expect_error(text, "t.cfg:3:", cases[i].what);
	}
}
END_TEST

START_TEST(duplicate_names)
{
	expect_error("version = 1;\nrules = (\n { name = \"a\"; action = \"pass\"; },\n { name = \"a\"; action = \"pass\"; }\n);",
		     "t.cfg:4:", "used twice (first at line 3)");
}
END_TEST

START_TEST(file_errors)
{
	struct cr_ruleset *rs = cr_config_load("/nonexistent/connrefuse.cfg", err, sizeof err);
	ck_assert_ptr_null(rs);
	ck_assert_msg(strstr(err, "/nonexistent/connrefuse.cfg: cannot read the file") != NULL, "%s", err);

	char path[] = "/tmp/connrefuse-unit-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char text[] = "version = 1;\n\nrules = (\n  { action = \"refuse\"; dst = \"10.1.2.3/8\"; }\n);\n";
	ck_assert_int_eq(write(fd, text, sizeof text - 1), (int)sizeof text - 1);
	close(fd);
	rs = cr_config_load(path, err, sizeof err);
	ck_assert_ptr_null(rs);
	char where[64];
	snprintf(where, sizeof where, "%s:4:", path);
	ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "%s", err);
	unlink(path);
}
END_TEST

/* Faults after connect: their keys and relay.socket survive the printer
 * and the compiled image, and reach the verdict. */
static const char faults_text[] =
	"version = 1;\nrelay = { socket = \"/run/connrefuse/relay.sock\"; };\nrules = (\n"
	"  { name = \"cut\"; port = 80; action = \"reset\"; after_bytes = 100; direction = \"in\"; },\n"
	"  { name = \"eof\"; port = 81; action = \"close\"; after_ms = 50; },\n"
	"  { name = \"hang\"; port = 82; action = \"stall\"; direction = \"out\"; },\n"
	"  { name = \"dry\"; port = 83; action = \"reset\"; dry_run = true; },\n"
	"  { name = \"plain\"; port = 84; action = \"refuse\"; },\n"
	"  { name = \"slow\"; port = 85; action = \"pass\"; latency_ms = 50; jitter_ms = 10; direction = \"in\"; },\n"
	"  { name = \"thin\"; port = 86; action = \"stall\"; after_ms = 9; bandwidth = 1000; slice = 10; slice_ms = 2; },\n"
	"  { name = \"pass\"; port = 87; action = \"pass\"; },\n"
	"  { name = \"dryslow\"; port = 88; action = \"pass\"; latency_ms = 5; dry_run = true; }\n);\n";

static void check_fault_verdicts(const struct cr_ruleset *rs)
{
	struct cr_verdict v;
	cr_verdict_of(rs, cr_ruleset_rule(rs, 0), &v);
	ck_assert_int_eq(v.action, CR_ACT_RESET);
	ck_assert(v.relay && v.fault.has_after_bytes && !v.fault.has_after_ms);
	ck_assert_uint_eq(v.fault.after_bytes, 100);
	ck_assert_int_eq(v.fault.direction, CR_DIR_IN);
	ck_assert(!v.simulate && !v.drop);
	cr_verdict_of(rs, cr_ruleset_rule(rs, 1), &v);
	ck_assert_int_eq(v.action, CR_ACT_CLOSE);
	ck_assert(v.relay && v.fault.has_after_ms && v.fault.after_ms == 50 && v.fault.direction == CR_DIR_BOTH);
	cr_verdict_of(rs, cr_ruleset_rule(rs, 2), &v);
	ck_assert_int_eq(v.action, CR_ACT_STALL);
	ck_assert(v.relay && !v.fault.has_after_bytes && !v.fault.has_after_ms && v.fault.direction == CR_DIR_OUT);
	cr_verdict_of(rs, cr_ruleset_rule(rs, 3), &v);
	ck_assert(v.action == CR_ACT_RESET && !v.relay && v.dry_run);
	cr_verdict_of(rs, cr_ruleset_rule(rs, 4), &v);
	ck_assert(v.action == CR_ACT_REFUSE && !v.relay);
	/* A pass that shapes is relayed; a pass that does not, not. */
	cr_verdict_of(rs, cr_ruleset_rule(rs, 5), &v);
	ck_assert(v.action == CR_ACT_PASS && v.relay && v.fault.direction == CR_DIR_IN);
	ck_assert(v.shape.has_latency_ms && v.shape.latency_ms == 50 && v.shape.has_jitter_ms &&
		  v.shape.jitter_ms == 10);
	ck_assert(!v.shape.has_bandwidth && !v.shape.has_slice);
	cr_verdict_of(rs, cr_ruleset_rule(rs, 6), &v);
	ck_assert(v.action == CR_ACT_STALL && v.relay && v.fault.after_ms == 9 && !v.shape.has_latency_ms);
	ck_assert(v.shape.bandwidth == 1000 && v.shape.slice == 10 && v.shape.slice_ms == 2 && v.shape.has_slice_ms);
	cr_verdict_of(rs, cr_ruleset_rule(rs, 7), &v);
	ck_assert(v.action == CR_ACT_PASS && !v.relay && !cr_shape_any(&v.shape));
	ck_assert(!cr_verdict_dry_run(&v));
	/* A dry run does not shape, and logs what it would have done; as a
	 * reset's does. */
	cr_verdict_of(rs, cr_ruleset_rule(rs, 8), &v);
	ck_assert(v.action == CR_ACT_PASS && !v.relay && v.dry_run && cr_verdict_dry_run(&v));
	cr_verdict_of(rs, cr_ruleset_rule(rs, 3), &v);
	ck_assert(cr_verdict_dry_run(&v));
}

START_TEST(faults_round_trip)
{
	struct cr_ruleset *rs = load(faults_text);
	ck_assert_msg(rs != NULL, "%s", err);
	check_fault_verdicts(rs);
	char *a = cr_test_printed(rs);
	ck_assert_msg(strstr(a, "action = \"reset\"; direction = \"in\"; after_bytes = 100;") != NULL, "%s", a);
	ck_assert_msg(strstr(a, "action = \"close\"; after_ms = 50;") != NULL, "%s", a);
	ck_assert_msg(strstr(a, "\nrelay = { socket = \"/run/connrefuse/relay.sock\"; };\n") != NULL, "%s", a);
	/* Through the compiled form: the image built from the printed text. */
	struct cr_draft *d = cr_ruleset_to_draft(rs);
	size_t len;
	void *img = cr_image_build(d, 1, &len);
	cr_draft_free(d);
	ck_assert_ptr_nonnull(img);
	struct cr_ruleset *compiled = cr_image_open(img, len, CR_IMAGE_OWNED, "t.compiled", err, sizeof err);
	ck_assert_msg(compiled != NULL, "%s", err);
	check_fault_verdicts(compiled);
	ck_assert_str_eq(compiled->relay_socket, "/run/connrefuse/relay.sock");
	char *b = cr_test_printed(compiled);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	cr_ruleset_free(compiled);
	cr_ruleset_free(rs);
}
END_TEST

START_TEST(fault_errors)
{
	expect_error("version = 1;\nrules = ({ action = \"refuse\";\n after_bytes = 5; });\n",
		     "t.cfg:3:", "after_bytes goes with a fault after connect");
	expect_error("version = 1;\nrules = ({ action = \"pass\";\n direction = \"in\"; });\n",
		     "t.cfg:3:", "direction goes with a fault after connect");
	expect_error("version = 1;\nrules = ({ action = \"reset\"; after_bytes = 5; after_ms = 10; });\n",
		     "t.cfg:2:", "both after_bytes and after_ms");
	expect_error("version = 1;\nrules = ({ action = \"close\"; proto = \"udp\"; });\n",
		     "t.cfg:2:", "acts on TCP connections");
	expect_error("version = 1;\nrules = ({ action = \"stall\"; path = \"/run/*.sock\"; });\n",
		     "t.cfg:2:", "cannot go with path");
	expect_error("version = 1;\nrules = ({ action = \"stall\"; direction = \"up\"; });\n",
		     "t.cfg:2:", "direction \"up\"");
	expect_error("version = 1;\nrules = ({ action = \"reset\"; after_bytes = -1; });\n", "t.cfg:2:", "after_bytes");
	expect_error("version = 1;\nrules = ({ host = \"a.example\"; action = \"reset\"; });\n",
		     "t.cfg:2:", "a host rule takes action");
	expect_error("version = 1;\ndefault_action = \"reset\";\n", "t.cfg:2:", "is a fault after connect");
	expect_error("version = 1;\nrules = ({ action = \"sever\"; });\n",
		     "t.cfg:2:", "\"reset\", \"close\" or \"stall\"");
}
END_TEST

/* The man page's key list is held to the key table: every key the loader
 * takes is documented in its section of connrefuse.cfg(5). */
struct manpage {
	char *text;
	char missing[512];
};

static bool documented(const char *text, const char *const sections[], const char *name)
{
	char want[64], heading[64];
	snprintf(want, sizeof want, "\n.B %s", name);
	snprintf(heading, sizeof heading, "\n.SS %s\n", name);
	for (unsigned i = 0; sections[i]; i++) {
		const char *from = *sections[i] ? strstr(text, sections[i]) : text;
		if (!from)
			continue;
		const char *to = strstr(from + 1, "\n.SS ");
		const char *at = strstr(from, want);
		if (at && (!to || at < to) && strchr(" \n", at[strlen(want)]))
			return true;
	}
	return strcasestr(text, heading) != NULL;
}

static void check_key(const char *scope, const char *name, enum cr_key_type type, void *arg)
{
	(void)type;
	static const char *const top[] = { "", "\n.SS Top level\n", NULL }, *const log[] = { "\n.SS log\n", NULL },
				 *const relay[] = { "\n.SS relay\n", NULL },
				 *const rule[] = { "\n.SS Rules\n", "\n.SS Schedules\n", NULL };
	struct manpage *m = arg;
	const char *const *sections = strcmp(scope, "log") == 0     ? log
				      : strcmp(scope, "relay") == 0 ? relay
				      : strcmp(scope, "rule") == 0  ? rule
								    : top;
	if (!documented(m->text, sections, name))
		snprintf(m->missing + strlen(m->missing), sizeof m->missing - strlen(m->missing), " %s.%s", scope,
			 name);
}

START_TEST(man_page_lists_every_key)
{
	const char *path = getenv("CR_MANPAGE") ? getenv("CR_MANPAGE") : "doc/connrefuse.cfg.5";
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot read %s (run from the top of the tree)", path);
	struct manpage m = { .text = calloc(1, 1 << 20) };
	m.text[0] = '\n';
	size_t n = fread(m.text + 1, 1, (1 << 20) - 2, f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	cr_config_each_key(check_key, &m);
	ck_assert_msg(m.missing[0] == '\0', "keys the loader takes that %s does not document:%s", path, m.missing);
	free(m.text);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, spec_example_loads);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, valid_forms);
	tcase_add_test(tc, print_round_trips);
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, unknown_keys);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, bad_rule_values);
	tcase_add_test(tc, duplicate_names);
	tcase_add_test(tc, file_errors);
	tcase_add_test(tc, faults_round_trip);
	tcase_add_test(tc, fault_errors);
	tcase_add_test(tc, man_page_lists_every_key);
	suite_add_tcase(s, tc);
	return s;
}
