/* bench_connect MODE N PORT: timed loops on loopback, one figure printed:
 *   pass        ns per socket+connect+close to a listener
 *   call        ns per connect() call alone (socket and close untimed)
 *   nbcall      the same on a non-blocking socket (a simulated refusal, or a
 *               drop: both -1/EINPROGRESS at once)
 *   loop        ns per socket+connect+close whatever the outcome
 *   noconnect   ns per socket+close, no connect: the floor of a refused loop
 *   nonblock    ns per non-blocking socket+connect+poll+SO_ERROR+close to a
 *               listener, as event loops and Go connect
 * Connected sockets close with SO_LINGER {1, 0} so TIME_WAIT never fills. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	const char *mode = argv[1];
	long n = atol(argv[2]);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3])) };
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	struct linger lg = { 1, 0 };
	double timed = 0, t0 = now_ns();
	bool nonblock = strcmp(mode, "nonblock") == 0, nbcall = strcmp(mode, "nbcall") == 0;
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | (nonblock || nbcall ? SOCK_NONBLOCK : 0), 0);
		double a = now_ns();
		int rc = strcmp(mode, "noconnect") == 0 ? -1 : connect(fd, (struct sockaddr *)&in, sizeof in);
		timed += now_ns() - a;
		if (nonblock) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int err = 0;
			poll(&p, 1, 5000);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &(socklen_t){ sizeof err });
			rc = err ? -1 : 0;
		}
		if (rc == 0 || nbcall)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(fd);
	}
	double total = now_ns() - t0;
	printf("%.1f\n", (strcmp(mode, "call") == 0 || nbcall ? timed : total) / n);
	return 0;
}
