/* The usage and each command's help (connrefuse --help [COMMAND]), and the
 * message of a bad command line: what every command file shares, apart
 * from the dispatch in main.c. */
#define _GNU_SOURCE
#include "cli.h"
#include "connrefuse.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
	"usage: connrefuse run [--seccomp] [-c FILE] [--refuse DST[:PORT]]... [--fail ERRNO=DST[:PORT]]... [--drop DST[:PORT]]... [--fail-dns EAI_CODE=NAME]... [--log-stderr] -- PROGRAM [ARGS...]\n"
	"       connrefuse check FILE\n"
	"       connrefuse check --image ROOT\n"
	"       connrefuse compile FILE [-o|--output OUT]\n"
	"       connrefuse match FILE DST[:PORT] [--proto P] [--process NAME] [--host NAME] [--attempt N] [--at SECONDS]\n"
	"       connrefuse match FILE --resolve NAME [--process NAME] [--attempt N] [--at SECONDS]\n"
	"       connrefuse decode [--json] CODE...\n"
	"       connrefuse report [--json | --prometheus] [LOGFILE|-]\n"
	"       connrefuse reload FILE [--reset]\n"
	"       connrefuse stats FILE [--json]\n"
	"       connrefuse audit [-c FILE] [--json] [--cgroup PATH] [--uid N] [--ring-size BYTES]\n"
	"       connrefuse relay [-c FILE] [--user NAME]\n"
	"       connrefuse --version | --help [COMMAND]\n";

/* Each command's name, then its help (not for the formatter, which would
 * join the name to the help's first line). */
