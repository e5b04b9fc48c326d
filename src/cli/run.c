/* connrefuse run: checks the rules, then runs the program with the
 * library preloaded, or under the seccomp supervisor. */
#define _GNU_SOURCE
#include "cli.h"
#include "engine/child.h"
#include "engine/config.h"
#include "engine/config_file.h"
#include "engine/image.h"
#include "relay/relay.h"
#include "seccomp/supervise.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CR_LIBDIR
#define CR_LIBDIR "/usr/local/lib/connrefuse"
#endif

static void append_quoted(char **buf, size_t *len, const char *s)
{
	FILE *f = open_memstream(buf, len);
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
	fclose(f);
}

/* A --refuse/--fail/--drop/--fail-dns option as a rule in config syntax, checked alone so
 * that a mistake is reported against the option, not a line of a file the
 * user never saw. 0, or the exit status of a usage error. */
static int rule_text(FILE *out, unsigned n, const char *option, const char *arg, const char *errname, const char *dst)
{
	struct cr_target t;
	bool dns = strcmp(option, "--fail-dns") == 0;
	if (dns) {
		t = (struct cr_target){ .port = -1 };
		snprintf(t.host, sizeof t.host, "%s", dst);
	} else if (cr_target_parse(dst, &t) != 0) {
		char what[600];
		snprintf(what, sizeof what, "%s %s", option, arg);
		return cr_usage_error("run",
				      "%s: expected DST[:PORT] (a port from 0 to 65535; IPv6 with a port in brackets: [::1]:443)",
				      what);
	}
	char hint[300];
	if (!t.unix_path && t.port < 0 && cr_target_port_like(dst, hint, sizeof hint)) {
		char what[700];
		snprintf(what, sizeof what, "%s %s: %s (the address alone, any port: [%s])", option, arg, hint, dst);
		return cr_usage_error("run", "%s", what);
	}
	char *q = NULL, *rule = NULL;
	size_t qlen, rlen;
	append_quoted(&q, &qlen, t.host);
	FILE *f = open_memstream(&rule, &rlen);
	fprintf(f, "{ name = \"cli-%u\"; %s = %s; ", n, dns ? "host" : t.unix_path ? "path" : "dst", q);
	free(q);
	if (t.port >= 0)
		fprintf(f, "port = %d; ", t.port);
	if (errname)
		fprintf(f, "action = \"fail\"; errno = \"%s\"; }", errname);
	else
		fprintf(f, "action = \"%s\"; }", strcmp(option, "--drop") == 0 ? "drop" : "refuse");
	fclose(f);
	char *one = NULL, err[1024];
	if (asprintf(&one, "version = 1;\nrules = ( %s );\n", rule) < 0)
		one = NULL;
	struct cr_draft *rs = one ? cr_config_parse(one, "(command line)", err, sizeof err) : NULL;
	free(one);
	int rc = 0;
	if (!rs) {
		const char *why = strstr(err, "rule \"cli-");
		why = why && strstr(why, ": ") ? strstr(why, ": ") + 2 : err;
		fprintf(stderr, "connrefuse: %s %s: %s\n", option, arg, why);
		rc = EXIT_TOOL;
	} else {
		fprintf(out, "%s%s", n > 1 ? ",\n  " : "  ", rule);
	}
	cr_draft_free(rs);
	free(rule);
	return rc;
}

/* PATH (in out) is readable: made absolute and free of "..". */
static bool readable_real(char *out, size_t size)
{
	char real[PATH_MAX];
	if (access(out, R_OK) != 0)
		return false;
	if (realpath(out, real))
		snprintf(out, size, "%s", real);
	return true;
}

