/* libconfig-oom: what libconfig itself does when an allocation fails, for
 * the README (Reliability). For N = 1, 2, ...: a child parses a rules text
 * with config_read_string while the N-th allocation (malloc, calloc,
 * realloc, strdup, counted from the call) fails; the child's end is
 * tallied: a segmentation fault, an exit, an error returned, or a
 * "success" whose tree lacks settings the text has.
 *
 * Build: cc -O1 -o libconfig-oom tests/tools/libconfig-oom.c -lconfig
 * (not part of make check: it measures a dependency, not this project). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libconfig.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long fail_at, count;

static int failing(void)
{
	return fail_at && ++count == fail_at;
}

void *malloc(size_t n)
{
	static void *(*real)(size_t);
	if (!real)
		real = dlsym(RTLD_NEXT, "malloc");
	return failing() ? NULL : real(n);
}

static char early[4096]; /* for dlsym's own calloc, while calloc is looked up */

void *calloc(size_t n, size_t s)
{
	static void *(*real)(size_t, size_t);
	static int looking;
	if (!real) {
		if (looking)
			return early;
		looking = 1;
		real = dlsym(RTLD_NEXT, "calloc");
		looking = 0;
	}
	return failing() ? NULL : real(n, s);
}

void free(void *p)
{
	static void (*real)(void *);
	if (!real)
		real = dlsym(RTLD_NEXT, "free");
	if (p != early)
		real(p);
}

void *realloc(void *p, size_t n)
{
	static void *(*real)(void *, size_t);
	if (!real)
		real = dlsym(RTLD_NEXT, "realloc");
	return failing() ? NULL : real(p, n);
}

static const char text[] =
	"version = 1; seed = 7;\n"
	"log: { syslog = false; level = \"all\"; };\n"
	"rules = (\n"
	"  { name = \"a\"; dst = [\"10.0.0.0/8\", \"db.internal\"]; port = (80, \"8000-8100\"); action = \"refuse\"; first = 3; },\n"
	"  { name = \"b\"; path = \"/run/*.sock\"; action = \"fail\"; errno = \"EACCES\"; window = { start_s = 1; duration_s = 2; }; }\n"
	");\n";

/* The settings a whole tree has: 4 at the top, 2 in log, 2 rules. */
static int complete(config_t *c)
{
	config_setting_t *root = config_root_setting(c), *rules = config_lookup(c, "rules"),
			 *log = config_lookup(c, "log");
	return root && config_setting_length(root) == 4 && log && config_setting_length(log) == 2 && rules &&
	       config_setting_length(rules) == 2 && config_setting_length(config_setting_get_elem(rules, 1)) == 5;
}

int main(void)
{
	long segv = 0, other_signal = 0, exited = 0, errors = 0, whole = 0, missing = 0, n;
	for (n = 1; n < 1000; n++) {
		pid_t pid = fork();
		if (pid == 0) {
			config_t c;
			config_init(&c);
			count = 0;
			fail_at = n;
			int ok = config_read_string(&c, text);
			long made = count;
			fail_at = 0;
			if (made < n)
				_exit(40); /* fewer allocations than n: done */
			_exit(!ok ? 41 : complete(&c) ? 42 : 43);
		}
		int st;
		waitpid(pid, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 40)
			break;
		if (WIFSIGNALED(st))
			WTERMSIG(st) == SIGSEGV ? segv++ : other_signal++;
		else if (WEXITSTATUS(st) == 41)
			errors++;
		else if (WEXITSTATUS(st) == 42)
			whole++;
		else if (WEXITSTATUS(st) == 43)
			missing++;
		else
			exited++;
	}
	printf("libconfig %d.%d, config_read_string, allocations 1..%ld failed in turn:\n", LIBCONFIG_VER_MAJOR,
	       LIBCONFIG_VER_MINOR, n - 1);
	printf("  segmentation faults %ld, other signals %ld, exit() %ld, errors returned %ld, "
	       "successes with the whole tree %ld, successes with settings missing %ld\n",
	       segv, other_signal, exited, errors, whole, missing);
	return 0;
}