/* clang-format off */
static const char *const help_texts[][2] = {
	{ "run",
	  "connrefuse run [--seccomp] [-c FILE] [--refuse DST[:PORT]]... [--fail ERRNO=DST[:PORT]]... [--drop DST[:PORT]]... [--fail-dns EAI_CODE=NAME]... [--log-stderr] -- PROGRAM [ARGS...]\n"
	  "\n"
	  "Runs PROGRAM with libconnrefuse.so preloaded (prepended to any LD_PRELOAD),\n"
	  "or, with --seccomp, under a supervisor that traps its connects instead.\n"
	  "The rules come from FILE (-c, or CONNREFUSE_CONFIG), with the rules of\n"
	  "--refuse, --fail, --drop and --fail-dns put before them. The config is checked first: an error\n"
	  "stops here (exit 125) before PROGRAM starts. PROGRAM's exit status is passed\n"
	  "through (126: cannot execute, 127: not found).\n"
	  "\n"
	  "  -c, --config FILE      rules file\n"
	  "  --refuse DST[:PORT]    refuse connects to DST (address, CIDR, host name, *,\n"
	  "                         [v6]:port, /unix/path or @abstract)\n"
	  "  --fail ERRNO=DST[:PORT]  fail them with ERRNO (ETIMEDOUT, EHOSTUNREACH, ...)\n"
	  "  --drop DST[:PORT]      make TCP connects to DST hang, as behind a firewall that\n"
	  "                         drops packets (until the program's own timeout)\n"
	  "  --fail-dns EAI_CODE=NAME  fail look-ups of NAME (a host name or *.domain) as the\n"
	  "                         resolver would: EAI_NONAME, EAI_AGAIN, EAI_FAIL, EAI_NODATA\n"
	  "                         (not with --seccomp: resolver faults need the preload)\n"
	  "  --log-stderr           also write each log line to PROGRAM's stderr\n"
	  "  --seccomp              supervise through seccomp instead of preloading: covers static\n"
	  "                         binaries and raw system calls (Go); see man connrefuse\n" },
	{ "check",
	  "connrefuse check FILE\n"
	  "connrefuse check --image ROOT\n"
	  "\n"
	  "Validates FILE and prints the rule set as understood, as a config file.\n"
	  "On an error prints FILE:LINE: problem and exits 1. FILE may be compiled:\n"
	  "then its whole checksum is verified and its rules printed the same way.\n"
	  "\n"
	  "With --image: reads ROOT, a container's root file system (a folder, or a tar\n"
	  "archive of one, as podman export and docker export write), and\n"
	  "says which library of the bundle fits its C library and architecture, with\n"
	  "the LD_PRELOAD line for the bundle mounted at /opt/connrefuse; or that none\n"
	  "does, why, and what to do instead (exit 1).\n" },
	{ "compile",
	  "connrefuse compile FILE [-o|--output OUT]\n"
	  "\n"
	  "Writes the rules of FILE in compiled form to OUT (default FILE.compiled):\n"
	  "a read-only image, matcher index included, that every process maps and\n"
	  "shares instead of parsing (a 100,000-rule list then costs a process\n"
	  "microseconds to load, and reloads at any size). OUT is written beside\n"
	  "itself and renamed into place: replace a compiled file only that way,\n"
	  "never by writing over it, as processes that map it would see it change.\n"
	  "CONNREFUSE_CONFIG, check, match and run take either form.\n" },
	{ "match",
	  "connrefuse match FILE DST[:PORT] [--proto tcp|udp|unix] [--process NAME] [--host NAME] [--attempt N] [--at SECONDS]\n"
	  "\n"
	  "Says which rule of FILE would decide a connect to DST, and why each rule\n"
	  "before it does not (no match; a schedule that does not fire, and which).\n"
	  "DST is written as run --refuse takes it: 10.1.2.3:5432, [::1]:443,\n"
	  "/run/x.sock, @abstract. A host name is not resolved: the rules on names\n"
	  "are asked, the address rules are not; give the address the program would\n"
	  "connect to, and the name it resolved with --host NAME.\n"
	  "With --resolve NAME it asks the host rules instead: which one decides a\n"
	  "look-up of NAME (getaddrinfo and friends).\n"
	  "\n"
	  "  --attempt N     ask about the Nth attempt (default 1): each matching\n"
	  "                  rule counted as on its Nth attempt\n"
	  "  --at SECONDS    ask at that time since the rules were loaded (default 0)\n" },
	{ "decode",
	  "connrefuse decode [--json] CODE...\n"
	  "\n"
	  "Explains errno values and Winsock codes: 111, 0x6f, ECONNREFUSED, 10061,\n"
	  "0x274D, WSAECONNREFUSED; and the resolver's codes: getaddrinfo's as a\n"
	  "negative number or a name (-2, EAI_NONAME), h_errno names (HOST_NOT_FOUND).\n"
	  "A plain number is an errno. Exits 1 if a code is unknown.\n" },
	{ "report",
	  "connrefuse report [--json | --prometheus] [LOGFILE|-]\n"
	  "\n"
	  "Summarises log lines read from LOGFILE or standard input: the file sink,\n"
	  "or syslog text as rsyslog writes it (RFC 3164 and RFC 5424 headers, its\n"
	  "file formats) or journal text, in logfmt or JSON (log.format). Events by\n"
	  "result, then by destination, rule, process, user, cgroup, machine (the\n"
	  "line's machine=, else the syslog header's) and error, with simulated and\n"
	  "real failures counted apart, the lines the rate limit suppressed or a sink\n"
	  "could not take, and the first and last time= seen.\n"
	  "It reads one line at a time (any size of input in constant memory).\n"
	  "\n"
	  "  --json          one JSON object\n"
	  "  --prometheus    counters in the node_exporter textfile format, labelled by\n"
	  "                  result, simulated, rule, errno and comm\n" },
	{ "reload",
	  "connrefuse reload FILE [--reset]\n"
	  "\n"
	  "After a new FILE was renamed into place: checks it, then bumps the\n"
	  "generation in FILE's shared state, so that every process ruled by FILE\n"
	  "(preloaded, or under run --seccomp) decides its very next connect with\n"
	  "it. Counters of rules that left FILE are forgotten. Exit 1 when FILE does\n"
	  "not load (the rules in force stay).\n"
	  "\n"
	  "  --reset         also set the counters of FILE's rules back to zero and\n"
	  "                  their clocks to now (scope \"file\", and \"run\" when\n"
	  "                  asked inside connrefuse run): a clean start for a test\n" },
	{ "stats",
	  "connrefuse stats FILE [--json]\n"
	  "\n"
	  "Per rule with a schedule or a scope: its scope, the attempts seen and the\n"
	  "times it fired, as the processes counted them (scope \"file\": FILE's\n"
	  "shared state; \"run\": the run's, when asked inside connrefuse run;\n"
	  "\"process\": not shared, shown as -).\n"
	  "\n"
	  "  --json          one JSON object\n" },
	{ "audit",
	  "connrefuse audit [-c FILE] [--json] [--cgroup PATH] [--uid N] [--ring-size BYTES]\n"
	  "\n"
	  "Logs every failed TCP connect of the machine, whatever the program (static,\n"
	  "Go, setuid, io_uring, containers): refused, timed out, unreachable, or reset\n"
	  "before the first byte. The kernel tells (eBPF; root, or CAP_BPF and\n"
	  "CAP_PERFMON; a kernel with BTF). Each failure is one line, the library's\n"
	  "(simulated=no action=pass source=kernel), on standard output and in the\n"
	  "sinks of FILE's log settings, under its rate limit; records the kernel\n"
	  "could not hand over are counted in the dropped= of the next summary.\n"
	  "A simulated refusal of the library (its connect to port 0 on loopback) is\n"
	  "left to the library's line. Runs until SIGINT or SIGTERM.\n"
	  "\n"
	  "  -c, --config FILE   log settings; its rules with action \"log\" choose\n"
	  "                      what is logged (dst, port, process); none: everything\n"
	  "  --json              JSON lines on standard output\n"
	  "  --cgroup PATH       only connects of tasks in the cgroup (v2) PATH and below\n"
	  "                      (/system.slice/x.service, as /proc/PID/cgroup names it)\n"
	  "  --uid N             only connects of user N (a number or a name; the real uid)\n"
	  "  --ring-size BYTES   the kernel's ring buffer (a power of two, at least a page;\n"
	  "                      default 262144)\n" },
	{ "relay",
	  "connrefuse relay [-c FILE] [--user NAME]\n"
	  "\n"
	  "Serves faults after connect (reset, close, stall) for programs that were not\n"
	  "started by connrefuse run: the library preloaded by hand or machine-wide finds\n"
	  "this relay at FILE's relay.socket (relay = { socket = \"/run/connrefuse/relay.sock\"; };)\n"
	  "when CONNREFUSE_RELAY is not set. It listens there (making the folder if it\n"
	  "can; a socket nobody answers at is replaced; another relay answering there is\n"
	  "an error, exit 1), takes the asks of every user that can reach the socket\n"
	  "(mode 0666: its folder's rights say who can), and writes each fault's line to\n"
	  "FILE's log sinks. Each relayed connection is the relay's own: it refuses to run\n"
	  "as root unless --user drops root first. Runs until SIGTERM or SIGINT, which\n"
	  "remove the socket; SIGHUP reloads nothing (restart it to change FILE's log or\n"
	  "socket settings).\n"
	  "\n"
	  "  -c, --config FILE   rules file (or CONNREFUSE_CONFIG): its relay.socket, its log\n"
	  "  --user NAME         started as root: become NAME (its groups too) before\n"
	  "                      anything else\n" },
};
/* clang-format on */

