/* connrefuse relay [-c FILE] [--user NAME]: the relay of faults after
 * connect (src/relay/) as a service, for programs with the library
 * preloaded by hand or machine-wide, which find it at FILE's relay.socket.
 * Runs until SIGTERM or SIGINT, which remove the socket. */
#define _GNU_SOURCE
#include "cli.h"
#include "engine/config_file.h"
#include "engine/rules.h"
#include "relay/relay.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Each relayed connection holds up to four descriptors: the soft limit is
 * raised toward the hard one, up to this. */
#define NOFILE_WANTED 65536

/* Becomes user name (its groups, its gid, its uid), for good: 0, or -1
 * after saying why. */
static int become(const char *name)
{
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		fprintf(stderr, "connrefuse: relay: --user %s: no such user\n", name);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "connrefuse: relay: --user %s: cannot become that user: %s\n", name, strerror(errno));
		return -1;
	}
	if (pw->pw_uid == 0 || setuid(0) == 0) {
		fprintf(stderr, "connrefuse: relay: --user %s: still root after dropping privileges\n", name);
		return -1;
	}
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > NOFILE_WANTED ? NOFILE_WANTED : rl.rlim_max;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Reads the options: 0 and the config; -1 when --help was answered; or
 * the exit status of a usage error. */
static int parse_args(int argc, char **argv, const char **config, const char **user)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return cr_help("relay") == 0 ? -1 : 2;
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && more)
			*config = argv[++i];
		else if (strcmp(a, "--user") == 0 && more)
			*user = argv[++i];
		else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--user") == 0)
			return cr_usage_error("relay", "relay: %s needs a value", a);
		else
			return cr_usage_error("relay", "relay: unknown argument '%s'", a);
	}
	if (!*config && getenv("CONNREFUSE_CONFIG") && *getenv("CONNREFUSE_CONFIG"))
		*config = getenv("CONNREFUSE_CONFIG");
	if (!*config)
		return cr_usage_error(
			"relay", "%s",
			"relay: no rules file (-c FILE, or CONNREFUSE_CONFIG): its relay.socket says where to listen");
	return 0;
}

/* Who the relay runs as: root is refused (every relayed connection would
 * be root's, past owner-match firewall rules), unless --user drops it.
 * 0, or -1 after saying why. */
static int choose_user(const char *user)
{
	if (user && geteuid() == 0)
		return become(user);
	if (user) {
		struct passwd *pw = getpwnam(user);
		if (pw && pw->pw_uid == geteuid())
			return 0;
		fprintf(stderr, "connrefuse: relay: --user %s: only root can become another user\n", user);
		return -1;
	}
	if (geteuid() != 0)
		return 0;
	fprintf(stderr,
		"connrefuse: relay: not as root: each relayed connection is the relay's own, and root's would pass "
		"firewall rules that match the owner; give --user NAME (an unprivileged user it becomes before "
		"listening), or run it as such a user (the unit in examples/ runs it with DynamicUser=yes)\n");
	return -1;
}

/* Waits for SIGTERM or SIGINT; SIGHUP changes nothing (said). */
static void wait_for_end(const sigset_t *set)
{
	for (;;) {
		int sig = 0;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			return;
		fprintf(stderr,
			"connrefuse: relay: SIGHUP: nothing is reloaded: relay.socket and the log settings are read at "
			"start (restart the relay to change them; the rules themselves are the programs', which "
			"reload them)\n");
	}
}

int cr_cmd_relay(int argc, char **argv)
{
	const char *config = NULL, *user = NULL;
	int rc = parse_args(argc, argv, &config, &user);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	if (choose_user(user) != 0)
		return 1;
	struct cr_rules rules = { 0 };
	if (cr_rules_load(config, 0, &rules) != 0)
		return 1;
	const struct cr_ruleset *rs = rules.set;
	char err[1200];
	if (!*rs->relay_socket) {
		fprintf(stderr,
			"connrefuse: relay: %s has no relay.socket, where the relay listens and the library asks it: "
			"add relay = { socket = \"/run/connrefuse/relay.sock\"; };\n",
			config);
		cr_rules_free(&rules);
		return 1;
	}
	struct cr_log_conf log = rs->log;
	char start_dir[4096];
	if (cr_start_dir(NULL, start_dir, sizeof start_dir) == 0)
		cr_log_file_absolute(&log, start_dir);
	if (cr_check_log_file(log.file, err, sizeof err) != 0) {
		fprintf(stderr, "connrefuse: %s: %s\n", config, err);
		cr_rules_free(&rules);
		return 1;
	}
	raise_nofile();
	/* The signals wait for sigwait, in every thread the relay starts. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct cr_relay *r = cr_relay_listen(rs->relay_socket, &log, err, sizeof err);
	if (!r || cr_relay_start(r, err, sizeof err) != 0) {
		fprintf(stderr, "connrefuse: %s\n", err);
		cr_relay_close(r);
		cr_rules_free(&rules);
		return 1;
	}
	fprintf(stderr,
		"connrefuse: relay: listening at %s as uid %u, with %u descriptors for its connections (2 a "
		"connection once made, 2 more a way that streams); every user that can "
		"reach the socket may ask (its folder's rights say who can)\n",
		cr_relay_path(r), (unsigned)geteuid(), cr_relay_max_fds(r));
	wait_for_end(&set);
	cr_relay_close(r);
	fprintf(stderr, "connrefuse: relay: ended: %lu connection%s relayed, %lu passed untouched (full)\n",
		cr_relay_served(r), cr_relay_served(r) == 1 ? "" : "s", cr_relay_full(r));
	cr_rules_free(&rules);
	return 0;
}
