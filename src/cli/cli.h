/* The connrefuse command: one file a command (run.c, check.c, compile.c,
 * match.c, decode.c, report.c), the dispatch in main.c, and what they share. */
#ifndef CR_CLI_H
#define CR_CLI_H

#include "engine/addr.h"

#include <stdbool.h>
#include <sys/types.h>

/* Exit statuses of the tool's own failures, as env(1) and timeout(1) use them. */
enum { EXIT_TOOL = 125, EXIT_CANNOT_EXEC = 126, EXIT_NOT_FOUND = 127 };

/* usage.c: "connrefuse: message" and the usage of cmd (NULL: of all), on stderr;
 * returns 2, or 125 for run (its own errors, as env(1)'s). */
int cr_usage_error(const char *cmd, const char *fmt, const char *arg);
/* The help of a command (NULL: all); returns 0, or 2 for an unknown one. */
int cr_help(const char *topic);

/* DST[:PORT] as run --refuse and match take it. */
struct cr_target {
	char host[256]; /* address, CIDR, name, "*", path */
	int port;       /* -1: none */
	bool unix_path;
};
int cr_target_parse(const char *text, struct cr_target *t);
/* TEXT is an IPv6 address whose last group looks like a port ("::1:443",
 * read as an address with no port): true, with what to write in hint. */
bool cr_target_port_like(const char *text, char *hint, size_t size);
/* The destination a target names; a host name stands for an address the
 * program resolved from it (*host set). -1 for a malformed address. */
int cr_target_dest(const struct cr_target *t, struct cr_dest *d, const char **host);

/* load.c: the rules of FILE, text or compiled, as the commands read them:
 * the rule set, its whole checksum verified (VERIFY: a compiled file's),
 * and the same rules as a draft (DRAFT). On failure the message is
 * printed ("connrefuse: FILE...") and -1 returned, nothing held. */
struct cr_rules {
	struct cr_ruleset *set;
	struct cr_draft *draft;
};
enum { CR_RULES_VERIFY = 1, CR_RULES_DRAFT = 2 };
int cr_rules_load(const char *path, unsigned flags, struct cr_rules *r);
void cr_rules_free(struct cr_rules *r);
/* A log.file whose lines could not be written (no folder, no right to
 * write): -1 with why and what to do in msg; 0 for none or a good one. */
int cr_check_log_file(const char *file, char *msg, size_t size);

int cr_cmd_run(int argc, char **argv);
/* relay.c: the relay of faults after connect as a service. */
int cr_cmd_relay(int argc, char **argv);
/* state.c: reload, stats; the run's state file (made, its path exported as
 * CONNREFUSE_RUN_STATE; -1 after saying why); what a rule's scope means
 * (NULL: it has no schedule). */
int cr_cmd_reload(int argc, char **argv);
int cr_cmd_stats(int argc, char **argv);
int cr_run_state_begin(char *path, size_t size);
struct cr_ruleset;
struct cr_rule;
const char *cr_scope_note(const struct cr_ruleset *rs, const struct cr_rule *r);
int cr_cmd_check(int argc, char **argv);
/* check --image ROOT (image_fit.c): 0 when a library of the bundle fits. */
int cr_check_image(const char *root);
/* A root file system as a tar archive (tar_root.c): its index (what could
 * be read of it; NULL when memory is out), and the place of the regular
 * file at PATH inside it, symbolic links followed inside the archive. */
struct cr_tar;
struct cr_tar *cr_tar_open(int fd);
void cr_tar_close(struct cr_tar *t);
bool cr_tar_find(const struct cr_tar *t, const char *path, off_t *off, off_t *size);
/* The bundle folder whose library fits ROOT ("x86_64", "musl-x86_64", ...),
 * or NULL. */
const char *cr_bundle_dir_for(const char *root);
int cr_cmd_compile(int argc, char **argv);
int cr_cmd_match(int argc, char **argv);
int cr_cmd_decode(int argc, char **argv);
int cr_cmd_report(int argc, char **argv);
/* audit.c: the kernel's view (src/audit/); a message in the bundle's static command. */
int cr_cmd_audit(int argc, char **argv);

#endif