static const char *help_of(const char *cmd)
{
	for (unsigned i = 0; cmd && i < sizeof help_texts / sizeof help_texts[0]; i++)
		if (strcmp(help_texts[i][0], cmd) == 0)
			return help_texts[i][1];
	return NULL;
}

int cr_usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "connrefuse: ");
	fprintf(stderr, fmt, arg);
	const char *help = help_of(cmd);
	if (help) /* that command's synopsis: the first line of its help */
		fprintf(stderr, "\nusage: %.*s\n(connrefuse --help %s tells more)\n", (int)strcspn(help, "\n"), help,
			cmd);
	else
		fprintf(stderr, "\n%s", usage_text);
	return cmd && strcmp(cmd, "run") == 0 ? EXIT_TOOL : 2;
}

int cr_help(const char *topic)
{
	const char *help = help_of(topic);
	if (help) {
		fputs(help, stdout);
		return 0;
	}
	if (topic) {
		fprintf(stderr,
			"connrefuse: --help %s: unknown command (the commands: run, check, compile, match, decode, report, reload, stats, audit, relay)\n",
			topic);
		return 2;
	}
	printf("connrefuse %s: make chosen connect() calls fail as the kernel would, and log\n"
	       "every refusal with its error decoded.\n\n%s\n"
	       "connrefuse --help COMMAND tells more; man connrefuse, man connrefuse.cfg (installed), or\n"
	       "from the source tree: man -l doc/connrefuse.1, man -l doc/connrefuse.cfg.5.\n",
	       CONNREFUSE_VERSION, usage_text);
	return 0;
}
