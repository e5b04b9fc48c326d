/* connrefuse: the command-line tool. run, check, match, decode. */
#define _GNU_SOURCE
#include "connrefuse.h"
#include "decide.h"
#include "errtab.h"
#include "report.h"
#include "supervise.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit statuses of the tool's own failures, as env(1) and timeout(1) use them. */
enum { EXIT_TOOL = 125, EXIT_CANNOT_EXEC = 126, EXIT_NOT_FOUND = 127 };

#ifndef CR_LIBDIR
#define CR_LIBDIR "/usr/local/lib/connrefuse"
#endif

static const char usage_text[] =
	"usage: connrefuse run [--seccomp] [-c FILE] [--refuse DST[:PORT]]... [--fail ERRNO=DST[:PORT]]... [--log-stderr] -- PROGRAM [ARGS...]\n"
	"       connrefuse check FILE\n"
	"       connrefuse match FILE DST[:PORT] [--proto P] [--process NAME] [--host NAME]\n"
	"       connrefuse decode [--json] CODE...\n"
	"       connrefuse report [--json] [LOGFILE|-]\n"
	"       connrefuse --version | --help [COMMAND]\n";

static const char *const help_texts[][2] = {
	{ "run",
	  "connrefuse run [--seccomp] [-c FILE] [--refuse DST[:PORT]]... [--fail ERRNO=DST[:PORT]]... [--log-stderr] -- PROGRAM [ARGS...]\n"
	  "\n"
	  "Runs PROGRAM with libconnrefuse.so preloaded (prepended to any LD_PRELOAD),\n"
	  "or, with --seccomp, under a supervisor that traps its connects instead.\n"
	  "The rules come from FILE (-c, or CONNREFUSE_CONFIG), with the rules of\n"
	  "--refuse and --fail put before them. The config is checked first: an error\n"
	  "stops here (exit 125) before PROGRAM starts. PROGRAM's exit status is passed\n"
	  "through (126: cannot execute, 127: not found).\n"
	  "\n"
	  "  -c, --config FILE      rules file\n"
	  "  --refuse DST[:PORT]    refuse connects to DST (address, CIDR, host name, *,\n"
	  "                         [v6]:port, /unix/path or @abstract)\n"
	  "  --fail ERRNO=DST[:PORT]  fail them with ERRNO (ETIMEDOUT, EHOSTUNREACH, ...)\n"
	  "  --log-stderr           also write each log line to PROGRAM's stderr\n"
	  "  --seccomp              supervise through seccomp instead of preloading: covers static\n"
	  "                         binaries and raw system calls (Go); see the README\n" },
	{ "check",
	  "connrefuse check FILE\n"
	  "\n"
	  "Validates FILE and prints the rule set as understood, as a config file.\n"
	  "On an error prints FILE:LINE: problem and exits 1.\n" },
	{ "match",
	  "connrefuse match FILE DST[:PORT] [--proto tcp|udp|unix] [--process NAME] [--host NAME]\n"
	  "\n"
	  "Says which rule of FILE would decide a connect to DST, whether its schedule\n"
	  "would let it fire on its next attempt, and what it would do. DST may be a\n"
	  "host name: it then stands for an address the process resolved from it.\n" },
	{ "decode",
	  "connrefuse decode [--json] CODE...\n"
	  "\n"
	  "Explains errno values and Winsock codes: 111, 0x6f, ECONNREFUSED, 10061,\n"
	  "0x274D, WSAECONNREFUSED. Exits 1 if a code is unknown.\n" },
	{ "report",
	  "connrefuse report [--json] [LOGFILE|-]\n"
	  "\n"
	  "Summarises log lines (the file sink, or syslog or journal text: anything\n"
	  "before \"result=\" is skipped) read from LOGFILE or standard input: events\n"
	  "by result, then by destination, rule, process and error, with simulated\n"
	  "and real failures counted apart, and the lines the rate limit suppressed\n"
	  "or a busy syslog dropped.\n" },
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "connrefuse: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return 2;
}

