/* connrefuse report: reads log lines (the file sink, or syslog and journal
 * text with their headers; logfmt or JSON) and summarises them by
 * destination, rule, process, user, cgroup, machine and error, simulated
 * and real failures counted apart; or writes Prometheus counters. */
#ifndef CR_REPORT_H
#define CR_REPORT_H

#include <stdbool.h>
#include <stdio.h>

enum cr_report_format { CR_REPORT_TEXT, CR_REPORT_JSON, CR_REPORT_PROMETHEUS };

/* Returns the number of event lines read. */
long cr_report(FILE *in, FILE *out, enum cr_report_format format);
/* The same for one JSON line (log.format = "json"). */
int cr_json_parse(char *line, void (*fn)(const char *key, const char *value, void *arg), void *arg);
/* The machine a syslog header names (RFC 3164, RFC 5424, rsyslog's file
 * formats, journal text), or "" when the header names none. */
void cr_syslog_machine(const char *header, char *out, size_t size);

/* Splits one logfmt line in place: calls fn for each key and its unescaped
 * value. Returns the number of pairs. */
int cr_logfmt_parse(char *line, void (*fn)(const char *key, const char *value, void *arg), void *arg);

#endif
