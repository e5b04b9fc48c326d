/* uringread PORT [wait|flood]: a client that reads and writes through
 * io_uring (liburing). It connects to 127.0.0.1:PORT with connect(), libc's:
 * io_uring's own connect (IORING_OP_CONNECT) is not seen by the preload
 * library, so a connection that is to be relayed is made this way. Then:
 * a request sent with IORING_OP_SEND, and IORING_OP_RECV until the end.
 * Prints the bytes read and how reading ended: a completion of 0 (EOF) or
 * of -errno (ECONNRESET for a RST); then the peer, as getpeername() says
 * (the destination the program asked for). With "wait", each read has a
 * linked timeout of 1 s; with "flood", 64 KiB sends without reading, each
 * with a linked timeout of 1 s: whether the writes blocked. Exits 0 at
 * EOF (or writes that never blocked), 1 otherwise. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { OP = 1, TIMER = 2 };

/* One send or receive of len bytes, with a linked timeout of 1 s when
 * timed: its completion's result (-ECANCELED once the timeout fired), or
 * INT32_MIN when io_uring itself failed. */
static int once(struct io_uring *ring, int fd, bool send, void *buf, size_t len, bool timed)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (send)
		io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
	else
		io_uring_prep_recv(sqe, fd, buf, len, 0);
	io_uring_sqe_set_data64(sqe, OP);
	static struct __kernel_timespec second = { .tv_sec = 1 };
	if (timed) {
		sqe->flags |= IOSQE_IO_LINK;
		sqe = io_uring_get_sqe(ring);
		io_uring_prep_link_timeout(sqe, &second, 0);
		io_uring_sqe_set_data64(sqe, TIMER);
	}
	if (io_uring_submit(ring) < 0)
		return INT32_MIN;
	int res = INT32_MIN;
	for (int left = timed ? 2 : 1; left > 0; left--) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(ring, &cqe) < 0)
			return INT32_MIN;
		if (io_uring_cqe_get_data64(cqe) == OP)
			res = cqe->res;
		io_uring_cqe_seen(ring, cqe);
	}
	return res;
}

/* A failed completion's errno, by name. */
static const char *why(int n)
{
	return n == INT32_MIN ? "io_uring failed" : strerrorname_np(-n);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *mode = argc > 2 ? argv[2] : "";
	bool wait = strcmp(mode, "wait") == 0, flood = strcmp(mode, "flood") == 0;
	struct io_uring ring;
	int rc = io_uring_queue_init(4, &ring, 0);
	if (rc < 0) {
		printf("io_uring_queue_init: %s\n", strerrorname_np(-rc));
		return 1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		printf("connect: %s\n", strerrorname_np(errno));
		return 1;
	}
	struct sockaddr_in peer = { 0 };
	socklen_t len = sizeof peer;
	char host[INET_ADDRSTRLEN] = "?";
	if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
		inet_ntop(AF_INET, &peer.sin_addr, host, sizeof host);
	static char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	int n = once(&ring, fd, true, req, sizeof req - 1, false);
	if (n != (int)sizeof req - 1) {
		printf("send: %s\n", n < 0 ? why(n) : "short");
		return 1;
	}
	static char buf[65536];
	if (flood) {
		n = 0;
		for (int i = 0; i < 4096 && n >= 0; i++) /* 256 MiB: more than any buffers between */
			n = once(&ring, fd, true, buf, sizeof buf, true);
		if (n == -ECANCELED)
			printf("writes blocked\n");
		else if (n < 0)
			printf("send: %s\n", why(n));
		else
			printf("never blocked\n");
	} else {
		long total = 0;
		while ((n = once(&ring, fd, false, buf, sizeof buf, wait)) > 0)
			total += n;
		if (n == -ECANCELED)
			printf("read %ld bytes, then io_uring waited 1 s for nothing\n", total);
		else
			printf("read %ld bytes, then %s\n", total, n == 0 ? "EOF" : why(n));
	}
	printf("peer %s:%u\n", host, ntohs(peer.sin_port));
	close(fd);
	io_uring_queue_exit(&ring);
	return n >= 0 ? 0 : 1; /* 0 at EOF, or when the writes never blocked */
}