static int cmd_help(const char *topic)
{
	if (topic)
		for (unsigned i = 0; i < sizeof help_texts / sizeof help_texts[0]; i++)
			if (strcmp(help_texts[i][0], topic) == 0) {
				fputs(help_texts[i][1], stdout);
				return 0;
			}
	printf("connrefuse %s: make chosen connect() calls fail as the kernel would, and log\n"
	       "every refusal with its error decoded.\n\n%s\n"
	       "connrefuse --help COMMAND tells more; man connrefuse, man connrefuse.cfg.\n",
	       CONNREFUSE_VERSION, usage_text);
	return 0;
}

/* ---- DST[:PORT] ---- */

struct target {
	char host[256];   /* address, CIDR, name, "*", path */
	int port;         /* -1: none */
	bool unix_path;
};

static int parse_target(const char *text, struct target *t)
{
	t->port = -1;
	t->unix_path = text[0] == '/' || text[0] == '@';
	if (t->unix_path) {
		if (strlen(text) >= sizeof t->host)
			return -1;
		strcpy(t->host, text);
		return 0;
	}
	const char *port = NULL;
	size_t hlen;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close)
			return -1;
		hlen = (size_t)(close - text - 1);
		text++;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -1;
	} else {
		const char *colon = strrchr(text, ':');
		/* More than one colon without brackets: an IPv6 address, no port. */
		if (colon && strchr(text, ':') == colon)
			port = colon + 1;
		hlen = port ? (size_t)(colon - text) : strlen(text);
	}
	if (hlen == 0 || hlen >= sizeof t->host)
		return -1;
	memcpy(t->host, text, hlen);
	t->host[hlen] = '\0';
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
			return -1;
		t->port = (int)p;
	}
	return 0;
}

/* ---- run ---- */

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
	struct target t;
	if (parse_target(dst, &t) != 0)
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

