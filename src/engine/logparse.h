/* Log lines read back, one at a time and in place: a logfmt line, a JSON
 * line (log.format = "json"), and the machine a syslog header names.
 * connrefuse report (report.c) summarises what these read. */
#ifndef CR_LOGPARSE_H
#define CR_LOGPARSE_H

#include <stddef.h>

/* Splits one logfmt line in place: calls fn for each key and its unescaped
 * value. Returns the number of pairs. */
int cr_logfmt_parse(char *line, void (*fn)(const char *key, const char *value, void *arg), void *arg);
/* The same for one JSON line (log.format = "json"). */
int cr_json_parse(char *line, void (*fn)(const char *key, const char *value, void *arg), void *arg);
/* The machine a syslog header names (RFC 3164, RFC 5424, rsyslog's file
 * formats, journal text), or "" when the header names none. */
void cr_syslog_machine(const char *header, char *out, size_t size);

#endif
