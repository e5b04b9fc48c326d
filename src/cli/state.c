/* connrefuse reload FILE [--reset] and connrefuse stats FILE [--json]: the shared
 * schedule state of a rules file (engine/shared.h) from outside the
 * programs; the run's state file that connrefuse run makes; what match
 * says of a rule's scope. */
#define _GNU_SOURCE
#include "cli.h"
#include "engine/clock.h"
#include "engine/config_file.h"
#include "engine/shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The state file of the rules at path, as the programs find it. */
static int file_state(const char *path, bool create, struct cr_shared *sh, char *err, size_t errsize)
{
	char abs[4096], state[4200];
	if (cr_config_absolute(path, abs, sizeof abs) != 0)
		snprintf(abs, sizeof abs, "%s", path);
	if (cr_shared_file_path(abs, cr_shared_runtime_dir(getenv("XDG_RUNTIME_DIR")), (unsigned)geteuid(), state,
				sizeof state) != 0) {
		snprintf(err, errsize, "%s: the path is too long", path);
		return -1;
	}
	return cr_shared_open(sh, state, create, err, errsize);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The identities of rs's scheduled rules, sorted (NULL when there are none
 * or memory is out). */
static uint64_t *identities(const struct cr_ruleset *rs)
{
	uint64_t *ids = calloc(rs->nscheds + 1, sizeof *ids);
	for (uint32_t s = 0; ids && s < rs->nscheds; s++) {
		int declared;
		ids[s] = cr_ruleset_sched_identity(rs, s, &declared);
	}
	if (ids)
		qsort(ids, rs->nscheds, sizeof *ids, cmp_u64);
	return ids;
}

