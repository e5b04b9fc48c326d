/* connrefuse report: reads log lines (the file sink, or syslog and journal
 * text with their prefixes) and summarises them. */
#define _GNU_SOURCE
#include "report.h"

#include <stdio.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- logfmt ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int cr_logfmt_parse(char *line, void (*fn)(const char *key, const char *value, void *arg), void *arg)
{
	int n = 0;
	char *p = line;
	while (*p) {
		while (*p == ' ')
			p++;
		char *key = p;
		while (*p && *p != '=' && *p != ' ')
			p++;
		if (*p != '=')
			break;
		*p++ = '\0';
		char *value = p, *w = p;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1]) {
					p++;
					switch (*p) {
					case 'n': *w++ = '\n'; p++; break;
					case 'r': *w++ = '\r'; p++; break;
					case 't': *w++ = '\t'; p++; break;
					case 'x':
						if (hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
							*w++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
							p += 3;
							break;
						}
						/* fall through */
					default: *w++ = *p++;
					}
				} else {
					*w++ = *p++;
				}
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ' ')
				*w++ = *p++;
		}
		char *next = p;
		if (*next)
			next++;
		*w = '\0';
		fn(key, value, arg);
		n++;
		p = next;
	}
	return n;
}

/* ---- counting ---- */

struct entry {
	char *key;
	long simulated, real, passed;
};

struct table {
	const char *title;
	struct entry *slots;
	size_t size, used;
	long lost;      /* keys not counted: out of memory */
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

/* Packs the used slots to the front, sorted. Returns how many. */
static size_t sorted(struct table *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->size; i++)
		if (t->slots[i].key)
			t->slots[n++] = t->slots[i];
	if (n) /* an empty table has no slots at all */
		qsort(t->slots, n, sizeof *t->slots, by_total);
	return n;
}

struct event {
	const char *result, *simulated, *rule, *action, *dry_run, *comm, *dst, *err;
	long count, dropped;
};

static void take(const char *key, const char *value, void *arg)
{
	struct event *ev = arg;
	if (strcmp(key, "result") == 0 && !ev->result) ev->result = value;
	else if (strcmp(key, "simulated") == 0) ev->simulated = value;
	else if (strcmp(key, "rule") == 0) ev->rule = value;
	else if (strcmp(key, "action") == 0) ev->action = value;
	else if (strcmp(key, "dry_run") == 0) ev->dry_run = value;
	else if (strcmp(key, "comm") == 0) ev->comm = value;
	else if (strcmp(key, "dst") == 0) ev->dst = value;
	else if (strcmp(key, "errno") == 0) ev->err = value;
	else if (strcmp(key, "count") == 0) ev->count = atol(value);
	else if (strcmp(key, "dropped") == 0) ev->dropped = atol(value);
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

enum { R_REFUSED, R_FAILED, R_DROPPED, R_CONNECTED, R_IN_PROGRESS, R_N };
static const char *const results[R_N] = { "refused", "failed", "dropped", "connected", "in-progress" };

/* What the lines add up to. tables[4] is the dry run's: "RULE would have
 * refused", with the real outcomes (real: failed, passed: connected). */
struct summary {
	long totals[R_N][2]; /* [result][0: simulated, 1: real] */
	long suppressed, dropped, events, other_lines;
	struct table tables[5];
};

/* Counts one line; anything that is not an event line is passed over. */
static void read_line(struct summary *sum, char *line)
{
	line[strcspn(line, "\r\n")] = '\0';
	/* The event starts at "result=", after any syslog or journal prefix. */
	char *start = strncmp(line, "result=", 7) == 0 ? line : strstr(line, " result=");
	if (!start) {
		sum->other_lines += line[0] != '\0';
		return;
	}
	if (start != line)
		start++;
	struct event ev = { 0 };
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
	int sim = ev.simulated && strcmp(ev.simulated, "yes") == 0;
	sum->totals[r][sim ? 0 : 1]++;
	int kind = r <= R_DROPPED ? (sim ? 0 : 1) : 2;
	count(&sum->tables[0], ev.dst ? ev.dst : "?", kind);
	count(&sum->tables[1], ev.rule ? ev.rule : "(no rule)", kind);
	count(&sum->tables[2], ev.comm ? ev.comm : "?", kind);
	count(&sum->tables[3], ev.err ? ev.err : "(none)", kind);
	if (ev.dry_run && strcmp(ev.dry_run, "yes") == 0) {
		char key[256];
		snprintf(key, sizeof key, "%s would have %s", ev.rule ? ev.rule : "(no rule)",
			 ev.action && strcmp(ev.action, "fail") == 0 ? "failed" : "refused");
		count(&sum->tables[4], key, r <= R_FAILED ? 1 : 2);
	}
}

static void print_totals(const struct summary *sum, FILE *out, bool json)
{
	if (json) {
		fprintf(out, "{\"events\": %ld, \"results\": {", sum->events);
		for (int r = 0; r < R_N; r++)
			fprintf(out, "%s\"%s\": {\"simulated\": %ld, \"real\": %ld}", r ? ", " : "", results[r],
				sum->totals[r][0], sum->totals[r][1]);
		fprintf(out, "}, \"suppressed\": %ld, \"dropped\": %ld, \"other_lines\": %ld", sum->suppressed,
			sum->dropped, sum->other_lines);
		return;
	}
	fprintf(out, "events: %ld\n", sum->events);
	for (int r = 0; r < R_N; r++)
		fprintf(out, "  %-12s %6ld  (simulated %ld, real %ld)\n", results[r],
			sum->totals[r][0] + sum->totals[r][1], sum->totals[r][0], sum->totals[r][1]);
	fprintf(out, "suppressed by the rate limit: %ld; dropped by a busy syslog: %ld\n", sum->suppressed,
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
			fprintf(out, ", \"attempts\": %ld, \"real_failed\": %ld, \"connected\": %ld}", e->real + e->passed,
				e->real, e->passed);
		} else {
			fprintf(out, "  %s %ld time%s (really: %ld failed, %ld connected)\n", e->key, e->real + e->passed,
				e->real + e->passed == 1 ? "" : "s", e->real, e->passed);
		}
		free(e->key);
	}
	if (json)
		fprintf(out, "]");
	else if (t->lost)
		fprintf(out, "  (%ld lines not counted here: out of memory)\n", t->lost);
	free(t->slots);
}

/* One table, largest first; its entries are freed. */
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
		free(e->key);
	}
	if (json)
		fprintf(out, "]");
	free(t->slots);
}

long cr_report(FILE *in, FILE *out, bool json)
{
	struct summary sum = { .tables = { { .title = "destination" }, { .title = "rule" }, { .title = "process" },
					   { .title = "error" }, { .title = "dry run" } } };
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, in) > 0)
		read_line(&sum, line);
	free(line);
	print_totals(&sum, out, json);
	for (int t = 0; t < 4; t++)
		print_table(&sum.tables[t], out, json);
	print_dry_run(&sum.tables[4], out, json);
	if (json)
		fprintf(out, "}\n");
	return sum.events;
}