static pid_t child_pid;
static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static int cmd_run(int argc, char **argv)
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
	const char *config = NULL;
	bool log_stderr = false, seccomp = false;
	char *cli_rules = NULL;
	size_t cli_len = 0;
	FILE *rules = open_memstream(&cli_rules, &cli_len);
	unsigned nrules = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'r':
			if (rule_text(rules, ++nrules, NULL, optarg) != 0)
				return usage_error("--refuse %s: expected DST[:PORT]", optarg);
			break;
		case 'f': {
			char *eq = strchr(optarg, '=');
			if (!eq)
				return usage_error("--fail %s: expected ERRNO=DST[:PORT]", optarg);
			*eq = '\0';
			if (rule_text(rules, ++nrules, optarg, eq + 1) != 0)
				return usage_error("--fail: %s: expected DST[:PORT]", eq + 1);
			break;
		}
		case 'l':
			log_stderr = true;
			break;
		case 's':
			seccomp = true;
			break;
		case 'h':
			return cmd_help("run");
		default:
			return usage_error("%s", "run: bad option");
		}
	}
	fclose(rules);
	if (optind >= argc) {
		free(cli_rules);
		return usage_error("%s", "run: no PROGRAM given (put it after --)");
	}
	if (!config) {
		config = getenv("CONNREFUSE_CONFIG");
		if (config && !*config)
			config = NULL;
	}

	/* Check everything before the program starts. */
	char err[1024];
	struct cr_ruleset *rs = NULL;
	if (config && !(rs = cr_config_load(config, err, sizeof err))) {
		fprintf(stderr, "connrefuse: %s\n", err);
		free(cli_rules);
		return EXIT_TOOL;
	}
	char lib[PATH_MAX];
	if (!seccomp && find_library(lib, sizeof lib) != 0) {
		fprintf(stderr, "connrefuse: cannot find libconnrefuse.so (looked beside this program, in ../lib/connrefuse and in %s; set CONNREFUSE_LIBRARY)\n", CR_LIBDIR);
		return EXIT_TOOL;
	}

	/* With rules of the command line, or --log-stderr, the program reads a
	 * generated file: those rules first, then the file's. */
	char tmp[PATH_MAX] = "";
	char abs_config[PATH_MAX];
	if (nrules || log_stderr) {
		char *text = NULL;
		size_t tlen;
		FILE *f = open_memstream(&text, &tlen);
		fprintf(f, "version = 1;\nrules = (\n%s\n);\n", cli_rules ? cli_rules : "");
		fclose(f);
		struct cr_ruleset *cli = cr_config_load_string(text, "(command line)", err, sizeof err);
		free(text);
		if (!cli) {
			fprintf(stderr, "connrefuse: %s\n", err);
			return EXIT_TOOL;
		}
		if (rs) {
			cr_ruleset_prepend(rs, cli);
			cr_ruleset_free(cli);
		} else {
			rs = cli;
		}
		if (log_stderr)
			rs->log.to_stderr = true;
		const char *dir = getenv("TMPDIR");
		snprintf(tmp, sizeof tmp, "%s/connrefuse-XXXXXX", dir && *dir ? dir : "/tmp");
		int fd = mkstemp(tmp);
		FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!out) {
			fprintf(stderr, "connrefuse: cannot write a temporary config in %s: %s\n", tmp, strerror(errno));
			return EXIT_TOOL;
		}
		cr_config_print(rs, out);
		fclose(out);
		config = tmp;
	}
	if (config) {
		if (!realpath(config, abs_config))
			snprintf(abs_config, sizeof abs_config, "%s", config);
		setenv("CONNREFUSE_CONFIG", abs_config, 1);
	}
	cr_ruleset_free(rs);
	free(cli_rules);

	char **prog = argv + optind;
	if (seccomp) {
		/* No preload: the supervisor applies the same rules. */
		int status = cr_supervise(config ? abs_config : NULL, prog);
		if (*tmp)
			unlink(tmp);
		return status < 0 ? EXIT_TOOL : exit_status_of(status);
	}

	const char *old = getenv("LD_PRELOAD");
	char *preload;
	if (asprintf(&preload, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "") < 0)
		return EXIT_TOOL;
	setenv("LD_PRELOAD", preload, 1);
	free(preload);

	if (!*tmp) {
		execvp(prog[0], prog);
		fprintf(stderr, "connrefuse: cannot run %s: %s\n", prog[0], strerror(errno));
		return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	}
	/* A generated config must outlive the program and then go: wait for it. */
	child_pid = fork();
	if (child_pid < 0) {
		unlink(tmp);
		fprintf(stderr, "connrefuse: fork: %s\n", strerror(errno));
		return EXIT_TOOL;
	}
	if (child_pid == 0) {
		execvp(prog[0], prog);
		fprintf(stderr, "connrefuse: cannot run %s: %s\n", prog[0], strerror(errno));
		_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
	}
	/* The terminal's signals reach the program directly; others we pass on. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	struct sigaction sa = { .sa_handler = forward_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	int status;
	while (waitpid(child_pid, &status, 0) < 0 && errno == EINTR)
		;
	unlink(tmp);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	return exit_status_of(status);
}

/* ---- check ---- */

static int cmd_check(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cmd_help("check");
	if (argc != 2)
		return usage_error("%s", "check takes one FILE");
	char err[1024];
	struct cr_ruleset *rs = cr_config_load(argv[1], err, sizeof err);
	if (!rs) {
		fprintf(stderr, "connrefuse: %s\n", err);
		return 1;
	}
	cr_config_print(rs, stdout);
	cr_ruleset_free(rs);
	return 0;
}

/* ---- match ---- */

