/* bench_decide: the decision alone, in process (no connect), for 1,000 and
 * 100,000 rules of four kinds, compiled and mapped as a preloaded process
 * maps them, as ns per decision (median and range of repeated runs).
 * "bench_decide --load DIR" instead: the load time and memory of 100,000
 * rules, text and compiled, for a fresh process (run.py runs it several
 * times). "bench_decide --shared DIR": the decision with and without a
 * schedule of scope "file" beside 1,000 rules, and the cost of a shared
 * counter that fires at every decision (see shared_figures).
 *
 * Half the destinations are drawn from the rules (inside a random rule's
 * prefix, port range or folder) and half at random, at both sizes, so that
 * the two sizes are compared on the same mix of matching and non-matching
 * decisions: what grows is the rule count alone. */
#define _GNU_SOURCE
#include "engine/config.h"
#include "engine/decide.h"
#include "engine/image.h"
#include "engine/shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../tools/rss.h"

static unsigned long long rng = 88172645463325252ULL;
static unsigned long long next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

enum kind { V4, V6, PORTS, UNIX };
static const char *const kind_name[] = { "v4", "v6", "port ranges", "unix globs" };

/* One destination inside each rule written, for the matching half. */
static struct cr_dest *inside;

static void write_rules(const char *path, enum kind kind, unsigned n)
{
	free(inside);
	inside = calloc(n, sizeof *inside);
	FILE *f = fopen(path, "w");
	fprintf(f, "version = 1;\nlog: { syslog = false; level = \"none\"; };\nrules = (\n");
	for (unsigned i = 0; i < n; i++) {
		unsigned long long r = next();
		fprintf(f, "%s{ name = \"r%u\"; ", i ? ",\n" : "", i);
		struct cr_dest *d = &inside[i];
		switch (kind) {
		case V4:
			*d = (struct cr_dest){ .family = CR_FAM_INET,
					       .port = 443,
					       .addr = { 10, (uint8_t)(r >> 8), (uint8_t)(r >> 16),
							 (uint8_t)(r >> 24) } };
			if (r & 1) {
				fprintf(f, "dst = \"10.%llu.%llu.0/24\"; ", (r >> 8) & 255, (r >> 16) & 255);
				d->addr[3] = (uint8_t)(r >> 32);
			} else {
				fprintf(f, "dst = \"10.%llu.%llu.%llu\"; ", (r >> 8) & 255, (r >> 16) & 255,
					(r >> 24) & 255);
			}
			break;
		case V6:
			fprintf(f, "dst = \"fd00:%llx:%llx::/64\"; ", (r >> 8) & 0xffff, (r >> 24) & 0xffff);
			*d = (struct cr_dest){ .family = CR_FAM_INET6,
					       .port = 443,
					       .addr = { 0xfd, 0, (uint8_t)(r >> 16), (uint8_t)(r >> 8),
							 (uint8_t)(r >> 32), (uint8_t)(r >> 24), 0, 0, 0, 0, 0, 0, 0, 0,
							 0, (uint8_t)(r >> 40) } };
			break;
		case PORTS:
			fprintf(f, "dst = \"10.%llu.%llu.%llu\"; port = \"%llu-%llu\"; ", (r >> 8) & 255,
				(r >> 16) & 255, (r >> 24) & 255, 1000 + ((r >> 32) & 1023), 3000 + ((r >> 42) & 1023));
			*d = (struct cr_dest){ .family = CR_FAM_INET,
					       .port = (uint16_t)(2000 + ((r >> 52) & 1023)),
					       .addr = { 10, (uint8_t)(r >> 8), (uint8_t)(r >> 16),
							 (uint8_t)(r >> 24) } };
			break;
		case UNIX:
			fprintf(f, "path = \"/run/svc-%u/*.sock\"; ", i);
			d->family = CR_FAM_UNIX;
			d->path_len = (uint16_t)snprintf(d->path, sizeof d->path, "/run/svc-%u/x.sock", i);
			break;
		}
		fprintf(f, "action = \"refuse\"; }");
	}
	fprintf(f, "\n);\n");
	fclose(f);
}

