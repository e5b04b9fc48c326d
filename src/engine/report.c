/* connrefuse report: the summary of log lines (each read by logparse.c):
 * counted by result and by every key, then printed as text, JSON or
 * Prometheus counters. */
#define _GNU_SOURCE
#include "report.h"
#include "logparse.h"

#include <stdio.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- counting ---- */

struct entry {
	char *key;
	long simulated, real, passed;
};

struct table {
	const char *title;
	struct entry *slots;
	size_t size, used;
	long lost; /* keys not counted: out of memory */
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The entry of key (new ones have no key yet); NULL when the table cannot
 * grow (out of memory: that key is not counted, and said). */
static struct entry *lookup(struct table *t, const char *key)
{
	if ((t->used + 1) * 10 > t->size * 7) {
		size_t old = t->size;
		struct entry *slots = t->slots, *grown = calloc(old ? old * 2 : 64, sizeof *t->slots);
		if (!grown) {
			t->lost++;
			return NULL;
		}
		t->size = old ? old * 2 : 64;
		t->slots = grown;
		t->used = 0;
		for (size_t i = 0; i < old; i++)
			if (slots[i].key)
				*lookup(t, slots[i].key) = slots[i], t->used++;
		free(slots);
	}
	size_t i = hash(key) & (t->size - 1);
	while (t->slots[i].key && strcmp(t->slots[i].key, key) != 0)
		i = (i + 1) & (t->size - 1);
	return &t->slots[i];
}

static void count(struct table *t, const char *key, int kind)
{
	struct entry *e = lookup(t, key);
	if (!e)
		return;
	if (!e->key) {
		if (!(e->key = strdup(key))) {
			t->lost++;
			return;
		}
		t->used++;
	}
	if (kind == 0)
		e->simulated++;
	else if (kind == 1)
		e->real++;
	else
		e->passed++;
}

static int by_total(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	long tx = x->simulated + x->real, ty = y->simulated + y->real;
	if (tx != ty)
		return tx < ty ? 1 : -1;
	if (x->passed != y->passed)
		return x->passed < y->passed ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* Packs the used slots to the front, sorted (the rest emptied). Returns
 * how many. */
static size_t sorted(struct table *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->size; i++)
		if (t->slots[i].key) {
			struct entry e = t->slots[i];
			t->slots[i].key = NULL;
			t->slots[n++] = e;
		}
	if (n) /* an empty table has no slots at all */
		qsort(t->slots, n, sizeof *t->slots, by_total);
	return n;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->size; i++)
		free(t->slots[i].key);
	free(t->slots);
}

struct event {
	const char *result, *simulated, *rule, *action, *dry_run, *comm, *dst, *host, *err, *uid, *cgroup;
	const char *time, *machine; /* log.file's and JSON's stamp */
	long count, dropped;
};

