/* epollclient PORT: a C client on epoll, as event-loop programs are: a
 * non-blocking connect to 127.0.0.1:PORT, a request, then reads as epoll
 * reports the socket ready, until end of file or an error. Prints what it
 * saw, in words that do not depend on timing: the first event that
 * signalled the end (EPOLLERR for a RST, EPOLLRDHUP for a FIN), the bytes
 * read, and how reading ended. With "wait", epoll waits at most 1 s each
 * time; with "block", the connect is a blocking one (the socket is made
 * non-blocking after it). With "peer", once connected: getpeername, then
 * again into a 4-byte buffer (the kernel cuts the address and says its
 * whole length), and a second connect(). With "rtt N" (shaping's
 * latency), once connected: N round trips of 1 byte each to an echo
 * server, each echo waited for by epoll, and "ms=N", their time. Built
 * statically too
 * (static-epollclient), for run --seccomp. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The first sign of the end: EPOLLERR for a RST (the kernel reports the
 * error before it shuts the socket, so HUP may come with it or after), else
 * EPOLLRDHUP (or HUP) for a FIN. */
static void events(unsigned e)
{
	printf("the end signalled by %s\n", e & EPOLLERR ? "EPOLLERR" : "EPOLLRDHUP");
}

/* "peer": what getpeername says, whole and cut, and a second connect. */
static int peers(int fd, const struct sockaddr_in *to)
{
	struct sockaddr_in whole = { 0 };
	socklen_t len = sizeof whole;
	if (getpeername(fd, (struct sockaddr *)&whole, &len) != 0)
		printf("getpeername: %s\n", strerrorname_np(errno));
	else
		printf("getpeername: %s:%u, length %u\n", inet_ntoa(whole.sin_addr), ntohs(whole.sin_port), len);
	unsigned char cut[8];
	memset(cut, 0xee, sizeof cut);
	len = 4;
	if (getpeername(fd, (struct sockaddr *)cut, &len) == 0)
		printf("cut to 4 bytes: family %u, port %u, length %u, byte 5 untouched: %s\n", cut[0] | cut[1] << 8,
		       cut[2] << 8 | cut[3], len, cut[4] == 0xee ? "yes" : "no");
	int r = connect(fd, (const struct sockaddr *)to, sizeof *to);
	printf("connect again: %d %s\n", r, r ? strerrorname_np(errno) : "");
	return 0;
}

/* "rtt N": N round trips of 1 byte, timed from the connect's end. */
static int round_trips(int fd, int ep, int n)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd }, got;
	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		char c = 'x';
		ssize_t k = send(fd, &c, 1, MSG_NOSIGNAL);
		if (k == 1)
			k = epoll_wait(ep, &got, 1, -1) == 1 ? read(fd, &c, 1) : -1;
		if (k != 1) {
			printf("round trip %d: %s\n", i + 1, k == 0 ? "EOF" : strerrorname_np(errno));
			return 0;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%d round trips\nms=%ld\n", n, (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int timeout = -1;
	bool block = false, peer = false;
	int rounds = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "rtt") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		timeout = strcmp(argv[i], "wait") == 0 ? 1000 : timeout;
		block |= strcmp(argv[i], "block") == 0;
		peer |= strcmp(argv[i], "peer") == 0;
	}
	int fd = socket(AF_INET, SOCK_STREAM | (block ? 0 : SOCK_NONBLOCK) | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	if (r != 0 && errno != EINPROGRESS) {
		printf("connect: %s\n", strerrorname_np(errno));
		return 0;
	}
	if (block)
		fcntl(fd, F_SETFL, O_NONBLOCK);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLRDHUP, .data.fd = fd }, got;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	if (epoll_wait(ep, &got, 1, -1) != 1)
		return 1;
	int err = 0;
	socklen_t len = sizeof err;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		printf("connect: %s\n", strerrorname_np(err));
		return 0;
	}
	if (peer)
		return peers(fd, &sa);
	if (rounds)
		return round_trips(fd, ep, rounds);
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)sizeof req - 1)
		printf("send: %s\n", strerrorname_np(errno));
	ev.events = EPOLLIN | EPOLLRDHUP;
	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
	long total = 0;
	unsigned first = 0;
	for (;;) {
		int n = epoll_wait(ep, &got, 1, timeout);
		if (n == 0) {
			printf("read %ld bytes, then epoll waited 1 s for nothing\n", total);
			return 0;
		}
		if (n < 0)
			return 1;
		if (got.events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP) && !first) {
			first = got.events;
			events(first);
		}
		char buf[65536];
		ssize_t k = read(fd, buf, sizeof buf);
		if (k > 0) {
			total += k;
			continue;
		}
		if (k < 0 && errno == EAGAIN)
			continue;
		printf("read %ld bytes, then %s\n", total, k == 0 ? "EOF" : strerrorname_np(errno));
		return 0;
	}
}