static int find_library(char *out, size_t size)
{
	const char *env = getenv("CONNREFUSE_LIBRARY");
	if (env && *env) {
		snprintf(out, size, "%s", env);
		return access(out, R_OK);
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *dir = dirname(exe);
		/* The build tree keeps both side by side; an install puts the
		 * library under lib/connrefuse beside bin/. */
		snprintf(out, size, "%s/libconnrefuse.so", dir);
		if (access(out, R_OK) == 0)
			return 0;
		snprintf(out, size, "%s/../lib/connrefuse/libconnrefuse.so", dir);
		if (readable_real(out, size))
			return 0;
		/* The bundle's bin/: the library of the bundle that fits this root. */
		const char *fit = cr_bundle_dir_for("/");
		if (fit) {
			snprintf(out, size, "%s/../%s/libconnrefuse.so", dir, fit);
			if (readable_real(out, size))
				return 0;
		}
	}
	snprintf(out, size, "%s/libconnrefuse.so", CR_LIBDIR);
	return access(out, R_OK);
}

static int exit_status_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		/* Die of the same signal, so that our parent sees what the program did. */
		int sig = WTERMSIG(status);
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		return 128 + sig;
	}
	return EXIT_TOOL;
}

struct run_opts {
	const char *config;
	bool log_stderr, seccomp;
	char *cli_rules; /* the rules of --refuse, --fail, --drop and --fail-dns, in config syntax */
	size_t cli_len;
	unsigned nrules, dns_rules;
	char **prog;
};

/* --fail-dns CODE=NAME whose CODE is no resolver code: the usage error,
 * naming the code for a DNS answer users know by name (NXDOMAIN, ...). */
static int not_a_resolver_code(const char *arg, const char *code)
{
	static const char *const dns[][2] = { { "NXDOMAIN", "EAI_NONAME" },
					      { "SERVFAIL", "EAI_AGAIN" },
					      { "TIMEOUT", "EAI_AGAIN" },
					      { "NODATA", "EAI_NODATA" },
					      { "REFUSED", "EAI_FAIL" } };
	const char *near = NULL;
	for (size_t i = 0; i < sizeof dns / sizeof *dns; i++)
		if (strcasecmp(code, dns[i][0]) == 0)
			near = dns[i][1];
	char what[1200];
	snprintf(what, sizeof what,
		 "--fail-dns %s: %s is not a resolver code; %s%s%suse EAI_NONAME "
		 "(the name does not exist, NXDOMAIN), EAI_AGAIN (a server that times out or answers "
		 "SERVFAIL), EAI_FAIL or EAI_NODATA (no address)",
		 arg, code, near ? "for that, write " : "", near ? near : "", near ? "; " : "");
	return cr_usage_error("run", "%s", what);
}

/* --fail ERRNO=DST[:PORT] (c 'f') or --fail-dns EAI_CODE=NAME (c 'D') as a
 * rule; 0, or the exit status of a usage error. */
static int fail_rule(FILE *rules, struct run_opts *o, int c, char *text)
{
	char arg[512];
	const char *option = c == 'f' ? "--fail" : "--fail-dns";
	snprintf(arg, sizeof arg, "%s", text);
	char *eq = strchr(text, '=');
	if (!eq)
		return cr_usage_error("run",
				      c == 'f' ? "--fail %s: expected ERRNO=DST[:PORT]"
					       : "--fail-dns %s: expected EAI_CODE=NAME (EAI_NONAME=db.internal)",
				      text);
	*eq = '\0';
	if (c == 'D' && strncmp(text, "EAI_", 4) != 0)
		return not_a_resolver_code(arg, text);
	if (c == 'D')
		o->dns_rules++;
	return rule_text(rules, ++o->nrules, option, arg, text, eq + 1);
}

/* What the options say together, once they are read; 0, or the exit status
 * of a usage error. */
static int finish_options(int argc, char **argv, struct run_opts *o)
{
	if (o->dns_rules && o->seccomp)
		return cr_usage_error(
			"run", "%s",
			"run: --fail-dns needs the preload: resolver faults are not made under --seccomp (the resolver is a library, and Go's own resolver bypasses it)");
	if (optind >= argc)
		return cr_usage_error("run", "%s", "run: no PROGRAM given (put it after --)");
	o->prog = argv + optind;
	if (!o->config) {
		o->config = getenv("CONNREFUSE_CONFIG");
		if (o->config && !*o->config)
			o->config = NULL;
	}
	return 0;
}

