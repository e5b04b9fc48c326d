/* uringconnect ADDR PORT: one TCP connect through io_uring
 * (IORING_OP_CONNECT, liburing), which neither the preload library nor
 * seccomp's connect filter sees; prints "PORT connected", "PORT refused" or
 * the errno's name. For connrefuse audit, which sees it in the kernel. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: uringconnect ADDR PORT\n");
		return 2;
	}
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &in.sin_addr) != 1) {
		fprintf(stderr, "uringconnect: %s: not an IPv4 address\n", argv[1]);
		return 2;
	}
	struct io_uring ring;
	int rc = io_uring_queue_init(4, &ring, 0);
	if (rc < 0) {
		fprintf(stderr, "uringconnect: io_uring_queue_init: %s\n", strerror(-rc));
		return 1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&in, sizeof in);
	io_uring_submit(&ring);
	struct io_uring_cqe *cqe;
	if ((rc = io_uring_wait_cqe(&ring, &cqe)) < 0) {
		fprintf(stderr, "uringconnect: io_uring_wait_cqe: %s\n", strerror(-rc));
		return 1;
	}
	int res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	if (res == 0)
		printf("%s connected\n", argv[2]);
	else
		printf("%s %s\n", argv[2], -res == ECONNREFUSED ? "refused" : strerrorname_np(-res));
	close(fd);
	io_uring_queue_exit(&ring);
	return 0;
}