static struct cr_dest random_dest(enum kind kind, unsigned n)
{
	struct cr_dest d = { 0 };
	unsigned long long r = next();
	if (r & 1)
		return inside[(r >> 1) % n];
	switch (kind) {
	case V4:
	case PORTS:
		d.family = CR_FAM_INET;
		d.addr[0] = 10;
		d.addr[1] = (uint8_t)(r >> 8);
		d.addr[2] = (uint8_t)(r >> 16);
		d.addr[3] = (uint8_t)(r >> 24);
		d.port = (uint16_t)(500 + ((r >> 32) & 4095));
		break;
	case V6:
		d.family = CR_FAM_INET6;
		d.addr[0] = 0xfd;
		d.addr[2] = (uint8_t)(r >> 8);
		d.addr[3] = (uint8_t)(r >> 16);
		d.addr[4] = (uint8_t)(r >> 24);
		d.addr[5] = (uint8_t)(r >> 32);
		d.addr[15] = 1;
		d.port = 443;
		break;
	case UNIX:
		d.family = CR_FAM_UNIX;
		d.path_len = (uint16_t)snprintf(d.path, sizeof d.path, "/run/svc-%llu/x.sock", n + (r >> 8) % n);
		break;
	}
	return d;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The text file compiled (as `connrefuse compile` does) and mapped. */
static struct cr_ruleset *compile_and_map(const char *path, const char *out, char *err, size_t errsize)
{
	struct cr_ruleset *text = cr_config_load(path, err, errsize);
	if (!text)
		return NULL;
	struct cr_draft *d = cr_ruleset_to_draft(text);
	size_t len;
	void *img = d ? cr_image_build(d, 0, &len) : NULL;
	int rc = img ? cr_image_write(img, len, out, false, err, errsize) : -1;
	cr_image_release(img, len);
	cr_draft_free(d);
	cr_ruleset_free(text);
	return rc == 0 ? cr_config_load(out, err, errsize) : NULL;
}

#define REPS 15
#define DESTS 4096

/* A rule set and its destinations: half inside a random rule, half random
 * addresses (or paths) of the same region that no rule matches. */
struct setup {
	unsigned n;
	struct cr_ruleset *rs;
	struct cr_ruleset *text; /* the same rules, loaded from the text */
	struct cr_dest dests[DESTS];
	long hits;
};

static void prepare(struct setup *su, enum kind kind, unsigned n, const char *dir)
{
	char path[512], err[512];
	snprintf(path, sizeof path, "%s/decide-%d-%u.cfg", dir, kind, n);
	write_rules(path, kind, n);
	su->n = n;
	su->hits = 0;
	char compiled[600];
	snprintf(compiled, sizeof compiled, "%s.compiled", path);
	su->rs = compile_and_map(path, compiled, err, sizeof err);
	su->text = cr_config_load(path, err, sizeof err);
	unlink(path);
	unlink(compiled);
	if (!su->rs || !su->text) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	for (int i = 0; i < DESTS; i++) {
		struct cr_dest d;
		struct cr_verdict v;
		do {
			d = random_dest(kind, n);
			struct cr_query q = { .dest = &d, .comm = "bench" };
			cr_decide_peek(su->rs, &q, &v);
		} while ((i & 1) != (v.rule != NULL));
		su->dests[i] = d;
	}
}

static double run_batch(struct setup *su, long iters)
{
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		struct cr_query q = { .dest = &su->dests[i & (DESTS - 1)], .comm = "bench" };
		struct cr_verdict v;
		cr_decide(su->rs, &q, &v);
		su->hits += v.rule != NULL;
	}
	return (now_ns() - t0) / iters;
}

/* The two sizes alternate, batch by batch (A/B), so that a noisy moment of
 * the machine falls on both; the ratio is the median of the pairs' ratios. */
