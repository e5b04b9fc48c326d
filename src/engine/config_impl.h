/* Inside the config loader: what its parts share (config_load.c reads the
 * file and the top level and lists every key, config_rule.c reads a rule,
 * config_keys.c reads and prints a key of any scope). Nothing outside the
 * loader includes this. */
#ifndef CR_CONFIG_IMPL_H
#define CR_CONFIG_IMPL_H

#include "config.h"
#include "rules.h"

#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>

struct load {
	/* While a rule is read, every message names it: by name, or number. */
	const char *rule_name;
	unsigned rule_number; /* from 1; 0 = not in a rule */
	/* Seen in the rule being read, for the checks across its keys. */
	const config_setting_t *rule_action, *rule_errno;
	const config_setting_t *rule_fault_key; /* the last of direction, after_bytes, after_ms */
	const config_setting_t *rule_shape_key; /* the last of latency_ms, jitter_ms, bandwidth, slice, slice_ms */
	const char *file;
	char *err;
	size_t errsize;
	struct cr_draft *draft;
};

/* Writes "FILE:LINE: [rule ...: ]message" to ld->err; returns -1. */
int cr_config_fail(struct load *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A setting's value, read by the type its key declares. */
union cr_value {
	long long i;
	double d;
	bool b;
	const char *s;
};

/* The match keys of a rule (config_match.c), for config_rule.c's table. */
int cr_parse_dst(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t);
int cr_parse_host(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t);
int cr_parse_port(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t);
int cr_parse_proto(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t);
int cr_parse_path(struct load *ld, const config_setting_t *s, const union cr_value *v, void *t);
/* "tcp", "udp", "unix": bit i of a rule's protos is 1 << i (CR_PROTO_*). */
extern const char *const cr_proto_names[3];

/* One key of a scope. The parser checks the setting's type (and an
 * integer's range) from here before `parse` sees it; the printer writes it
 * back; messages list a scope's keys from the same table, and a unit test
 * holds the man page to it. */
struct cr_key {
	const char *name;
	enum cr_key_type type;
	long long min, max; /* CR_KEY_INT */
	/* Stores the value into target (a rule, the log settings, the rule
	 * set). GROUP and VALUES keys read the setting themselves. */
	int (*parse)(struct load *ld, const config_setting_t *s, const union cr_value *v, void *target);
	/* NULL: always printed. */
	bool (*present)(const void *target);
	/* Writes the value only: `"refuse"`, `[80, 443]`, `{ up_s = 2; down_s = 1; }`. */
	void (*print)(FILE *out, const void *target);
	const char *assign; /* " = ", or ": " for a group written as `log: {` */
};

struct cr_scope {
	const char *name; /* "top level", "log", "rule" */
	const struct cr_key *keys;
	unsigned nkeys;
	/* In messages: a key as written ("log." for log's), and the scope. */
	const char *key_prefix; /* "", "log.", "" */
	const char *what;       /* "the top level", "log", "a rule" */
};

extern const struct cr_scope cr_scope_top, cr_scope_log, cr_scope_relay, cr_scope_rule;

const struct cr_key *cr_key_find(const struct cr_scope *sc, const char *name);
/* Reads one setting of scope sc into target: type, range, then the key's
 * own checks. An unknown key is an error that lists the scope's keys. */
int cr_key_read(struct load *ld, const struct cr_scope *sc, const config_setting_t *s, void *target);
/* Writes every key of sc that target has, each as `indent name = value;sep`. */
void cr_keys_print(FILE *out, const struct cr_scope *sc, const void *target, const char *indent, const char *sep);

/* Values of elements and of group members, checked the same way. */
int cr_config_int(struct load *ld, const config_setting_t *s, long long *out);
int cr_config_number(struct load *ld, const config_setting_t *s, double *out);
int cr_config_string(struct load *ld, const config_setting_t *s, const char **out);

/* A log level or an action by name (v, the setting's string). */
int cr_config_level(struct load *ld, const config_setting_t *s, const char *v, int *out);
int cr_config_action(struct load *ld, const config_setting_t *s, const char *v, enum cr_action *out);

/* One rule of the rules list (index from 0). */
int cr_config_parse_rule(struct load *ld, const config_setting_t *g, unsigned index, struct cr_draft_rule *r);

/* Printing helpers shared by the key printers. */
void cr_print_quoted(FILE *out, const char *s);
void cr_print_number(FILE *out, double v);

#endif
