/* spawn N PROG [ARGS...]: runs PROG N times, one after another, with this
 * environment; prints the mean wall time of a run in microseconds, then
 * (second line, with --rss first) the largest peak RSS of a run in KiB.
 * What a process costs to start is what a preloaded rule set adds to
 * every program of a host. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv)
{
	int rss = argc > 1 && strcmp(argv[1], "--rss") == 0;
	if (argc < 3 + rss)
		return 2;
	long n = atol(argv[1 + rss]);
	char **prog = argv + 2 + rss;
	long peak = 0;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		pid_t pid;
		if (posix_spawnp(&pid, prog[0], NULL, NULL, prog, environ) != 0)
			return 1;
		int status;
		struct rusage ru;
		if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 1;
		if (ru.ru_maxrss > peak)
			peak = ru.ru_maxrss;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / n;
	if (rss)
		printf("%.1f\n%ld\n", us, peak);
	else
		printf("%.1f\n", us);
	return 0;
}