static void bench(enum kind kind, const char *dir)
{
	static struct setup small, large;
	prepare(&small, kind, 1000, dir);
	prepare(&large, kind, 100000, dir);
	double ts[REPS], tl[REPS], ratio[REPS];
	long iters = 200000;
	run_batch(&small, iters / 4); /* warm-up */
	run_batch(&large, iters / 4);
	small.hits = large.hits = 0;
	for (int rep = 0; rep < REPS; rep++) {
		ts[rep] = run_batch(&small, iters);
		tl[rep] = run_batch(&large, iters);
		ratio[rep] = tl[rep] / ts[rep];
	}
	qsort(ts, REPS, sizeof ts[0], cmp_double);
	qsort(tl, REPS, sizeof tl[0], cmp_double);
	qsort(ratio, REPS, sizeof ratio[0], cmp_double);
	const char *key = kind == V4 ? "v4" : kind == V6 ? "v6" : kind == PORTS ? "ports" : "unix";
	struct setup *both[2] = { &small, &large };
	double *t[2] = { ts, tl };
	for (int k = 0; k < 2; k++) {
		printf("decide %-11s %6u rules: %6.1f ns (range %.1f-%.1f), %2.0f%% matched\n", kind_name[kind],
		       both[k]->n, t[k][REPS / 2], t[k][0], t[k][REPS - 1],
		       100.0 * both[k]->hits / ((double)REPS * iters));
		printf("RESULT decide_%s_%u %.1f\n", key, both[k]->n, t[k][REPS / 2]);
	}
	printf("decide %-11s 100000 / 1000: %.2fx (range %.2f-%.2f)\n", kind_name[kind], ratio[REPS / 2], ratio[0],
	       ratio[REPS - 1]);
	printf("RESULT decide_%s_ratio %.2f\n", key, ratio[REPS / 2]);
	/* The same 100,000 rules decided from the compiled file's mapping and
	 * from the text's image in memory (huge pages), alternated. */
	struct cr_ruleset *mapped = large.rs;
	for (int rep = 0; rep < REPS; rep++) {
		large.rs = mapped;
		tl[rep] = run_batch(&large, iters);
		large.rs = large.text;
		ts[rep] = run_batch(&large, iters);
		ratio[rep] = tl[rep] / ts[rep];
	}
	large.rs = mapped;
	qsort(ts, REPS, sizeof ts[0], cmp_double);
	qsort(tl, REPS, sizeof tl[0], cmp_double);
	qsort(ratio, REPS, sizeof ratio[0], cmp_double);
	printf("decide %-11s 100000 rules, compiled (mapped) %.1f ns vs text-loaded %.1f ns: %.2fx (range %.2f-%.2f)\n",
	       kind_name[kind], tl[REPS / 2], ts[REPS / 2], ratio[REPS / 2], ratio[0], ratio[REPS - 1]);
	printf("RESULT decide_%s_text_100000 %.1f\n", key, ts[REPS / 2]);
	cr_ruleset_free(small.rs);
	cr_ruleset_free(large.rs);
	cr_ruleset_free(small.text);
	cr_ruleset_free(large.text);
}

/* Run as "bench_decide --load DIR", a fresh process, so that the figures
 * are not those of a heap the benchmarks above have used. */
static void load_figures(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/load-100000.cfg", dir);
	write_rules(path, V4, 100000);
	free(inside);
	inside = NULL;
	{
		char err[512];
		long before = rss_kb();
		double t0 = now_ns();
		struct cr_ruleset *rs = cr_config_load(path, err, sizeof err);
		double ms = (now_ns() - t0) / 1e6;
		long after = rss_kb();
		if (!rs)
			_exit(1);
		size_t bytes = cr_ruleset_bytes(rs);
		printf("load 100000 rules from text: %.0f ms; RSS %ld KiB before, %ld KiB after (+%ld KiB); rule image "
		       "%zu KiB; growth / image = %.2f\n",
		       ms, before, after, after - before, bytes / 1024, (after - before) / (bytes / 1024.0));
		printf("RESULT load_ms %.0f\nRESULT rss_growth_ratio %.2f\nRESULT rss_base_kb %ld\nRESULT image_kb %zu\n",
		       ms, (after - before) / (bytes / 1024.0), before, bytes / 1024);
		char compiled[600];
		snprintf(compiled, sizeof compiled, "%s.compiled", path);
		struct cr_ruleset *c = compile_and_map(path, compiled, err, sizeof err);
		cr_ruleset_free(c);
		before = rss_kb();
		t0 = now_ns();
		c = cr_config_load(compiled, err, sizeof err);
		double us = (now_ns() - t0) / 1e3;
		after = rss_kb();
		if (!c)
			_exit(1);
		printf("load 100000 rules compiled: %.1f us; RSS +%ld KiB\n", us, after - before);
		printf("RESULT load_compiled_us %.1f\nRESULT load_compiled_rss_kb %ld\n", us, after - before);
		cr_ruleset_free(c);
		cr_ruleset_free(rs);
		unlink(compiled);
	}
	unlink(path);
}