/* Reads the options; 0, or the exit status of a usage error. */
static int parse_options(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "refuse", required_argument, NULL, 'r' },
		{ "fail", required_argument, NULL, 'f' },
		{ "drop", required_argument, NULL, 'd' },
		{ "fail-dns", required_argument, NULL, 'D' },
		{ "log-stderr", no_argument, NULL, 'l' },
		{ "seccomp", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	FILE *rules = open_memstream(&o->cli_rules, &o->cli_len);
	int c, rc = -1;
	optind = 1;
	while (rc < 0 && (c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'r':
		case 'd':
			if ((c = rule_text(rules, ++o->nrules, c == 'r' ? "--refuse" : "--drop", optarg, NULL,
					   optarg)) != 0)
				rc = c;
			break;
		case 'f':
		case 'D':
			if ((c = fail_rule(rules, o, c, optarg)) != 0)
				rc = c;
			break;
		case 'l':
			o->log_stderr = true;
			break;
		case 's':
			o->seccomp = true;
			break;
		case 'h':
			rc = cr_help("run");
			break;
		default:
			rc = cr_usage_error("run", "%s", "run: bad option");
		}
	}
	fclose(rules);
	return rc >= 0 ? rc : finish_options(argc, argv, o);
}

/* The rules of the command line first, then the file's, written to a
 * temporary file for the program to read (its path in tmp): compiled when
 * the file was (a big set stays cheap to load), else as text. */
