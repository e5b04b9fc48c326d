/* connrefuse audit [-c FILE] [--json] [--cgroup PATH] [--uid N] [--ring-size BYTES]:
 * the kernel's view of every failed TCP connect of the machine (src/audit/),
 * logged as the library logs, until SIGINT or SIGTERM. Lines go to standard
 * output (logfmt, or JSON with --json) and to the sinks of FILE's log
 * settings; the rules of FILE with action "log" choose what is logged. */
#define _GNU_SOURCE
#include "cli.h"

#ifdef CR_NO_AUDIT
#include <stdio.h>

/* The static command of the bundle has no eBPF loader (libbpf needs glibc). */
int cr_cmd_audit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "connrefuse: audit is not in this build (the bundle's static command has no eBPF loader): "
			"run the connrefuse command built on the host (make; make install), as root\n");
	return 1;
}
#else
#include "audit/audit.h"
#include "engine/rules.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void each(const struct cr_audit_record *r, void *arg)
{
	cr_audit_log_record(arg, r);
}

/* --uid: a number or a user name. */
static int parse_uid(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s && !*end && !errno && v >= 0 && v < 0x7fffffff)
		return (int)v;
	struct passwd *pw = getpwnam(s);
	return pw ? (int)pw->pw_uid : -1;
}

static int parse_ring(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v == 0 || v > (1UL << 30))
		return -1;
	*out = (unsigned)v;
	return 0;
}

int cr_cmd_audit(int argc, char **argv)
{
	const char *config = NULL;
	bool json = false;
	struct cr_audit_opts o = { .uid = -1 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return cr_help("audit");
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && more) {
			config = argv[++i];
		} else if (strcmp(a, "--cgroup") == 0 && more) {
			o.cgroup = argv[++i];
		} else if (strcmp(a, "--uid") == 0 && more) {
			if ((o.uid = parse_uid(argv[++i])) < 0)
				return cr_usage_error("audit",
						      "audit: --uid %s: no such user (a number or a user name)",
						      argv[i]);
		} else if (strcmp(a, "--ring-size") == 0 && more) {
			if (parse_ring(argv[++i], &o.ring_bytes) != 0)
				return cr_usage_error("audit", "audit: --ring-size %s: a number of bytes", argv[i]);
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--cgroup") == 0 ||
			   strcmp(a, "--uid") == 0 || strcmp(a, "--ring-size") == 0) {
			return cr_usage_error("audit", "audit: %s needs a value", a);
		} else {
			return cr_usage_error("audit", "audit: unknown argument '%s'", a);
		}
	}
	struct cr_rules rules = { 0 };
	char err[1024];
	if (config) {
		if (cr_rules_load(config, 0, &rules) != 0)
			return 1;
		if (cr_check_log_file(rules.set->log.file, err, sizeof err) != 0) {
			fprintf(stderr, "connrefuse: %s: %s\n", config, err);
			cr_rules_free(&rules);
			return 1;
		}
	}
	/* Standard output: the file sink on /dev/stdout, under the config's rate
	 * limit (or the default's), counted as every sink is. */
	struct cr_draft *defaults = cr_draft_new("(audit)");
	if (!defaults) {
		fprintf(stderr, "connrefuse: out of memory\n");
		cr_rules_free(&rules);
		return 1;
	}
	struct cr_log_conf out = rules.set ? rules.set->log : defaults->log;
	cr_draft_free(defaults);
	out.syslog = false;
	out.to_stderr = false;
	out.json = json;
	out.level = CR_LEVEL_FAILURES;
	snprintf(out.file, sizeof out.file, "/dev/stdout");
	struct cr_log_state out_state = CR_LOG_STATE_INIT, conf_state = CR_LOG_STATE_INIT;
	struct cr_audit_log log;
	cr_audit_log_init(&log, rules.set);
	log.sinks[log.nsinks++] = (struct cr_audit_sink){ &out, &out_state };
	if (rules.set && (rules.set->log.syslog || rules.set->log.file[0]))
		log.sinks[log.nsinks++] = (struct cr_audit_sink){ &rules.set->log, &conf_state };

	struct cr_audit *a = cr_audit_open(&o, err, sizeof err);
	if (!a) {
		fprintf(stderr, "connrefuse: audit: %s\n", err);
		cr_rules_free(&rules);
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	char scope[256] = "";
	if (o.cgroup || o.uid >= 0)
		snprintf(scope, sizeof scope, "%s%s%s", o.cgroup ? " in cgroup " : "", o.cgroup ? o.cgroup : "",
			 o.uid >= 0 ? " of one user" : "");
	if (*cr_audit_note(a))
		fprintf(stderr, "connrefuse: audit: note: %s\n", cr_audit_note(a));
	fprintf(stderr, "connrefuse: audit: watching every failed TCP connect%s%s (stop with Ctrl-C)\n",
		*cr_audit_note(a) ? "" : " and UDP error", scope);
	int rc = 0;
	time_t last = time(NULL);
	while (!stop) {
		if (cr_audit_poll(a, 250, each, &log) < 0 && errno != EINTR) {
			fprintf(stderr, "connrefuse: audit: reading the ring buffer: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		/* Losses at once; what the rate limit suppressed once a second
		 * (the engine also reports it with the next line of a new second). */
		time_t now = time(NULL);
		if (cr_audit_lost(a) != log.lost_seen || now != last) {
			cr_audit_log_summary(&log, cr_audit_lost(a));
			last = now;
		}
	}
	/* What is still in the ring, then the last summary. */
	cr_audit_poll(a, 0, each, &log);
	cr_audit_log_summary(&log, cr_audit_lost(a));
	cr_audit_close(a);
	cr_rules_free(&rules);
	return rc;
}
#endif