static void take(const char *key, const char *value, void *arg)
{
	struct event *ev = arg;
	if (strcmp(key, "result") == 0 && !ev->result)
		ev->result = value;
	else if (strcmp(key, "time") == 0 && !ev->result)
		ev->time = value;
	else if (strcmp(key, "machine") == 0 && !ev->result)
		ev->machine = value;
	else if (strcmp(key, "simulated") == 0)
		ev->simulated = value;
	else if (strcmp(key, "rule") == 0)
		ev->rule = value;
	else if (strcmp(key, "action") == 0)
		ev->action = value;
	else if (strcmp(key, "dry_run") == 0)
		ev->dry_run = value;
	else if (strcmp(key, "comm") == 0)
		ev->comm = value;
	else if (strcmp(key, "dst") == 0)
		ev->dst = value;
	else if (strcmp(key, "host") == 0)
		ev->host = value;
	else if (strcmp(key, "uid") == 0)
		ev->uid = value;
	else if (strcmp(key, "cgroup") == 0)
		ev->cgroup = value;
	else if (strcmp(key, "errno") == 0)
		ev->err = value;
	else if (strcmp(key, "count") == 0)
		ev->count = atol(value);
	else if (strcmp(key, "dropped") == 0)
		ev->dropped = atol(value);
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

/* From R_AFTER on, the faults after connect: listed only when seen. */
enum {
	R_REFUSED,
	R_FAILED,
	R_DROPPED,
	R_CONNECTED,
	R_IN_PROGRESS,
	R_RESOLVED,
	R_RESET,
	R_CLOSED,
	R_STALLED,
	R_SHAPED,
	R_N
};
#define R_AFTER R_RESET
static const char *const results[R_N] = { "refused",  "failed", "dropped", "connected", "in-progress",
					  "resolved", "reset",  "closed",  "stalled",   "shaped" };

/* The tables, in the order they are printed; T_DRY_RUN is the dry run's:
 * "RULE would have refused" (failed, dropped, reset, ..., shaped), with the real outcomes (real: failed, passed:
 * connected). T_LABELS counts by the Prometheus label set. */
enum {
	T_DESTINATION,
	T_RULE,
	T_PROCESS,
	T_USER,
	T_CGROUP,
	T_MACHINE,
	T_ERROR,
	T_PRINTED,
	T_DRY_RUN = T_PRINTED,
	T_LABELS,
	T_N
};

/* What the lines add up to. */
struct summary {
	long totals[R_N][2]; /* [result][0: simulated, 1: real] */
	long suppressed, dropped, events, other_lines;
	char first[40], last[40]; /* the earliest and latest time= (RFC 3339, UTC: they sort as text) */
	struct table tables[T_N];
};

/* The first of two logfmt keys at the start of line or after a space. */
static char *first_of(char *line, const char *a, const char *b)
{
	char *best = NULL;
	const char *keys[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(keys[i]);
		char at[16];
		snprintf(at, sizeof at, " %s", keys[i]);
		char *p = strncmp(line, keys[i], n) == 0 ? line : strstr(line, at);
		if (p && (!best || p < best))
			best = p;
	}
	return best;
}

/* Counts one line; anything that is not an event line is passed over. */
/* What a dry run's action would have done ("RULE would have ..."); a pass
 * is logged as a dry run only when it shapes. */
static const char *would_have(const char *action)
{
	static const char *const done[][2] = { { "fail", "failed" },  { "drop", "dropped" },  { "reset", "reset" },
					       { "close", "closed" }, { "stall", "stalled" }, { "pass", "shaped" } };
	for (size_t i = 0; action && i < sizeof done / sizeof *done; i++)
		if (strcmp(action, done[i][0]) == 0)
			return done[i][1];
	return "refused";
}

static void read_line(struct summary *sum, char *line)
{
	line[strcspn(line, "\r\n")] = '\0';
	/* The event starts at "result=" (logfmt) or {"result": (JSON), or at
	 * the time= that log.file and JSON lines begin with, after any syslog
	 * or journal header, which names the machine. */
	char *start = first_of(line, "result=", "time=");
	char *json = strstr(line, "{\"result\":"), *json_t = strstr(line, "{\"time\":");
	if (!json || (json_t && json_t < json))
		json = json_t;
	if (json && (!start || json < start))
		start = json;
	else
		json = NULL;
	if (!start) {
		sum->other_lines += line[0] != '\0';
		return;
	}
	if (start != line && !json)
		start++;
	char machine[256];
	char saved = *start;
	*start = '\0';
	cr_syslog_machine(line, machine, sizeof machine);
	*start = saved;
	struct event ev = { 0 };
	if (json)
		cr_json_parse(start, take, &ev);
	else
		cr_logfmt_parse(start, take, &ev);
	if (!ev.result) {
		sum->other_lines++;
		return;
	}
	if (strcmp(ev.result, "suppressed") == 0) {
		sum->suppressed += ev.count;
		sum->dropped += ev.dropped;
		return;
	}
	int r;
	for (r = 0; r < R_N; r++)
		if (strcmp(ev.result, results[r]) == 0)
			break;
	if (r == R_N) {
		sum->other_lines++;
		return;
	}
	sum->events++;
	if (ev.time && strlen(ev.time) < sizeof sum->first) {
		if (!sum->first[0] || strcmp(ev.time, sum->first) < 0)
			strcpy(sum->first, ev.time);
		if (strcmp(ev.time, sum->last) > 0)
			strcpy(sum->last, ev.time);
	}
	int sim = ev.simulated && strcmp(ev.simulated, "yes") == 0;
	sum->totals[r][sim ? 0 : 1]++;
	/* A shaped connection passed: it failed nothing. */
	int kind = r == R_SHAPED ? 2 : r <= R_DROPPED || r >= R_AFTER ? (sim ? 0 : 1) : 2;
	char key[1024];
	if (!ev.dst && ev.host) /* a look-up */
		snprintf(key, sizeof key, "%s (look-up)", ev.host);
	count(&sum->tables[T_DESTINATION], ev.dst ? ev.dst : ev.host ? key : "?", kind);
	count(&sum->tables[T_RULE], ev.rule ? ev.rule : "(no rule)", kind);
	count(&sum->tables[T_PROCESS], ev.comm ? ev.comm : "?", kind);
	count(&sum->tables[T_USER], ev.uid ? ev.uid : "?", kind);
	count(&sum->tables[T_CGROUP], ev.cgroup ? ev.cgroup : "/", kind);
	count(&sum->tables[T_MACHINE], ev.machine ? ev.machine : machine[0] ? machine : "(no header)", kind);
	count(&sum->tables[T_ERROR], ev.err ? ev.err : "(none)", kind);
	/* The Prometheus label set: bounded (no destination). */
	snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s\x1f%s", ev.result, sim ? "yes" : "no", ev.rule ? ev.rule : "",
		 ev.err ? ev.err : "", ev.comm ? ev.comm : "");
	count(&sum->tables[T_LABELS], key, 2);
	if (ev.dry_run && strcmp(ev.dry_run, "yes") == 0) {
		snprintf(key, sizeof key, "%s would have %s", ev.rule ? ev.rule : "(no rule)", would_have(ev.action));
		count(&sum->tables[T_DRY_RUN], key, r <= R_FAILED ? 1 : 2);
	}
}