static int dest_from_target(const struct target *t, struct cr_dest *d, const char **host)
{
	memset(d, 0, sizeof *d);
	if (t->unix_path) {
		d->family = CR_FAM_UNIX;
		d->path_len = (uint16_t)strlen(t->host);
		memcpy(d->path, t->host, d->path_len + 1);
		return 0;
	}
	struct cr_prefix p;
	d->port = t->port < 0 ? 0 : (uint16_t)t->port;
	enum cr_prefix_status st = cr_prefix_parse(t->host, &p);
	if (st == CR_PREFIX_OK && (p.len == 32 || p.len == 128)) {
		d->family = p.family;
		memcpy(d->addr, p.addr, 16);
		return 0;
	}
	if (st != CR_PREFIX_NOT_ADDRESS)
		return -1;
	/* A name: it stands for an address the program resolved from it. */
	d->family = CR_FAM_INET6;
	*host = t->host;
	return 0;
}

static int cmd_match(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "proto", required_argument, NULL, 'p' },
		{ "process", required_argument, NULL, 'P' },
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *proto = NULL, *process = NULL, *host = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': proto = optarg; break;
		case 'P': process = optarg; break;
		case 'H': host = optarg; break;
		case 'h': return cmd_help("match");
		default: return usage_error("%s", "match: bad option");
		}
	}
	if (argc - optind != 2)
		return usage_error("%s", "match takes FILE and DST[:PORT]");
	char err[1024];
	struct cr_ruleset *rs = cr_config_load(argv[optind], err, sizeof err);
	if (!rs) {
		fprintf(stderr, "connrefuse: %s\n", err);
		return 1;
	}
	struct target t;
	struct cr_dest d;
	if (parse_target(argv[optind + 1], &t) != 0 || dest_from_target(&t, &d, &host) != 0) {
		cr_ruleset_free(rs);
		return usage_error("match: %s is not DST[:PORT]", argv[optind + 1]);
	}
	int sotype = 0;
	if (proto && strcmp(proto, "tcp") == 0)
		sotype = SOCK_STREAM;
	else if (proto && strcmp(proto, "udp") == 0)
		sotype = SOCK_DGRAM;
	else if (proto && strcmp(proto, "unix") != 0) {
		cr_ruleset_free(rs);
		return usage_error("match: --proto %s: expected tcp, udp or unix", proto);
	} else if (!proto)
		sotype = SOCK_STREAM;
	if (proto && strcmp(proto, "unix") == 0 && d.family != CR_FAM_UNIX) {
		cr_ruleset_free(rs);
		return usage_error("match: --proto unix needs a /path or @name, not %s", argv[optind + 1]);
	}
	struct cr_query q = {
		.dest = &d, .sotype = sotype, .host = host, .comm = process ? process : "?",
		.exe = process && strchr(process, '/') ? process : NULL,
	};
	/* Times are taken at the rule set's load, as for a program just started. */
	q.now = rs->nrules && rs->rules[0].state ? rs->rules[0].state->loaded_at : 0;

	char dst[256];
	cr_dest_format(&d, dst, sizeof dst);
	printf("destination: %s%s%s%s proto=%s process=%s\n", host && d.family == CR_FAM_INET6 && !d.port ? "" : dst,
	       host ? " host=" : "", host ? host : "", "", proto ? proto : "tcp", process ? process : "(any)");
	for (unsigned i = 0; i < rs->nrules; i++) {
		const struct cr_rule *r = &rs->rules[i];
		if (!cr_rule_matches(r, &q)) {
			printf("  rule %-12s line %-4u no match\n", r->name, r->line);
			continue;
		}
		bool fires = cr_rule_fires(rs, r, 1, q.now);
		printf("  rule %-12s line %-4u matches; %s\n", r->name, r->line,
		       fires ? "its schedule fires on the first attempt" : "its schedule does not fire on the first attempt: skipped");
		if (fires)
			break;
	}
	struct cr_verdict v;
	cr_decide_peek(rs, &q, &v);
	if (v.rule)
		printf("decided by rule %s (line %u): action=%s", v.rule->name, v.rule->line, cr_action_name(v.action));
	else
		printf("decided by default_action: action=%s", cr_action_name(v.action));
	if (v.action == CR_ACT_REFUSE || v.action == CR_ACT_FAIL)
		printf(" errno=%s", cr_errno_row(v.err)->name);
	if (v.delay_ms)
		printf(" delay_ms=%u", v.delay_ms);
	if (v.dry_run && (v.action == CR_ACT_REFUSE || v.action == CR_ACT_FAIL))
		printf(" dry_run=yes");
	printf(" log=%s\n", cr_level_name(v.level));
	cr_ruleset_free(rs);
	return 0;
}