int cr_cmd_reload(int argc, char **argv)
{
	const char *path = NULL;
	bool reset = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reset") == 0)
			reset = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return cr_help("reload");
		else if (argv[i][0] == '-' || path)
			return cr_usage_error("reload", "reload: unexpected '%s'", argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return cr_usage_error("reload", "%s", "reload takes one FILE");
	struct cr_rules rules = { 0 };
	if (cr_rules_load(path, CR_RULES_VERIFY, &rules) != 0)
		return 1; /* said why; the rules in force stay */
	char err[1200];
	struct cr_shared sh, run = { 0 };
	if (file_state(path, true, &sh, err, sizeof err) != 0) {
		fprintf(stderr, "connrefuse: reload: the shared state %s; programs see the change within a second\n",
			err);
		cr_rules_free(&rules);
		return 1;
	}
	/* Rules that left the file forget their counters: should they come
	 * back, they start again. The run's state is shared by every rules
	 * file of the run (a pytest-xdist worker's each): there only --reset
	 * touches counters, and only this file's. */
	uint64_t *ids = identities(rules.set);
	const char *run_path = getenv("CONNREFUSE_RUN_STATE");
	if (run_path && *run_path && cr_shared_open(&run, run_path, false, err, sizeof err) != 0)
		memset(&run, 0, sizeof run);
	if (ids) {
		cr_shared_forget_others(&sh, ids, rules.set->nscheds);
		if (reset) {
			cr_shared_reset(&sh, ids, rules.set->nscheds, cr_monotonic_now());
			if (run.head)
				cr_shared_reset(&run, ids, rules.set->nscheds, cr_monotonic_now());
		}
	}
	free(ids);
	cr_shared_bump(&sh);
	cr_shared_close(&sh);
	cr_shared_close(&run);
	cr_rules_free(&rules);
	return 0;
}

/* The scope a rule of rs counts in, here: its own, or the default. */
static int scope_here(const struct cr_ruleset *rs, uint32_t s)
{
	int declared;
	cr_ruleset_sched_identity(rs, s, &declared);
	if (declared != CR_SHARE_DEFAULT)
		return declared;
	const char *run = getenv("CONNREFUSE_RUN_STATE");
	return run && *run ? CR_SHARE_RUN : CR_SHARE_FILE;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int cr_cmd_stats(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return cr_help("stats");
		else if (argv[i][0] == '-' || path)
			return cr_usage_error("stats", "stats: unexpected '%s'", argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return cr_usage_error("stats", "%s", "stats takes a FILE");
	struct cr_rules rules = { 0 };
	if (cr_rules_load(path, 0, &rules) != 0)
		return 1;
	const struct cr_ruleset *rs = rules.set;
	char err[1200];
	struct cr_shared file = { 0 }, run = { 0 };
	bool file_ok = file_state(path, false, &file, err, sizeof err) == 0;
	const char *run_path = getenv("CONNREFUSE_RUN_STATE");
	if (run_path && *run_path && cr_shared_open(&run, run_path, false, err, sizeof err) != 0)
		memset(&run, 0, sizeof run);
	if (json)
		printf("{\"file\": "), json_string(path),
			printf(", \"generation\": %llu, \"rules\": [",
			       file_ok ? (unsigned long long)cr_shared_generation(&file) : 0ULL);
	else
		printf("%-24s %-8s %10s %10s\n", "rule", "scope", "attempts", "fired");
	unsigned shown = 0;
	for (uint32_t s = 0; s < rs->nscheds; s++) {
		int scope = scope_here(rs, s), declared;
		uint64_t id = cr_ruleset_sched_identity(rs, s, &declared);
		const struct cr_shared *sh = scope == CR_SHARE_RUN ? &run : scope == CR_SHARE_FILE ? &file : NULL;
		const struct cr_counts *c = sh && sh->head ? cr_shared_find(sh, id) : NULL;
		const struct cr_rule *r = cr_ruleset_sched_rule(rs, s);
		const char *name = r ? cr_rule_name(rs, r) : "?";
		unsigned long long attempts = c ? (unsigned long long)atomic_load(&c->attempts) : 0,
				   fired = c ? (unsigned long long)atomic_load(&c->fired) : 0;
		if (json) {
			printf("%s{\"name\": ", shown ? ", " : "");
			json_string(name);
			if (scope == CR_SHARE_PROCESS)
				printf(", \"scope\": \"process\", \"attempts\": null, \"fired\": null}");
			else
				printf(", \"scope\": \"%s\", \"attempts\": %llu, \"fired\": %llu}",
				       cr_share_name(scope), attempts, fired);
		} else if (scope == CR_SHARE_PROCESS) {
			printf("%-24s %-8s %10s %10s\n", name, "process", "-", "-");
		} else {
			printf("%-24s %-8s %10llu %10llu\n", name, cr_share_name(scope), attempts, fired);
		}
		shown++;
	}
	if (json)
		printf("]}\n");
	else if (!shown)
		printf("(no rule of %s has a schedule or a scope: only those are counted)\n", path);
	cr_shared_close(&file);
	cr_shared_close(&run);
	cr_rules_free(&rules);
	return 0;
}

int cr_run_state_begin(char *path, size_t size)
{
	char err[1200];
	if (cr_shared_create_run(cr_shared_runtime_dir(getenv("XDG_RUNTIME_DIR")), (unsigned)geteuid(), path, size, err,
				 sizeof err) != 0) {
		fprintf(stderr,
			"connrefuse: run: cannot make the run's schedule state (%s): scope \"run\" counts per "
			"process\n",
			err);
		*path = '\0';
		return -1;
	}
	setenv("CONNREFUSE_RUN_STATE", path, 1);
	return 0;
}

const char *cr_scope_note(const struct cr_ruleset *rs, const struct cr_rule *r)
{
	switch (cr_rule_declared_scope(rs, r)) {
	case CR_SHARE_RUN:
		return "scope \"run\": attempts are counted over every process of one connrefuse run";
	case CR_SHARE_FILE:
		return "scope \"file\": attempts are counted over every process of this user that reads this file";
	case CR_SHARE_PROCESS:
		return "scope \"process\": each process counts its own attempts";
	case CR_SHARE_DEFAULT:
		return "scope \"run\" under connrefuse run, \"file\" otherwise (the default): attempts are counted "
		       "over all those processes together";
	default:
		return NULL; /* no schedule */
	}
}