/* A text rule set (the rules of rules_text, after log settings that log
 * nothing), its shared schedules attached to state. */
static struct cr_ruleset *shared_set(const char *dir, const char *name, const char *rules_text,
				     const struct cr_shared *state)
{
	char path[512], err[512];
	snprintf(path, sizeof path, "%s/%s.cfg", dir, name);
	FILE *f = fopen(path, "w");
	fprintf(f, "version = 1;\nlog: { syslog = false; level = \"none\"; };\nrules = (\n%s\n);\n", rules_text);
	fclose(f);
	struct cr_ruleset *rs = cr_config_load(path, err, sizeof err);
	unlink(path);
	if (!rs) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	cr_ruleset_attach_shared(rs, NULL, state, now_ns() / 1e9);
	return rs;
}

/* ns per decision of one destination, over iters decisions. */
static double decide_one(const struct cr_ruleset *rs, const struct cr_dest *d, long iters)
{
	struct cr_verdict v;
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		struct cr_query q = { .dest = d, .comm = "bench", .now = 1.0 };
		cr_decide(rs, &q, &v);
	}
	return (now_ns() - t0) / iters;
}

/* Runs the batches of n rule sets in turn, REPS rounds; prints each median
 * with its range, and each one's difference from the first (ns). */
static void rows(const char *title, const char *key, struct setup **sets, const char *const *names, int n)
{
	double t[4][REPS], diff[4][REPS];
	long iters = 200000;
	for (int k = 0; k < n; k++)
		run_batch(sets[k], iters / 4);
	for (int rep = 0; rep < REPS; rep++)
		for (int k = 0; k < n; k++) {
			t[k][rep] = run_batch(sets[k], iters);
			diff[k][rep] = t[k][rep] - t[0][rep];
		}
	printf("%s\n", title);
	for (int k = 0; k < n; k++) {
		qsort(t[k], REPS, sizeof t[k][0], cmp_double);
		qsort(diff[k], REPS, sizeof diff[k][0], cmp_double);
		printf("  %-44s %6.1f ns (range %.1f-%.1f)", names[k], t[k][REPS / 2], t[k][0], t[k][REPS - 1]);
		if (k)
			printf("; x%.3f; %+.1f ns a decision (per-round median, range %+.1f to %+.1f)",
			       t[k][REPS / 2] / t[0][REPS / 2], diff[k][REPS / 2], diff[k][0], diff[k][REPS - 1]);
		printf("\n");
		printf("RESULT %s_%d %.1f\n", key, k, t[k][REPS / 2]);
		if (k)
			printf("RESULT %s_%d_added %.1f\n", key, k, diff[k][REPS / 2]);
	}
}

/* The decision with a shared schedule beside 1,000 v4 rules that have
 * none, on the usual mix of destinations (half matching); and one rule
 * that fires at every decision (every = 1) with no schedule, counting in
 * the process, counting in a shared state; the shared one again while a
 * second process decides on the same slot. */
