/* cancelconnect: a thread blocked in connect() is cancelled. The target is a
 * loopback listener whose accept queue is full (backlog 0, one connection
 * waiting), so a real connect hangs retransmitting its SYN; under a
 * delay_ms rule the thread waits in the library's delay instead. The main
 * thread waits until the thread sits in a system call, cancels it and joins.
 * Prints "port=P", then "cancelled after N ms in syscall S", and, as a check
 * that the library is still usable, "then: connected" from a second
 * connect to the same listener's port after accepting what queued. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr = { .sin_family = AF_INET };
static pid_t worker_tid;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *worker(void *arg)
{
	(void)arg;
	worker_tid = (pid_t)syscall(SYS_gettid);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	connect(fd, (struct sockaddr *)&addr, sizeof addr);
	printf("not cancelled: connect returned (%s)\n", strerrorname_np(errno));
	return NULL;
}

/* The number of the system call the thread is blocked in, or -1. */
static long blocked_in(pid_t tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long nr = -1;
	if (!fgets(buf, sizeof buf, f) || sscanf(buf, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr;
}

int main(void)
{
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 0) != 0)
		return 1;
	socklen_t alen = sizeof addr;
	getsockname(lfd, (struct sockaddr *)&addr, &alen);
	printf("port=%d\n", ntohs(addr.sin_port));
	/* Fill the accept queue. */
	int filler = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(filler, (struct sockaddr *)&addr, sizeof addr) != 0)
		return 1;
	fflush(stdout);

	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	double start = now_ms();
	long nr = -1;
	/* Wait (up to 10 s) for the thread to block in connect or a sleep. */
	while (now_ms() - start < 10000) {
		if (worker_tid &&
		    ((nr = blocked_in(worker_tid)) == SYS_connect || nr == SYS_nanosleep || nr == SYS_clock_nanosleep))
			break;
		sched_yield();
	}
	double t0 = now_ms();
	pthread_cancel(th);
	void *res;
	pthread_join(th, &res);
	if (res != PTHREAD_CANCELED) {
		printf("not cancelled\n");
		return 1;
	}
	printf("cancelled after %.0f ms in syscall %s\n", now_ms() - t0,
	       nr == SYS_connect ? "connect"
	       : nr >= 0         ? "sleep"
				 : "none");

	/* Make room in the queue, then connect again through the library. */
	int a = accept(lfd, NULL, NULL);
	close(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	printf("then: %s\n",
	       connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0 ? "connected" : strerrorname_np(errno));
	return 0;
}
