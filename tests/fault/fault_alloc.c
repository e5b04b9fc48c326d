/* fault_alloc DIR: every allocation the project's own code makes while it
 * loads a rule set, and while it reloads one into the rule set in force,
 * failed in turn (N = 1, 2, ... until a run makes fewer than N). Built
 * with tests/fault/alloc_fail.h forced into the engine and current.c.
 *
 * A load must end in the whole rule set or in a config error; a reload in
 * the old rules or the new ones, never a mix; no crash (each reload runs in
 * a child, and a child that dies is counted). Prints the counts; exit 1 on
 * any breach. */
#define _GNU_SOURCE
#include "engine/config.h"
#include "preload/current.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

unsigned long cr_fault_at, cr_fault_count;

/* Rules that reach every allocation of a load: prefixes of both families
 * (the index), host names, paths (exact and folder keys), port lists,
 * process globs, schedules, a log file. */
static const char old_rules[] =
	"version = 1; seed = 7;\n"
	"log: { syslog = false; level = \"all\"; file = \"/dev/null\"; ident = \"fault\"; };\n"
	"rules = (\n"
	"  { name = \"keep\"; dst = [\"10.0.0.0/8\", \"10.1.0.0/16\", \"fd00::/8\"]; port = (80, \"8000-8100\"); action = \"refuse\"; first = 3; },\n"
	"  { name = \"hosts\"; dst = [\"db.internal\", \"*.example.com\"]; action = \"fail\"; errno = \"ETIMEDOUT\"; },\n"
	"  { name = \"sockets\"; path = [\"/run/x.sock\", \"/run/*.sock\", \"@abstract\"]; action = \"refuse\"; process = \"py*\"; },\n"
	"  { name = \"slow\"; dst = \"*\"; port = 6379; action = \"pass\"; delay_ms = 5; window = { start_s = 0; duration_s = 9; }; },\n"
	"  { dst = \"192.0.2.1\"; action = \"log\"; probability = 0.5; }\n"
	");\n";
static const char new_rules[] =
	"version = 1; seed = 7;\n"
	"log: { syslog = false; level = \"all\"; file = \"/dev/null\"; ident = \"fault\"; };\n"
	"rules = (\n"
	"  { name = \"keep\"; dst = [\"10.0.0.0/8\", \"10.1.0.0/16\", \"fd00::/8\"]; port = (80, \"8000-8100\"); action = \"refuse\"; first = 3; },\n"
	"  { name = \"new\"; dst = [\"172.16.0.0/12\", \"2001:db8::/32\", \"api.test\"]; action = \"refuse\"; every = 2; },\n"
	"  { name = \"sockets\"; path = [\"/var/run/*.sock\", \"@other\"]; action = \"fail\"; errno = \"EACCES\"; }\n"
	");\n";

static char path[512];

static void put_file(const char *text)
{
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		perror(tmp);
		exit(2);
	}
}

/* The rule set as `check` prints it (the driver's own allocations are not
 * counted: this file is built without the wrapper). */
static char *printed(const struct cr_ruleset *rs)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	unsigned long at = cr_fault_at;
	cr_fault_at = 0;
	struct cr_draft *d = cr_ruleset_to_draft(rs);
	cr_config_print(d, f);
	cr_draft_free(d);
	fclose(f);
	cr_fault_at = at;
	return text;
}

static char *expected(const char *text)
{
	char err[1024];
	put_file(text);
	struct cr_ruleset *rs = cr_config_load(path, err, sizeof err);
	if (!rs) {
		fprintf(stderr, "the test's own rules do not load: %s\n", err);
		exit(2);
	}
	char *p = printed(rs);
	cr_ruleset_free(rs);
	return p;
}

/* Loads, failing allocation n. 0: the rules whole, 1: a config error,
 * 2: no allocation n was made, -1: a breach. */
static int load_failing(unsigned long n, const char *want, char *err, size_t errsize)
{
	cr_fault_count = 0;
	cr_fault_at = n;
	struct cr_ruleset *rs = cr_config_load(path, err, errsize);
	cr_fault_at = 0;
	bool hit = cr_fault_count >= n;
	int outcome = rs ? 0 : 1;
	if (rs) {
		char *p = printed(rs);
		if (strcmp(p, want) != 0)
			outcome = -1;
		free(p);
		cr_ruleset_free(rs);
	} else if (!*err) {
		outcome = -1;
	}
	return hit ? outcome : 2;
}

/* In a child: the old rules in force, the new file in place, a reload
 * with allocation n failing. Exit 10: the old rules stay, 11: the new are
 * in force, 12: no allocation n was made, 3: a mix. */
static void reload_failing(unsigned long n, const char *want_old, const char *want_new)
{
	char err[1024];
	put_file(old_rules);
	struct cr_ruleset *rs = cr_config_load(path, err, sizeof err);
	if (!rs)
		_exit(2);
	cr_current_start(rs, path, NULL, false, true);
	put_file(new_rules);
	cr_fault_count = 0;
	cr_fault_at = n;
	cr_current_reload_now();
	cr_fault_at = 0;
	bool hit = cr_fault_count >= n;
	struct cr_reader r;
	const struct cr_ruleset *cur = cr_current_enter(&r);
	char *p = printed(cur);
	cr_current_leave(&r);
	if (!hit)
		_exit(12);
	_exit(strcmp(p, want_old) == 0 ? 10 : strcmp(p, want_new) == 0 ? 11 : 3);
}

int main(int argc, char **argv)
{
	snprintf(path, sizeof path, "%s/rules.cfg", argc > 1 ? argv[1] : "/tmp");
	char *want_old = expected(old_rules), *want_new = expected(new_rules);
	char err[1024];
	unsigned long n, refused = 0, loaded = 0, kept = 0, swapped = 0, breaches = 0, crashes = 0;
	for (n = 1;; n++) {
		err[0] = '\0';
		int rc = load_failing(n, want_new, err, sizeof err);
		if (rc == 2)
			break;
		if (rc < 0) {
			printf("breach: load with allocation %lu failed: %s\n", n,
			       *err ? "a mix of rules" : "no message");
			breaches++;
		}
		rc == 0 ? loaded++ : refused++;
		if (n == 1)
			printf("e.g. allocation 1 failed: %s\n", err);
	}
	unsigned long nload = n - 1;
	for (n = 1;; n++) {
		pid_t pid = fork();
		if (pid == 0)
			reload_failing(n, want_old, want_new);
		int status;
		waitpid(pid, &status, 0);
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (code == 12)
			break;
		if (code == 10)
			kept++;
		else if (code == 11)
			swapped++;
		else if (code == 3)
			breaches++,
				printf("breach: reload with allocation %lu failed: a mix of old and new rules\n", n);
		else
			crashes++, printf("crash: reload with allocation %lu failed: %s %d\n", n,
					  WIFSIGNALED(status) ? "signal" : "exit",
					  WIFSIGNALED(status) ? WTERMSIG(status) : code);
	}
	unsigned long nreload = n - 1;
	printf("load: %lu allocations failed in turn: %lu config errors, %lu loaded whole\n", nload, refused, loaded);
	printf("reload: %lu allocations failed in turn: old rules kept %lu, new rules in force %lu\n", nreload, kept,
	       swapped);
	printf("breaches %lu, crashes %lu\n", breaches, crashes);
	free(want_old);
	free(want_new);
	unlink(path);
	return breaches || crashes || nload < 10 || nreload < 10 ? 1 : 0;
}