/* Whether result r is listed: always, but a fault after connect only once seen. */
static bool listed_result(const struct summary *sum, int r)
{
	return r < R_AFTER || sum->totals[r][0] + sum->totals[r][1];
}

static void print_totals(const struct summary *sum, FILE *out, bool json)
{
	if (json) {
		fprintf(out, "{\"events\": %ld, \"results\": {", sum->events);
		for (int r = 0; r < R_N; r++)
			if (listed_result(sum, r))
				fprintf(out, "%s\"%s\": {\"simulated\": %ld, \"real\": %ld}", r ? ", " : "", results[r],
					sum->totals[r][0], sum->totals[r][1]);
		fprintf(out, "}, \"suppressed\": %ld, \"dropped\": %ld, \"other_lines\": %ld", sum->suppressed,
			sum->dropped, sum->other_lines);
		if (sum->first[0])
			fprintf(out, ", \"first\": \"%s\", \"last\": \"%s\"", sum->first, sum->last);
		return;
	}
	fprintf(out, "events: %ld\n", sum->events);
	if (sum->first[0])
		fprintf(out, "  from %s to %s\n", sum->first, sum->last);
	for (int r = 0; r < R_N; r++)
		if (listed_result(sum, r))
			fprintf(out, "  %-12s %6ld  (simulated %ld, real %ld)\n", results[r],
				sum->totals[r][0] + sum->totals[r][1], sum->totals[r][0], sum->totals[r][1]);
	fprintf(out, "suppressed by the rate limit: %ld; dropped (a sink could not take them): %ld\n", sum->suppressed,
		sum->dropped);
	fprintf(out, "lines that are not connrefuse events: %ld\n", sum->other_lines);
}

/* The dry run: what each rule would have done, and what really happened. */
static void print_dry_run(struct table *t, FILE *out, bool json)
{
	size_t n = sorted(t);
	if (json)
		fprintf(out, ", \"dry_run\": [");
	else if (n)
		fprintf(out, "\ndry run (what rules would have done; the connects went ahead)\n");
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &t->slots[i];
		if (json) {
			fprintf(out, "%s{\"would\": ", i ? ", " : "");
			json_str(out, e->key);
			fprintf(out, ", \"attempts\": %ld, \"real_failed\": %ld, \"connected\": %ld}",
				e->real + e->passed, e->real, e->passed);
		} else {
			fprintf(out, "  %s %ld time%s (really: %ld failed, %ld connected)\n", e->key,
				e->real + e->passed, e->real + e->passed == 1 ? "" : "s", e->real, e->passed);
		}
	}
	if (json)
		fprintf(out, "]");
	else if (t->lost)
		fprintf(out, "  (%ld lines not counted here: out of memory)\n", t->lost);
}

