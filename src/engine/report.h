/* connrefuse report: reads log lines (the file sink, or syslog and journal
 * text with their headers; logfmt or JSON: logparse.h) and summarises them by
 * destination, rule, process, user, cgroup, machine and error, simulated
 * and real failures counted apart; or writes Prometheus counters. */
#ifndef CR_REPORT_H
#define CR_REPORT_H

#include <stdbool.h>
#include <stdio.h>

enum cr_report_format { CR_REPORT_TEXT, CR_REPORT_JSON, CR_REPORT_PROMETHEUS };

/* Returns the number of event lines read. */
long cr_report(FILE *in, FILE *out, enum cr_report_format format);

#endif
