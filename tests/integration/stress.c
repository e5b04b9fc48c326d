/* stress CFG PORT THREADS CONNECTS FIRST FORK_MS: the library under load.
 * THREADS threads make CONNECTS blocking socket+connect+close each to the
 * closed port 127.0.0.1:PORT, while one thread rewrites CFG every 10 ms
 * (atomically, every seventh version broken) and the main thread forks every
 * FORK_MS milliseconds; each child makes one connect, which logs, and exits
 * (an alarm turns a deadlocked child into a failure). The rules: an
 * unchanging rule "limited" fails the first FIRST connects with ENETDOWN,
 * and a decoy whose name changes with every version, so that each reload
 * swaps the whole set while "limited" keeps its counter.
 * Every connect of the parent is counted, the first and last (made before
 * and after the threads) included.
 * If fewer than two reloads were logged by the end, the main thread goes on
 * connecting until there were (so "total" may exceed THREADS x CONNECTS + 2).
 * Prints "pid=P total=N simulated=S real=R other=O forks=F bad_children=B fds=A->B
 * rss_growth_kb=K versions=V". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../tools/rss.h"

static struct sockaddr_in dst = { .sin_family = AF_INET };
static const char *cfg;
static long connects, first;
static atomic_long simulated, real, other, running;
static atomic_bool done;
static int versions;

static void write_config(int version)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", cfg);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		exit(1);
	}
	const char *log_file = getenv("STRESS_LOG");
	fprintf(f, "version = 1;\nlog: { syslog = false; file = \"%s\"; rate = 0; };\nrules = (\n", log_file);
	fprintf(f, "  { name = \"decoy-%d\"; dst = \"127.0.0.%d\"; action = \"refuse\"; },\n", version,
		2 + version % 200);
	fprintf(f,
		"  { name = \"limited\"; dst = \"127.0.0.1\"; port = %d; action = \"fail\"; errno = \"ENETDOWN\"; "
		"first = %ld; scope = \"process\"; }\n",
		ntohs(dst.sin_port), first);
	fprintf(f, version % 7 == 6 ? ")(\n" : ");\n"); /* every seventh version broken */
	fclose(f);
	if (rename(tmp, cfg) != 0) {
		perror("rename");
		exit(1);
	}
}

static void *rewriter(void *arg)
{
	(void)arg;
	while (!atomic_load(&done)) {
		write_config(++versions);
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (++versions % 7 == 6)
		versions++; /* leave a valid file */
	write_config(versions);
	return NULL;
}

static int one_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int rc = connect(fd, (struct sockaddr *)&dst, sizeof dst), err = rc ? errno : 0;
	close(fd);
	return err;
}

static void tally(int err)
{
	atomic_fetch_add(err == ENETDOWN ? &simulated : err == ECONNREFUSED ? &real : &other, 1);
}

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < connects; i++)
		tally(one_connect());
	atomic_fetch_sub(&running, 1);
	return NULL;
}

static int reloads_logged(void)
{
	FILE *f = fopen(getenv("STRESS_LOG"), "r");
	char line[4096];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n += strncmp(line, "config reloaded", 15) == 0;
	if (f)
		fclose(f);
	return n;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n - 1; /* the one opendir holds */
}

int main(int argc, char **argv)
{
	if (argc != 7 || !getenv("STRESS_LOG")) {
		fprintf(stderr, "usage: STRESS_LOG=FILE stress CFG PORT THREADS CONNECTS FIRST FORK_MS\n");
		return 2;
	}
	cfg = argv[1];
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	int nthreads = atoi(argv[3]);
	connects = atol(argv[4]);
	first = atol(argv[5]);
	long fork_ms = atol(argv[6]);

	tally(one_connect()); /* the library's first-use set-up, before the baseline */
	int fds_before = count_fds();
	long rss_before = rss_kb();
	pthread_t rw, th[64];
	if (nthreads > 64)
		nthreads = 64;
	atomic_store(&running, nthreads);
	pthread_create(&rw, NULL, rewriter, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, NULL);

	int forks = 0, bad_children = 0;
	while (atomic_load(&running) > 0) {
		struct timespec ts = { fork_ms / 1000, (fork_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		pid_t pid = fork();
		if (pid == 0) {
			alarm(10);
			int err = one_connect();
			_exit(err == ENETDOWN || err == ECONNREFUSED ? 0 : 3);
		}
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "child %d: status 0x%x\n", (int)pid, status);
			bad_children++;
		}
		forks++;
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	/* Reloads are looked for at most once a second, on a connect: if the run
	 * was too short for two, go on connecting (up to 10 s) until there were. */
	for (int i = 0; i < 200 && reloads_logged() < 2; i++) {
		tally(one_connect());
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	atomic_store(&done, true);
	pthread_join(rw, NULL);
	tally(one_connect()); /* a last connect: collects what the last reload retired */
	int fds_after = count_fds();
	printf("pid=%d total=%ld simulated=%ld real=%ld other=%ld forks=%d bad_children=%d fds=%d->%d rss_growth_kb=%ld versions=%d\n",
	       (int)getpid(), atomic_load(&simulated) + atomic_load(&real) + atomic_load(&other),
	       atomic_load(&simulated), atomic_load(&real), atomic_load(&other), forks, bad_children, fds_before,
	       fds_after, rss_kb() - rss_before, versions);
	return 0;
}