/* One table, largest first. */
static void print_table(struct table *t, FILE *out, bool json)
{
	size_t n = sorted(t);
	if (json)
		fprintf(out, ", \"by_%s\": [", t->title);
	else
		fprintf(out, "\nby %-40s %9s %9s %9s\n", t->title, "simulated", "real", "passed");
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &t->slots[i];
		if (json) {
			fprintf(out, "%s{\"key\": ", i ? ", " : "");
			json_str(out, e->key);
			fprintf(out, ", \"simulated\": %ld, \"real\": %ld, \"passed\": %ld}", e->simulated, e->real,
				e->passed);
		} else {
			fprintf(out, "  %-41s %9ld %9ld %9ld\n", e->key, e->simulated, e->real, e->passed);
		}
	}
	if (json)
		fprintf(out, "]");
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void prom_label(FILE *out, const char *name, const char *v, size_t n, bool comma)
{
	fprintf(out, "%s%s=\"", comma ? "," : "", name);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\\' || v[i] == '"')
			fprintf(out, "\\%c", v[i]);
		else if (v[i] == '\n')
			fputs("\\n", out);
		else
			fputc(v[i], out);
	}
	fputc('"', out);
}

/* The node_exporter textfile collector's format: counters with a bounded
 * label set (result, simulated, rule, errno, comm). */
static void print_prometheus(struct summary *sum, FILE *out)
{
	static const char *const labels[] = { "result", "simulated", "rule", "errno", "comm" };
	struct table *t = &sum->tables[T_LABELS];
	size_t n = sorted(t);
	fputs("# HELP connrefuse_events_total Connects and look-ups connrefuse logged, by outcome.\n"
	      "# TYPE connrefuse_events_total counter\n",
	      out);
	for (size_t i = 0; i < n; i++) {
		const char *k = t->slots[i].key;
		fputs("connrefuse_events_total{", out);
		for (int j = 0; j < 5; j++) {
			size_t len = strcspn(k, "\x1f");
			prom_label(out, labels[j], k, len, j > 0);
			k += len + (k[len] != '\0');
		}
		fprintf(out, "} %ld\n", t->slots[i].passed);
	}
	fprintf(out,
		"# HELP connrefuse_suppressed_total Lines the rate limit suppressed.\n"
		"# TYPE connrefuse_suppressed_total counter\nconnrefuse_suppressed_total %ld\n"
		"# HELP connrefuse_dropped_total Lines a sink could not take (a busy syslog, a file that cannot be written, no syslog receiver).\n"
		"# TYPE connrefuse_dropped_total counter\nconnrefuse_dropped_total %ld\n"
		"# HELP connrefuse_report_other_lines Lines read that are not connrefuse events.\n"
		"# TYPE connrefuse_report_other_lines gauge\nconnrefuse_report_other_lines %ld\n",
		sum->suppressed, sum->dropped, sum->other_lines);
}

long cr_report(FILE *in, FILE *out, enum cr_report_format format)
{
	struct summary sum = { .tables = { [T_DESTINATION] = { .title = "destination" },
					   [T_RULE] = { .title = "rule" },
					   [T_PROCESS] = { .title = "process" },
					   [T_USER] = { .title = "user" },
					   [T_CGROUP] = { .title = "cgroup" },
					   [T_MACHINE] = { .title = "machine" },
					   [T_ERROR] = { .title = "error" },
					   [T_DRY_RUN] = { .title = "dry run" },
					   [T_LABELS] = { .title = "labels" } } };
	char *line = NULL;
	size_t cap = 0;
	/* One line at a time: memory grows with the distinct keys, not the input. */
	while (getline(&line, &cap, in) > 0)
		read_line(&sum, line);
	free(line);
	bool json = format == CR_REPORT_JSON;
	if (format == CR_REPORT_PROMETHEUS) {
		print_prometheus(&sum, out);
	} else {
		print_totals(&sum, out, json);
		for (int t = 0; t < T_PRINTED; t++)
			print_table(&sum.tables[t], out, json);
		print_dry_run(&sum.tables[T_DRY_RUN], out, json);
		if (json)
			fprintf(out, "}\n");
	}
	for (int t = 0; t < T_N; t++)
		table_free(&sum.tables[t]);
	return sum.events;
}