/* ---- decode ---- */

static void json_string(const char *key, const char *v, bool comma)
{
	printf("\"%s\": ", key);
	if (!v) {
		printf("null");
	} else {
		putchar('"');
		for (; *v; v++) {
			if (*v == '"' || *v == '\\')
				printf("\\%c", *v);
			else if ((unsigned char)*v < 0x20)
				printf("\\u%04x", *v);
			else
				putchar(*v);
		}
		putchar('"');
	}
	if (comma)
		printf(", ");
}

static void json_code(const char *key, int v, bool comma)
{
	if (v)
		printf("\"%s\": %d, \"%s_hex\": \"0x%x\"", key, v, key, v);
	else
		printf("\"%s\": null, \"%s_hex\": null", key, key);
	if (comma)
		printf(", ");
}

static int cmd_decode(int argc, char **argv)
{
	bool json = false;
	int first = 1, rc = 0, printed = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			return cmd_help("decode");
		}
	}
	if (json)
		printf("[");
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		struct connrefuse_error e;
		if (connrefuse_decode(argv[i], &e) != 0) {
			fprintf(stderr, "connrefuse: %s is neither an errno of this system nor a Winsock code (10004-11031)\n", argv[i]);
			rc = 1;
			continue;
		}
		if (json) {
			printf("%s{", printed++ ? ",\n " : "");
			json_string("input", argv[i], true);
			json_string("name", e.errno_name, true);
			json_code("code", e.errno_code, true);
			json_string("wsa", e.wsa_name, true);
			json_code("wsa_code", e.wsa_code, true);
			json_string("desc", e.desc, true);
			json_string("meaning", e.hint, true);
			json_string("causes", e.causes, true);
			json_string("fix", e.fix, true);
			json_string("related", e.related, false);
			printf("}");
			continue;
		}
		if (printed++)
			printf("\n");
		if (e.errno_name)
			printf("%s %d 0x%x\n", e.errno_name, e.errno_code, e.errno_code);
		else
			printf("%s %d 0x%x (no POSIX errno equivalent)\n", e.wsa_name, e.wsa_code, e.wsa_code);
		if (e.errno_name && e.wsa_name)
			printf("  winsock:     %s %d 0x%x\n", e.wsa_name, e.wsa_code, e.wsa_code);
		else if (e.errno_name)
			printf("  winsock:     (none)\n");
		printf("  description: %s\n", e.desc);
		if (e.hint)
			printf("  meaning:     %s\n", e.hint);
		if (e.causes)
			printf("  causes:      %s\n", e.causes);
		if (e.fix)
			printf("  what to do:  %s\n", e.fix);
		if (e.related)
			printf("  related:     %s\n", e.related);
	}
	if (json)
		printf("]\n");
	if (!printed && rc == 0)
		return usage_error("%s", "decode needs at least one CODE");
	return rc;
}

static int cmd_report(int argc, char **argv)
{
	bool json = false;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return cmd_help("report");
		else if (path)
			return usage_error("%s", "report takes one LOGFILE");
		else
			path = argv[i];
	}
	FILE *in = stdin;
	if (path && strcmp(path, "-") != 0 && !(in = fopen(path, "r"))) {
		fprintf(stderr, "connrefuse: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	cr_report(in, stdout, json);
	if (in != stdin)
		fclose(in);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("%s", "no command given");
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("connrefuse %s\n", CONNREFUSE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
		return cmd_help(argc > 2 ? argv[2] : NULL);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(cmd, "match") == 0)
		return cmd_match(argc - 1, argv + 1);
	if (strcmp(cmd, "decode") == 0)
		return cmd_decode(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", cmd);
}
