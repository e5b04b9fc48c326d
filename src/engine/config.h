/* Config files: libconfig text in, the compact rule set of rules.h out, and
 * back to text (what `connrefuse check` prints). Every key of the format is
 * declared once, in a table (config_load.c: the top level and log;
 * config_rule.c: a rule), which the parser, the printer, the messages and
 * the man page check all read through config_keys.c. */
#ifndef CR_CONFIG_H
#define CR_CONFIG_H

#include "rules.h"

#include <stdio.h>

/* A rules file, text or compiled (recognised by its header), as a rule
 * set. On failure these return NULL and write one message, "FILE:LINE:
 * problem", to err. */
struct cr_ruleset *cr_config_load(const char *path, char *err, size_t errsize);
/* The same, refusing a text file of more than text_max bytes (a reload
 * inside a connect parses only small ones; a compiled file has no bound). */
struct cr_ruleset *cr_config_load_bounded(const char *path, size_t text_max, char *err, size_t errsize);
/* The same from text already in memory; name is used in messages. */
struct cr_ruleset *cr_config_load_string(const char *text, const char *name, char *err, size_t errsize);
/* Text to a draft; a draft to a rule set (its image built in memory). */
struct cr_draft *cr_config_parse(const char *text, const char *name, char *err, size_t errsize);
struct cr_ruleset *cr_config_build(const struct cr_draft *d, uint64_t source_hash, char *err, size_t errsize);
/* A rule set with no rules and the default log settings: audit mode (NULL
 * when memory is out). */
struct cr_ruleset *cr_ruleset_new_empty(void);

/* The text files a reload parses inside a connect: about 5 ms of parsing
 * here (README, "Reload"). A bigger one must be compiled to reload. */
#define CR_RELOAD_TEXT_MAX (64u << 10)

/* Writes a draft back as a config file. */
void cr_config_print(const struct cr_draft *d, FILE *out);
/* One rule in config syntax, "{ name = ...; ... }": also its identity
 * across reloads (ruleset.c compares these texts). */
void cr_config_print_rule(const struct cr_draft_rule *r, FILE *out);

enum cr_key_type { CR_KEY_STRING, CR_KEY_INT, CR_KEY_NUMBER, CR_KEY_BOOL, CR_KEY_GROUP, CR_KEY_VALUES };

/* Calls fn for every key the format has: scope is "top level", "log" or "rule". */
void cr_config_each_key(void (*fn)(const char *scope, const char *name, enum cr_key_type type, void *arg), void *arg);

/* The errno names a `fail` rule may carry, NULL-terminated. */
extern const char *const cr_fail_errnos[];
/* Those a `fail` host rule may carry (the resolver's), NULL-terminated. */
extern const char *const cr_resolver_errnos[];

#endif
