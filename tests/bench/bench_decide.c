/* bench_decide: the decision alone, in process (no connect), for 1,000 and
 * 100,000 rules of four kinds, as ns per decision (median and range of
 * repeated runs); then the load time and memory of 100,000 rules. */
#define _GNU_SOURCE
#include "decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static void write_rules(const char *path, enum kind kind, unsigned n)
{
	FILE *f = fopen(path, "w");
	fprintf(f, "version = 1;\nlog: { syslog = false; level = \"none\"; };\nrules = (\n");
	for (unsigned i = 0; i < n; i++) {
		unsigned long long r = next();
		fprintf(f, "%s{ name = \"r%u\"; ", i ? ",\n" : "", i);
		switch (kind) {
		case V4:
			if (r & 1)
				fprintf(f, "dst = \"10.%llu.%llu.0/24\"; ", (r >> 8) & 255, (r >> 16) & 255);
			else
				fprintf(f, "dst = \"10.%llu.%llu.%llu\"; ", (r >> 8) & 255, (r >> 16) & 255, (r >> 24) & 255);
			break;
		case V6:
			fprintf(f, "dst = \"fd00:%llx:%llx::/64\"; ", (r >> 8) & 0xffff, (r >> 24) & 0xffff);
			break;
		case PORTS:
			fprintf(f, "dst = \"10.%llu.%llu.%llu\"; port = \"%llu-%llu\"; ", (r >> 8) & 255, (r >> 16) & 255,
				(r >> 24) & 255, 1000 + ((r >> 32) & 1023), 3000 + ((r >> 42) & 1023));
			break;
		case UNIX:
			fprintf(f, "path = \"/run/svc-%u/*.sock\"; ", i);
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
		d.path_len = (uint16_t)snprintf(d.path, sizeof d.path, "/run/svc-%llu/x.sock", (r >> 8) % (2ULL * n));
		break;
	}
	return d;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#define REPS 7
#define DESTS 4096

static void bench(enum kind kind, unsigned n, const char *dir)
{
	char path[512], err[512];
	snprintf(path, sizeof path, "%s/decide-%d-%u.cfg", dir, kind, n);
	write_rules(path, kind, n);
	struct cr_ruleset *rs = cr_config_load(path, err, sizeof err);
	if (!rs) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	static struct cr_dest dests[DESTS];
	for (int i = 0; i < DESTS; i++)
		dests[i] = random_dest(kind, n);
	double t[REPS];
	long iters = 400000, hits = 0;
	for (int rep = 0; rep < REPS; rep++) {
		double t0 = now_ns();
		for (long i = 0; i < iters; i++) {
			struct cr_query q = { .dest = &dests[i & (DESTS - 1)], .comm = "bench" };
			struct cr_verdict v;
			cr_decide(rs, &q, &v);
			hits += v.rule != NULL;
		}
		t[rep] = (now_ns() - t0) / iters;
	}
	qsort(t, REPS, sizeof t[0], cmp_double);
	printf("decide %-11s %6u rules: %6.1f ns (range %.1f-%.1f), %2.0f%% matched\n", kind_name[kind], n, t[REPS / 2],
	       t[0], t[REPS - 1], 100.0 * hits / (REPS * iters));
	printf("RESULT decide_%s_%u %.1f\n", kind == V4 ? "v4" : kind == V6 ? "v6" : kind == PORTS ? "ports" : "unix", n,
	       t[REPS / 2]);
	cr_ruleset_free(rs);
	unlink(path);
}

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* In a child, so that the figures are those of a fresh process. */
static void load_figures(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/load-100000.cfg", dir);
	write_rules(path, V4, 100000);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char err[512];
		long before = rss_kb();
		double t0 = now_ns();
		struct cr_ruleset *rs = cr_config_load(path, err, sizeof err);
		double ms = (now_ns() - t0) / 1e6;
		long after = rss_kb();
		if (!rs)
			_exit(1);
		size_t bytes = cr_ruleset_bytes(rs);
		printf("load 100000 rules: %.0f ms; RSS %ld KiB before, %ld KiB after (+%ld KiB); compact rule data %zu KiB; "
		       "growth / data = %.2f\n",
		       ms, before, after, after - before, bytes / 1024, (after - before) / (bytes / 1024.0));
		printf("RESULT load_ms %.0f\nRESULT rss_growth_ratio %.2f\nRESULT rss_base_kb %ld\n", ms,
		       (after - before) / (bytes / 1024.0), before);
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	unlink(path);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	for (enum kind k = V4; k <= UNIX; k++) {
		bench(k, 1000, dir);
		bench(k, 100000, dir);
	}
	load_figures(dir);
	return 0;
}
