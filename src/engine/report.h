/* connrefuse report: reads log lines (the file sink, or syslog and journal
 * text with their prefixes) and summarises them by destination, rule,
 * process and error, simulated and real failures counted apart. */
#ifndef CR_REPORT_H
#define CR_REPORT_H

#include <stdbool.h>
#include <stdio.h>

/* Returns the number of event lines read. */
long cr_report(FILE *in, FILE *out, bool json);

/* Splits one logfmt line in place: calls fn for each key and its unescaped
 * value. Returns the number of pairs. */
int cr_logfmt_parse(char *line, void (*fn)(const char *key, const char *value, void *arg), void *arg);

#endif