static int write_generated(const struct run_opts *o, const struct cr_ruleset *rs, char *tmp, size_t tmpsize)
{
	char err[1024], *text = NULL;
	size_t tlen;
	FILE *f = open_memstream(&text, &tlen);
	fprintf(f, "version = 1;\nrules = (\n%s\n);\n", o->cli_rules ? o->cli_rules : "");
	fclose(f);
	struct cr_draft *all = cr_config_parse(text, "(command line)", err, sizeof err);
	free(text);
	if (!all) {
		fprintf(stderr, "connrefuse: %s\n", err);
		return -1;
	}
	struct cr_draft *file = rs ? cr_ruleset_to_draft(rs) : NULL;
	if (rs && (!file || cr_draft_prepend(file, all) != 0)) {
		fprintf(stderr, "connrefuse: out of memory\n");
		cr_draft_free(file);
		cr_draft_free(all);
		return -1;
	}
	if (file) {
		cr_draft_free(all);
		all = file;
	}
	if (o->log_stderr)
		all->log.to_stderr = true;
	const char *dir = getenv("TMPDIR");
	snprintf(tmp, tmpsize, "%s/connrefuse-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(tmp);
	int rc = fd >= 0 ? 0 : -1;
	if (fd >= 0 && rs && rs->compiled) {
		size_t len;
		void *img = cr_image_build(all, rs->source_hash, &len);
		rc = img && cr_image_write(img, len, tmp, false, err, sizeof err) == 0 ? 0 : -1;
		cr_image_release(img, len);
		close(fd);
	} else if (fd >= 0) {
		FILE *out = fdopen(fd, "w");
		if (out) {
			cr_config_print(all, out);
			rc = fclose(out) == 0 ? 0 : -1;
		} else {
			close(fd);
			rc = -1;
		}
	}
	if (rc != 0) {
		fprintf(stderr, "connrefuse: cannot write a temporary config in %s: %s\n", tmp, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		*tmp = '\0';
	}
	cr_draft_free(all);
	return rc;
}

static void exec_or_report(char **prog)
{
	execvp(prog[0], prog);
	fprintf(stderr, "connrefuse: cannot run %s: %s\n", prog[0], strerror(errno));
}

/* The loader splits LD_PRELOAD at spaces and colons: a library whose path
 * holds one is preloaded through an alias, a symlink in a private folder
 * (made here, removed when the program ends). 0, or -1 after saying why. */
static int safe_alias(const char *lib, char *alias, size_t size, char *dir, size_t dirsize)
{
	*dir = '\0';
	if (!strpbrk(lib, " \t\n:")) {
		snprintf(alias, size, "%s", lib);
		return 0;
	}
	const char *tmpdir = getenv("TMPDIR");
	snprintf(dir, dirsize, "%s/connrefuse-lib-XXXXXX",
		 tmpdir && *tmpdir && !strpbrk(tmpdir, " \t\n:") ? tmpdir : "/tmp");
	if (!mkdtemp(dir) || (snprintf(alias, size, "%s/libconnrefuse.so", dir), symlink(lib, alias) != 0)) {
		fprintf(stderr,
			"connrefuse: cannot preload %s: the loader splits LD_PRELOAD at spaces and colons, "
			"and no alias could be made in %s (%s); install connrefuse under a path without them\n",
			lib, dir, strerror(errno));
		if (*dir)
			rmdir(dir);
		return -1;
	}
	return 0;
}

/* The relay starts serving once the program is forked (cr_relay_start). */
static void relay_start(void *arg)
{
	char err[300];
	if (arg && cr_relay_start(arg, err, sizeof err) != 0)
		fprintf(stderr, "connrefuse: %s: faults after connect are not made; their connections pass untouched\n",
			err);
}

/* Once the program ended: what a full relay let pass, and its socket gone. */
static void relay_end(struct cr_relay *relay)
{
	if (relay && cr_relay_full(relay))
		fprintf(stderr, "connrefuse: relay: %lu connection%s passed untouched: the relay was full\n",
			cr_relay_full(relay), cr_relay_full(relay) == 1 ? "" : "s");
	cr_relay_close(relay);
}

/* With a generated config or an alias, which must outlive the program and
 * then go, the program runs as a child and is waited for; otherwise it
 * replaces us. */
static int run_preloaded(char **prog, const char *lib, const char *tmp, const char *state, struct cr_relay *relay)
{
	char alias[PATH_MAX], dir[PATH_MAX];
	if (safe_alias(lib, alias, sizeof alias, dir, sizeof dir) != 0) {
		if (*tmp)
			unlink(tmp);
		return EXIT_TOOL;
	}
	const char *old = getenv("LD_PRELOAD");
	char *preload;
	if (asprintf(&preload, "%s%s%s", alias, old && *old ? ":" : "", old && *old ? old : "") < 0)
		return EXIT_TOOL;
	setenv("LD_PRELOAD", preload, 1);
	free(preload);
	if (!*tmp && !*dir && !*state && !relay) {
		exec_or_report(prog);
		return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	}
	pid_t child = fork();
	if (child == 0) {
		exec_or_report(prog);
		_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
	}
	int status = 0;
	if (child > 0)
		relay_start(relay);
	if (child < 0) {
		fprintf(stderr, "connrefuse: fork: %s\n", strerror(errno));
	} else {
		cr_child_signals_begin(child);
		status = cr_child_wait(child);
		cr_child_signals_end();
	}
	if (*tmp)
		unlink(tmp);
	if (*state)
		unlink(state);
	if (*dir) {
		unlink(alias);
		rmdir(dir);
	}
	relay_end(relay);
	return child < 0 ? EXIT_TOOL : exit_status_of(status);
}

int cr_cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	int rc = parse_options(argc, argv, &o);
	if (rc != 0 || !o.prog) {
		free(o.cli_rules);
		return rc;
	}
	/* Check everything before the program starts. */
	char err[1024];
	struct cr_rules rules = { 0 };
	if (o.config && cr_rules_load(o.config, 0, &rules) != 0) {
		free(o.cli_rules);
		return EXIT_TOOL;
	}
	struct cr_ruleset *rs = rules.set;
	/* One folder for the relative paths of every process of the run, this
	 * one: a program that changes folder, or starts another in a different
	 * one, still writes its lines to one log.file. */
	char start_dir[PATH_MAX];
	if (cr_start_dir(getenv("CONNREFUSE_START_DIR"), start_dir, sizeof start_dir) == 0)
		setenv("CONNREFUSE_START_DIR", start_dir, 1);
	else
		start_dir[0] = '\0';
	if (rs)
		cr_log_file_absolute(&rs->log, start_dir);
	if (rs && cr_check_log_file(rs->log.file, err, sizeof err) != 0) {
		fprintf(stderr, "connrefuse: %s: %s (nothing was run)\n", o.config, err);
		cr_rules_free(&rules);
		free(o.cli_rules);
		return EXIT_TOOL;
	}
	if (o.seccomp && rs && rs->nresolvers)
		fprintf(stderr,
			"connrefuse: run --seccomp: the %u host rule%s of %s %s not applied: resolver faults need the "
			"preload (the resolver is a library, and Go's own resolver bypasses it)\n",
			rs->nresolvers, rs->nresolvers == 1 ? "" : "s", o.config, rs->nresolvers == 1 ? "is" : "are");
	/* Faults after connect: the relay is this process's, for its program
	 * (the library finds it by CR_RELAY_ENV; the supervisor is told). The
	 * library's is made for a rules file without any too: a reload can
	 * bring one, and the library then finds the relay. It waits unasked
	 * (a socket and a thread in this process; nothing in the program's). */
	struct cr_relay *relay = NULL;
	bool faults = rs && cr_ruleset_faults(rs);
	if (faults || (rs && o.config && !o.seccomp)) {
		if (!(relay = cr_relay_open(&rs->log, err, sizeof err))) {
			if (faults)
				fprintf(stderr,
					"connrefuse: %s: faults after connect are not made; their connections pass untouched\n",
					err);
		} else if (!o.seccomp) {
			setenv(CR_RELAY_ENV, cr_relay_path(relay), 1);
		}
	}
	char lib[PATH_MAX];
	if (!o.seccomp && find_library(lib, sizeof lib) != 0) {
		fprintf(stderr,
			"connrefuse: cannot find libconnrefuse.so (looked beside this program, in ../lib/connrefuse, in the bundle folder that fits this root and in %s; set CONNREFUSE_LIBRARY)\n",
			CR_LIBDIR);
		return EXIT_TOOL;
	}
	char tmp[PATH_MAX] = "", abs_config[PATH_MAX];
	if ((o.nrules || o.log_stderr) && write_generated(&o, rs, tmp, sizeof tmp) != 0)
		return EXIT_TOOL;
	const char *config = *tmp ? tmp : o.config;
	if (config) {
		/* Absolute, symlinks left as they are (a ConfigMap's ..data). */
		if (cr_config_absolute(config, abs_config, sizeof abs_config) != 0)
			snprintf(abs_config, sizeof abs_config, "%s", config);
		setenv("CONNREFUSE_CONFIG", abs_config, 1);
		/* The relay's lines go where the rules in force say, reloaded too. */
		if (relay)
			cr_relay_follow(relay, abs_config, start_dir);
	}
	/* The schedules' scope "run": a state file of this run's alone. */
	char state[PATH_MAX] = "";
	if (config)
		cr_run_state_begin(state, sizeof state);
	cr_rules_free(&rules);
	free(o.cli_rules);
	if (o.seccomp) {
		/* No preload: the supervisor applies the same rules. */
		struct cr_sv_relay sr = { relay ? cr_relay_path(relay) : NULL, relay_start, relay };
		int status = cr_supervise(config ? abs_config : NULL, o.prog, relay ? &sr : NULL);
		if (*tmp)
			unlink(tmp);
		if (*state)
			unlink(state);
		relay_end(relay);
		return status < 0 ? EXIT_TOOL : exit_status_of(status);
	}
	return run_preloaded(o.prog, lib, tmp, state, relay);
}
