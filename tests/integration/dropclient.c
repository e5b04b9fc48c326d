/* dropclient MODE ADDR PORT: one connect to a destination that drops SYNs,
 * and what the program can observe, for comparing a real DROP (nft) with
 * action = "drop". MODE: nonblock (EINPROGRESS, then poll for 1 s, then
 * SO_ERROR), sndtimeo (blocking, SO_SNDTIMEO 1 s), usertimeout (blocking,
 * TCP_USER_TIMEOUT 1.5 s), blocking (the SYN retries). Prints the facts on
 * one line and the elapsed milliseconds on the next. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	const char *mode = argv[1];
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, argv[2], &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)atoi(argv[3]));
		len = sizeof *in;
	} else if (inet_pton(AF_INET6, argv[2], &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)atoi(argv[3]));
		len = sizeof *in6;
	} else {
		return 2;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | (strcmp(mode, "nonblock") == 0 ? SOCK_NONBLOCK : 0), 0);
	if (strcmp(mode, "sndtimeo") == 0) {
		struct timeval tv = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	} else if (strcmp(mode, "usertimeout") == 0) {
		unsigned ms = 1500;
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
	}
	double t0 = now();
	int rc = connect(fd, (struct sockaddr *)&ss, len), err = rc ? errno : 0;
	printf("%s: connect=%d %s", mode, rc, err ? strerrorname_np(err) : "0");
	if (strcmp(mode, "nonblock") == 0) {
		struct pollfd pf = { fd, POLLOUT | POLLIN, 0 };
		int n = poll(&pf, 1, 1000);
		int so = 0;
		socklen_t sl = sizeof so;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
		printf(" poll=%s so_error=%s", n == 0 ? "none" : "ready", so ? strerrorname_np(so) : "0");
	}
	printf("\nelapsed=%.0f\n", (now() - t0) * 1000);
	return 0;
}