static void shared_figures(const char *dir)
{
	char path[512], err[1200];
	snprintf(path, sizeof path, "%s/bench-state", dir);
	struct cr_shared state;
	unlink(path);
	if (cr_shared_open(&state, path, true, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	static struct setup none, sched;
	/* The destinations of the main rows (half inside a rule); the rules
	 * loaded again from text, twice, with a rule no destination matches
	 * first (every decision passes it by, as a rule of another address):
	 * without a schedule, and with one of scope "file". */
	prepare(&none, V4, 1000, dir);
	cr_ruleset_free(none.rs);
	cr_ruleset_free(none.text);
	snprintf(path, sizeof path, "%s/decide-0-1000.cfg", dir);
	write_rules(path, V4, 1000);
	FILE *f = fopen(path, "r");
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	rewind(f);
	char *text = calloc(1, (size_t)len + 1);
	if (fread(text, 1, (size_t)len, f) != (size_t)len)
		exit(1);
	fclose(f);
	unlink(path);
	char *list = strstr(text, "rules = (\n") + strlen("rules = (\n");
	*strrchr(list, ')') = '\0';
	char *rules = calloc(1, strlen(list) + 200);
	const char *first = "{ name = \"s\"; dst = \"10.255.255.254\"; port = 1; action = \"refuse\"; ";
	sprintf(rules, "%s },\n%s", first, list);
	none.rs = shared_set(dir, "none", rules, &state);
	sched = none;
	sprintf(rules, "%sfirst = 3; scope = \"file\"; },\n%s", first, list);
	sched.rs = shared_set(dir, "sched", rules, &state);
	struct setup *sets[] = { &none, &sched };
	const char *const names[] = { "1,001 rules, no schedule", "the same, one with a schedule, scope \"file\"" };
	rows("decision, 1,001 v4 rules (text), half the destinations matching:", "shared_decide", sets, names, 2);

	const char *base = "{ name = \"f\"; dst = \"127.0.0.1\"; port = 5432; action = \"refuse\"; ";
	char one[3][300];
	snprintf(one[0], sizeof one[0], "%s }", base);
	snprintf(one[1], sizeof one[1], "%severy = 1; scope = \"process\"; }", base);
	snprintf(one[2], sizeof one[2], "%severy = 1; scope = \"file\"; }", base);
	static struct setup fired[3];
	struct cr_dest d = { .family = CR_FAM_INET, .port = 5432, .addr = { 127, 0, 0, 1 } };
	for (int k = 0; k < 3; k++) {
		fired[k].rs = shared_set(dir, "fired", one[k], &state);
		for (int i = 0; i < DESTS; i++)
			fired[k].dests[i] = d;
	}
	struct setup *fs[] = { &fired[0], &fired[1], &fired[2] };
	const char *const fnames[] = { "a rule that always fires, no schedule", "every = 1, scope \"process\"",
				       "every = 1, scope \"file\" (a shared counter)" };
	rows("a fired counter: one rule, one destination, every decision fires:", "shared_fired", fs, fnames, 3);

	/* Two processes on one slot: a child decides on the same shared
	 * counter, as fast as it can, while this one measures. */
	double alone[REPS], two[REPS];
	long iters = 2000000;
	int go[2];
	if (pipe(go) != 0)
		exit(1);
	pid_t child = fork();
	if (child == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) == 1)
			for (;;)
				decide_one(fired[2].rs, &d, iters);
		_exit(0);
	}
	close(go[0]);
	for (int rep = 0; rep < REPS; rep++)
		alone[rep] = decide_one(fired[2].rs, &d, iters);
	if (write(go[1], "x", 1) != 1)
		exit(1);
	decide_one(fired[2].rs, &d, iters / 4); /* the child under way */
	for (int rep = 0; rep < REPS; rep++)
		two[rep] = decide_one(fired[2].rs, &d, iters);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	qsort(alone, REPS, sizeof alone[0], cmp_double);
	qsort(two, REPS, sizeof two[0], cmp_double);
	printf("two processes on one shared slot (every = 1, scope \"file\"):\n");
	printf("  %-44s %6.1f ns (range %.1f-%.1f)\n", "one process", alone[REPS / 2], alone[0], alone[REPS - 1]);
	printf("  %-44s %6.1f ns (range %.1f-%.1f)\n", "while a second one decides on the slot", two[REPS / 2], two[0],
	       two[REPS - 1]);
	printf("RESULT shared_two_alone %.1f\nRESULT shared_two_both %.1f\n", alone[REPS / 2], two[REPS / 2]);
	const struct cr_counts *c = cr_shared_find(&state, cr_ruleset_sched_identity(fired[2].rs, 0, &(int){ 0 }));
	printf("  (the shared counter: %llu attempts, %llu fired)\n",
	       c ? (unsigned long long)atomic_load(&c->attempts) : 0ULL,
	       c ? (unsigned long long)atomic_load(&c->fired) : 0ULL);
	for (int k = 0; k < 3; k++)
		cr_ruleset_free(fired[k].rs);
	cr_ruleset_free(sched.rs);
	cr_ruleset_free(none.rs);
	cr_shared_close(&state);
	snprintf(path, sizeof path, "%s/bench-state", dir);
	unlink(path);
	free(rules);
	free(text);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--load") == 0) {
		load_figures(argv[2]);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--shared") == 0) {
		shared_figures(argv[2]);
		return 0;
	}
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	for (enum kind k = V4; k <= UNIX; k++)
		if (argc < 3 || strcmp(argv[2], kind_name[k]) == 0) /* bench_decide DIR [KIND]: one kind */
			bench(k, dir);
	return 0;
}
