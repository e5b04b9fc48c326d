/* connrefuse run: checks the rules, then runs the program with the
 * library preloaded, or under the seccomp supervisor. */
#define _GNU_SOURCE
#include "cli.h"
#include "engine/child.h"
#include "engine/config.h"
#include "seccomp/supervise.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* A --refuse/--fail option as a rule in config syntax. */
static int rule_text(FILE *out, unsigned n, const char *errname, const char *dst)
{
	struct cr_target t;
	if (cr_target_parse(dst, &t) != 0)
		return -1;
	char *q = NULL;
	size_t qlen;
	append_quoted(&q, &qlen, t.host);
	fprintf(out, "%s{ name = \"cli-%u\"; %s = %s; ", n > 1 ? ",\n  " : "  ", n,
		t.unix_path ? "path" : "dst", q);
	free(q);
	if (t.port >= 0)
		fprintf(out, "port = %d; ", t.port);
	if (errname)
		fprintf(out, "action = \"fail\"; errno = \"%s\"; }", errname);
	else
		fprintf(out, "action = \"refuse\"; }");
	return 0;
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
		if (access(out, R_OK) == 0) {
			char real[PATH_MAX];
			if (realpath(out, real))
				snprintf(out, size, "%s", real);
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
	char *cli_rules;         /* the rules of --refuse and --fail, in config syntax */
	size_t cli_len;
	unsigned nrules;
	char **prog;
};

/* Reads the options; 0, or the exit status of a usage error. */
static int parse_options(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "refuse", required_argument, NULL, 'r' },
		{ "fail", required_argument, NULL, 'f' },
		{ "log-stderr", no_argument, NULL, 'l' },
		{ "seccomp", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	FILE *rules = open_memstream(&o->cli_rules, &o->cli_len);
	int c, rc = -1;
	optind = 1;
	while (rc < 0 && (c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		char *eq;
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'r':
			if (rule_text(rules, ++o->nrules, NULL, optarg) != 0)
				rc = cr_usage_error("--refuse %s: expected DST[:PORT]", optarg);
			break;
		case 'f':
			if (!(eq = strchr(optarg, '='))) {
				rc = cr_usage_error("--fail %s: expected ERRNO=DST[:PORT]", optarg);
				break;
			}
			*eq = '\0';
			if (rule_text(rules, ++o->nrules, optarg, eq + 1) != 0)
				rc = cr_usage_error("--fail: %s: expected DST[:PORT]", eq + 1);
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
			rc = cr_usage_error("%s", "run: bad option");
		}
	}
	fclose(rules);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cr_usage_error("%s", "run: no PROGRAM given (put it after --)");
	o->prog = argv + optind;
	if (!o->config) {
		o->config = getenv("CONNREFUSE_CONFIG");
		if (o->config && !*o->config)
			o->config = NULL;
	}
	return 0;
}

/* The rules of the command line first, then the file's, written to a
 * temporary file for the program to read (its path in tmp). */
static int write_generated(const struct run_opts *o, struct cr_ruleset *rs, char *tmp, size_t tmpsize)
{
	char err[1024], *text = NULL;
	size_t tlen;
	FILE *f = open_memstream(&text, &tlen);
	fprintf(f, "version = 1;\nrules = (\n%s\n);\n", o->cli_rules ? o->cli_rules : "");
	fclose(f);
	struct cr_ruleset *cli = cr_config_load_string(text, "(command line)", err, sizeof err);
	free(text);
	if (!cli) {
		fprintf(stderr, "connrefuse: %s\n", err);
		return -1;
	}
	if (rs && cr_ruleset_prepend(rs, cli) != 0) {
		fprintf(stderr, "connrefuse: out of memory\n");
		cr_ruleset_free(cli);
		return -1;
	}
	struct cr_ruleset *all = rs ? rs : cli;
	if (o->log_stderr)
		all->log.to_stderr = true;
	const char *dir = getenv("TMPDIR");
	snprintf(tmp, tmpsize, "%s/connrefuse-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(tmp);
	FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!out) {
		fprintf(stderr, "connrefuse: cannot write a temporary config in %s: %s\n", tmp, strerror(errno));
		cr_ruleset_free(cli); /* all, or emptied into rs */
		*tmp = '\0';
		return -1;
	}
	cr_config_print(all, out);
	fclose(out);
	cr_ruleset_free(cli);
	return 0;
}

static void exec_or_report(char **prog)
{
	execvp(prog[0], prog);
	fprintf(stderr, "connrefuse: cannot run %s: %s\n", prog[0], strerror(errno));
}

/* With a generated config, which must outlive the program and then go,
 * the program runs as a child and is waited for; otherwise it replaces us. */
static int run_preloaded(char **prog, const char *lib, const char *tmp)
{
	const char *old = getenv("LD_PRELOAD");
	char *preload;
	if (asprintf(&preload, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "") < 0)
		return EXIT_TOOL;
	setenv("LD_PRELOAD", preload, 1);
	free(preload);
	if (!*tmp) {
		exec_or_report(prog);
		return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	}
	pid_t child = fork();
	if (child < 0) {
		unlink(tmp);
		fprintf(stderr, "connrefuse: fork: %s\n", strerror(errno));
		return EXIT_TOOL;
	}
	if (child == 0) {
		exec_or_report(prog);
		_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
	}
	cr_child_signals_begin(child);
	int status = cr_child_wait(child);
	unlink(tmp);
	cr_child_signals_end();
	return exit_status_of(status);
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
	struct cr_ruleset *rs = NULL;
	if (o.config && !(rs = cr_config_load(o.config, err, sizeof err))) {
		fprintf(stderr, "connrefuse: %s\n", err);
		free(o.cli_rules);
		return EXIT_TOOL;
	}
	char lib[PATH_MAX];
	if (!o.seccomp && find_library(lib, sizeof lib) != 0) {
		fprintf(stderr, "connrefuse: cannot find libconnrefuse.so (looked beside this program, in ../lib/connrefuse and in %s; set CONNREFUSE_LIBRARY)\n", CR_LIBDIR);
		return EXIT_TOOL;
	}
	char tmp[PATH_MAX] = "", abs_config[PATH_MAX];
	if ((o.nrules || o.log_stderr) && write_generated(&o, rs, tmp, sizeof tmp) != 0)
		return EXIT_TOOL;
	const char *config = *tmp ? tmp : o.config;
	if (config) {
		if (!realpath(config, abs_config))
			snprintf(abs_config, sizeof abs_config, "%s", config);
		setenv("CONNREFUSE_CONFIG", abs_config, 1);
	}
	cr_ruleset_free(rs);
	free(o.cli_rules);
	if (o.seccomp) {
		/* No preload: the supervisor applies the same rules. */
		int status = cr_supervise(config ? abs_config : NULL, o.prog);
		if (*tmp)
			unlink(tmp);
		return status < 0 ? EXIT_TOOL : exit_status_of(status);
	}
	return run_preloaded(o.prog, lib, tmp);
}
